"""A generated folder in the cache: written once, atomically, and reused while its manifest matches.

The folder ``<cache>/<name>`` is filled in a temporary sibling that is renamed into place at the
end, so a killed run leaves no half folder, and its ``manifest.json`` records the parameters it
was made from, so later calls reuse it. ``<cache>`` is ``$MLRC_CACHE_DIR`` or ``~/.cache/mlrc``.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from benchmark.errors import DatasetLayoutError

MANIFEST = "manifest.json"
STALE_TEMPORARY_S = 3600.0

Writer = Callable[[Path], Mapping[str, Any] | None]
Check = Callable[[Path], bool]


def default_cache_dir() -> Path:
    """``$MLRC_CACHE_DIR`` or ``~/.cache/mlrc``."""
    env = os.environ.get("MLRC_CACHE_DIR")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "mlrc"


def ensure_cached_folder(
    cache_dir: str | Path | None,
    name: str,
    params: Mapping[str, Any],
    write: Writer,
    check: Check | None = None,
) -> Path:
    """The folder ``cache_dir/name``, filled by ``write`` on first use and reused afterwards.

    Args:
        cache_dir: the cache (default :func:`default_cache_dir`).
        name: the folder's name in it.
        params: what the content is made from; a folder whose manifest holds them is reused.
        write: fills the (existing, empty) folder it is given and may return extra manifest
            entries, written after ``params``.
        check: whether a folder's content is whole (e.g. no truncated file); a folder that
            fails it is rebuilt like one whose manifest differs.
    """
    cache_dir = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    target = cache_dir / name

    def trusted(directory: Path) -> bool:
        return manifest_matches(directory, params) and (check is None or check(directory))

    if trusted(target):
        return target
    _make_cache_dir(cache_dir)
    _remove_stale_temporaries(cache_dir, name)
    temporary = cache_dir / f".{name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    try:
        temporary.mkdir()
        extra = write(temporary) or {}
        manifest = json.dumps({**params, **extra}, indent=1) + "\n"
        (temporary / MANIFEST).write_text(manifest)
        _set_aside_if_untrusted(target, trusted)
        _move_into_place(temporary, target, trusted)
    finally:
        shutil.rmtree(temporary, ignore_errors=True)
    return target


def manifest_matches(directory: Path, params: Mapping[str, Any]) -> bool:
    """Whether ``directory`` has a readable manifest holding every entry of ``params``."""
    try:
        manifest = json.loads((directory / MANIFEST).read_text())
    except (OSError, ValueError):
        return False
    return isinstance(manifest, dict) and all(
        manifest.get(key) == value for key, value in params.items()
    )


def _make_cache_dir(cache_dir: Path) -> None:
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DatasetLayoutError(
            f"cannot create the cache directory '{cache_dir}' ({exc.strerror}); "
            "set MLRC_CACHE_DIR to a writable directory"
        ) from None


def _set_aside_if_untrusted(target: Path, trusted: Check) -> None:
    """Remove a folder without a matching manifest or whole content (checked now: another
    process may just have placed a valid one), renaming it first so that no reader sees it half
    deleted."""
    if target.exists() and not trusted(target):
        stale = target.with_name(f".{target.name}.stale-{uuid.uuid4().hex[:8]}")
        target.rename(stale)
        shutil.rmtree(stale, ignore_errors=True)


def _move_into_place(temporary: Path, target: Path, trusted: Check) -> None:
    try:
        temporary.rename(target)
    except OSError:
        if not trusted(target):  # lost a race to a bad state: give up
            raise
        # Another process finished the same folder first; its content is identical.


def _remove_stale_temporaries(cache_dir: Path, name: str) -> None:
    """Remove what killed runs left behind (never a folder another process still fills)."""
    now = time.time()
    for leftover in cache_dir.glob(f".{name}.*"):
        try:
            if now - leftover.stat().st_mtime > STALE_TEMPORARY_S:
                shutil.rmtree(leftover, ignore_errors=True)
        except OSError:
            continue
