"""A stand-in for Slurm's client commands (sbatch, squeue, sacct, scancel) on PATH, for tests that need
Slurm's answers to be controlled: jobs are lines of a state file that a test can edit
(``set_state``). Each command is a small Python script; sbatch is slowed down a little so that
concurrent submits overlap as they do on a busy login node."""

from __future__ import annotations

import json
import os
import sys
import textwrap
from pathlib import Path

_COMMAND = textwrap.dedent(
    """\
    #!{python}
    import fcntl, json, sys, time
    from pathlib import Path

    STATE = Path({state!r})
    LOG = STATE.with_name("calls.log")

    def load():
        return json.loads(STATE.read_text()) if STATE.exists() else {{"next": 900001, "jobs": {{}}}}

    with open(STATE.with_suffix(".lock"), "w") as lock:
        fcntl.lockf(lock, fcntl.LOCK_EX)
        state = load()
        with open(LOG, "a") as log:
            log.write(" ".join(["{name}", *sys.argv[1:]]) + "\\n")
        if "{name}" == "sbatch":
            job_id = str(state["next"])
            state["next"] += 1
            waits = any(a.startswith("--dependency=") for a in sys.argv)
            state["jobs"][job_id] = ["PENDING", "Dependency" if waits else "Priority"]
            print(job_id)
        elif "{name}" == "squeue":
            wanted = next(a for a in sys.argv if a.startswith("--jobs=")).split("=")[1]
            for job_id in wanted.split(","):
                if job_id in state["jobs"]:
                    print("|".join([job_id, *state["jobs"][job_id]]))
        elif "{name}" == "sacct":
            sys.exit("sacct: error: accounting storage is disabled")
        elif "{name}" == "scancel":
            for job_id in sys.argv[1:]:
                if job_id in state["jobs"]:
                    state["jobs"][job_id] = ["CANCELLED", "None"]
        STATE.write_text(json.dumps(state))
    if "{name}" == "sbatch":
        time.sleep(1)  # a busy controller: concurrent submits overlap
    """
)


class FakeSlurm:
    """sbatch, squeue, sacct and scancel in ``folder/bin``; put it first on PATH (job ids start
    at 900001, far from the test cluster's own)."""

    def __init__(self, folder: Path):
        self.bin = folder / "bin"
        self.bin.mkdir(parents=True)
        self.state_path = folder / "slurm-state.json"
        for name in ("sbatch", "squeue", "sacct", "scancel"):
            path = self.bin / name
            path.write_text(
                _COMMAND.format(python=sys.executable, state=str(self.state_path), name=name)
            )
            path.chmod(0o755)

    @property
    def path(self) -> str:
        return f"{self.bin}{os.pathsep}{os.environ['PATH']}"

    def jobs(self) -> dict[str, list[str]]:
        """Job id -> [state, reason]."""
        if not self.state_path.exists():
            return {}
        return json.loads(self.state_path.read_text())["jobs"]

    def set_state(self, job_id: str, state: str, reason: str = "None") -> None:
        data = json.loads(self.state_path.read_text())
        data["jobs"][job_id] = [state, reason]
        self.state_path.write_text(json.dumps(data))

    def calls(self, name: str) -> list[list[str]]:
        log = self.state_path.with_name("calls.log")
        lines = log.read_text().splitlines() if log.exists() else []
        return [line.split()[1:] for line in lines if line.split()[0] == name]
