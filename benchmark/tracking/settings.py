"""Which tracker a run logs to: chosen on the command line, recorded in the run's ``run.json``
so that every process of the run (workers, retrains, Slurm jobs) logs to the same one.

The choice lives beside the protocol in the manifest, not in it: it changes no result, so it
may change between invocations (``--tracker none`` turns it off; a process's ``--tracker`` or
``--tracking-uri`` overrides the recorded choice for that process only, in ``mlrc worker`` and
``mlrc retrain``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import urlsplit

from benchmark.errors import ConfigError

NO_TRACKER = "none"


@dataclass(frozen=True)
class TrackerSettings:
    """A tracker's name and URI (None: its default store inside the run directory)."""

    name: str
    uri: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class TrackerRequest:
    """What a command line asked for: ``--tracker`` and ``--tracking-uri`` (None: not given)."""

    name: str | None = None
    uri: str | None = None


def resolve_tracker(
    recorded: Mapping[str, Any] | None, request: TrackerRequest | None
) -> TrackerSettings | None:
    """The tracker of a process: the request over what the run recorded (None: no tracker).

    ``--tracking-uri`` alone changes the URI of the recorded tracker; a URI with a password is
    refused (it would be written into run.json and job scripts).
    """
    request = request or TrackerRequest()
    recorded_name = (recorded or {}).get("name")
    name = request.name or recorded_name
    if name in (None, NO_TRACKER):
        if request.uri is not None:
            raise ConfigError(
                "--tracking-uri is given but no tracker: add --tracker mlflow (or another)"
            )
        return None
    uri = request.uri
    if uri is None and name == recorded_name:
        uri = (recorded or {}).get("uri")
    if uri is not None and urlsplit(uri).password:
        parts = urlsplit(uri)
        shown = parts._replace(netloc=parts.netloc.rpartition("@")[2]).geturl()
        raise ConfigError(
            f"--tracking-uri {shown} holds a password, which would be recorded in run.json: "
            "give the URI without it, and the password through the tracker's own variable "
            "(MLFLOW_TRACKING_PASSWORD, WANDB_API_KEY)"
        )
    return TrackerSettings(name, uri)
