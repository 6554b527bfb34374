"""A folder no one may write to, not even root: for the tests of outputs on a read-only disk."""

from __future__ import annotations

import contextlib
import errno
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def read_only_folder(path: Path) -> Iterator[Path]:
    """``path`` as an empty read-only folder: as root (who ignores permissions), a read-only
    tmpfs mounted there (EROFS); as anyone else, a folder without write permission (EACCES).
    Either way a write into it fails, which is checked before it is handed out."""
    path.mkdir(parents=True)
    mounted = os.geteuid() == 0
    if mounted:
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", str(path)],
            check=True,
            capture_output=True,
        )
    else:
        path.chmod(0o555)
    try:
        try:
            (path / "probe").write_text("")
        except OSError as refused:
            assert refused.errno in (errno.EROFS, errno.EACCES), refused
        else:
            raise AssertionError(f"{path} is writable: the read-only folder did not work")
        yield path
    finally:
        if mounted:
            subprocess.run(["umount", str(path)], check=True, capture_output=True)
        else:
            path.chmod(0o755)
