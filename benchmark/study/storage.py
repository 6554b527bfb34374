"""Optuna storage from one URL: a journal file (default) or a database."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

from optuna.storages import BaseStorage, JournalStorage, RDBStorage
from optuna.storages.journal import JournalFileBackend, JournalFileOpenLock

from benchmark.errors import StorageError

_RDB_SCHEMES = ("sqlite:", "postgresql", "mysql")


def open_storage(url: str | None, default_journal: Path) -> BaseStorage:
    """Open ``url``: ``None`` -> the run directory's journal file; ``journal:///path`` or a
    ``*.journal``/``*.log`` path -> JournalStorage (safe for several processes on one machine
    or a shared filesystem); ``sqlite:///``, ``postgresql://``, ``mysql://`` -> RDBStorage.
    """
    if url is None or url == "":
        return _journal(default_journal)
    if url.startswith("postgres://"):
        raise StorageError(
            f"storage URL '{_masked(url)}': SQLAlchemy does not accept the scheme postgres://; "
            "write postgresql://user:password@host/db"
        )
    if url.startswith("journal://"):
        return _journal(Path(url.removeprefix("journal://")))
    if url.startswith(_RDB_SCHEMES):
        shown = _masked(url)
        url = _with_postgres_driver(url)
        try:
            return _rdb_storage(url)
        except ImportError as exc:
            raise StorageError(
                f"storage {shown}: the database driver is missing ({exc}); install it, e.g. "
                "`pip install 'mlrc-benchmark[postgres]'`"
            ) from None
        except Exception as exc:
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise StorageError(
                f"cannot open storage {shown}: {reason}; check the URL, that the server is "
                "running and reachable, or omit --storage to use the run directory's journal file"
            ) from None
    if url.endswith((".journal", ".log")):
        return _journal(Path(url))
    raise StorageError(
        f"storage URL '{url}' is not understood; use journal:///path/file.journal, "
        "sqlite:///path.db or postgresql://user:password@host/db"
    )


def _rdb_storage(url: str) -> RDBStorage:
    engine_kwargs = {"connect_args": {"connect_timeout": 10}} if "postgres" in url else None
    try:
        return RDBStorage(url, engine_kwargs=engine_kwargs)
    except Exception as exc:
        # Workers started together on an empty PostgreSQL database race to create Optuna's
        # tables; the losers see "already exists" and succeed on a second try.
        if "already exists" not in str(exc) and "UniqueViolation" not in str(exc):
            raise
        return RDBStorage(url, engine_kwargs=engine_kwargs)


def _with_postgres_driver(url: str) -> str:
    """``postgresql://`` names no driver, and SQLAlchemy's default one changed in 2.1 (psycopg2
    -> psycopg 3): pick whichever of the two is installed, psycopg 3 first."""
    if not url.startswith("postgresql://"):
        return url
    for module, driver in (("psycopg", "psycopg"), ("psycopg2", "psycopg2")):
        if importlib.util.find_spec(module) is not None:
            return f"postgresql+{driver}://" + url.removeprefix("postgresql://")
    return url


def _masked(url: str) -> str:
    """``url`` with its password replaced by ``***`` (for error messages)."""
    return re.sub(r"://([^:/@]+):[^@]*@", r"://\1:***@", url)


def _journal(path: Path) -> JournalStorage:
    path = path.expanduser().resolve()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        backend = JournalFileBackend(str(path), lock_obj=JournalFileOpenLock(f"{path}.lock"))
        return JournalStorage(backend)
    except OSError as exc:
        raise StorageError(
            f"cannot open journal storage {path}: {exc.strerror or exc}; "
            "choose a writable directory for --run-dir or --storage"
        ) from None
