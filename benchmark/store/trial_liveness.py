"""Whether the worker of a running trial is alive, as its heartbeats and its recorded identity
tell: one rule for the budget (which recovers lost trials) and for ``mlrc status``.

A running trial is

- *beating* while its worker's last heartbeat is recent (within :func:`silent_after` of now:
  two heartbeat intervals and a margin);
- *silent* after that: its worker may be dead, or cut off. Other workers wait for it until
  ``study.grace_period`` has passed since its last heartbeat, then recover it;
- *lost* once the grace period has passed, or at once when its worker is **provably dead**:
  it ran on this machine (same host name, boot and PID namespace) and its process is gone
  (no such PID, a zombie, or another process that reuses the PID since). A worker on another
  machine is never declared dead but by the grace period.
"""

from __future__ import annotations

import enum
import os
import socket
from functools import cache
from pathlib import Path
from typing import Any

from optuna.trial import FrozenTrial

from benchmark.store import trial_attrs
from benchmark.store.study_state import last_beat

MISSED_HEARTBEATS = 2
"""Heartbeats a worker may miss (a busy storage, a slow append) before its trial is silent."""
SILENT_MARGIN_S = 5.0

_PROC = Path("/proc")


class Liveness(enum.Enum):
    BEATING = "beating"
    SILENT = "silent"
    LOST = "lost"


def silent_after(heartbeat_interval: float) -> float:
    """Seconds without a heartbeat after which a running trial is silent."""
    return MISSED_HEARTBEATS * heartbeat_interval + SILENT_MARGIN_S


def liveness(
    trial: FrozenTrial, now: float, heartbeat_interval: float, grace_period: float
) -> Liveness:
    """Whether the worker of the running ``trial`` beats, is silent, or is lost (see the
    module's docstring)."""
    age = now - last_beat(trial, now)
    if age > grace_period or worker_is_gone(trial):
        return Liveness.LOST
    if age > silent_after(heartbeat_interval):
        return Liveness.SILENT
    return Liveness.BEATING


def this_worker() -> dict[str, Any]:
    """What identifies this process among every worker: host, boot, PID namespace, PID and the
    PID's start time (recorded with a trial's first heartbeat)."""
    pid = os.getpid()
    return {**_machine(), "pid": pid, "started": _start_time(pid)}


def worker_is_gone(trial: FrozenTrial) -> bool:
    """True only when the trial's worker provably ended: it ran on this machine and its PID is
    gone, a zombie, or now another process's. False whenever that cannot be known."""
    recorded = trial.system_attrs.get(trial_attrs.WORKER)
    machine = _machine()
    if not isinstance(recorded, dict) or not machine["boot"]:
        return False
    if any(recorded.get(key) != value for key, value in machine.items()):
        return False  # another machine (or container): only the grace period can tell
    pid, started = recorded.get("pid"), recorded.get("started")
    if not isinstance(pid, int) or pid <= 0:
        return False
    stat = _stat_fields(pid)
    if stat is None:
        return not _pid_exists(pid)
    state, start = stat
    return state == "Z" or (started is not None and start != started)


def worker_description(trial: FrozenTrial) -> str:
    """``pid 123 on host-a``, or ``an unknown worker`` for trials recorded without one."""
    recorded = trial.system_attrs.get(trial_attrs.WORKER)
    if not isinstance(recorded, dict):
        return "an unknown worker"
    return f"pid {recorded.get('pid')} on {recorded.get('host')}"


@cache
def _machine() -> dict[str, Any]:
    """Host name, boot id and PID namespace: equal for two processes whose PIDs compare."""
    try:
        boot = (_PROC / "sys/kernel/random/boot_id").read_text().strip()
        namespace = os.stat(_PROC / "self/ns/pid").st_ino
    except OSError:  # no /proc (macOS): no worker is ever declared dead but by the grace period
        boot, namespace = "", 0
    return {"host": socket.gethostname(), "boot": boot, "pid_namespace": namespace}


def _stat_fields(pid: int) -> tuple[str, int] | None:
    """(state, start time in clock ticks) of ``pid`` from /proc, None if unreadable."""
    try:
        text = (_PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    fields = text[text.rfind(")") + 2 :].split()  # after the command name, which may hold spaces
    return fields[0], int(fields[19])


def _start_time(pid: int) -> int | None:
    stat = _stat_fields(pid)
    return None if stat is None else stat[1]


def _pid_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return True
