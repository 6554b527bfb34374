"""Optuna storage from one URL: a journal file (default) or a database.

A URL never carries its password into a file: :func:`without_password` is what run.json and the
job scripts record, and the database client (libpq) reads the password from ``PGPASSWORD``,
``~/.pgpass`` or the 0600 file ``PGPASSFILE`` names.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

from optuna.storages import BaseStorage, JournalStorage, RDBStorage
from optuna.trial import FrozenTrial

from benchmark.errors import StorageError
from benchmark.store.journal import JournalFile, JournalWriteError

if TYPE_CHECKING:
    from benchmark.store.run_directory import RunDirectory

_RDB_SCHEMES = ("sqlite:", "postgresql", "mysql")


def open_storage(url: str | None, default_journal: Path) -> BaseStorage:
    """Open ``url``: ``None`` -> the run directory's journal file; ``journal:///path`` or a
    ``*.journal``/``*.log`` path -> JournalStorage (safe for several processes on one machine
    or a shared filesystem with working locks); ``sqlite:///``, ``postgresql://``, ``mysql://`` -> RDBStorage.
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
            reason = _first_line(exc)
            hint = ""
            if "password" in reason and without_password(url) == url:
                hint = (
                    " (the URL holds no password: the database client reads it from "
                    "PGPASSWORD, ~/.pgpass or the 0600 file named by PGPASSFILE)"
                )
            raise StorageError(
                f"cannot open storage {shown}: {reason}{hint}; check the URL, that the server is "
                "running and reachable, or omit --storage to use the run directory's journal file"
            ) from None
    if url.endswith((".journal", ".log")):
        return _journal(Path(url))
    raise StorageError(
        f"storage URL '{url}' is not understood; use journal:///path/file.journal, "
        "sqlite:///path.db or postgresql://user:password@host/db"
    )


def _rdb_storage(url: str) -> RDBStorage:
    # pool_pre_ping: after a database restart, a pooled connection is tested and replaced
    # instead of failing the next operation.
    engine_kwargs: dict = {"pool_pre_ping": True}
    if "postgres" in url:
        engine_kwargs["connect_args"] = {"connect_timeout": 10}
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


def without_password(url: str | None) -> str | None:
    """``url`` without its password (``postgresql://user:pw@host/db`` ->
    ``postgresql://user@host/db``): what may be written into run.json and job scripts."""
    if not url or "://" not in url:
        return url
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.netloc.rsplit("@", 1)[0].split(":", 1)[0]
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc=f"{user}@{host}" if user else host))


def is_storage_outage(exc: BaseException) -> bool:
    """Whether ``exc`` (or what caused it) says the storage cannot be reached or written right
    now -- a lost database connection, a journal append that failed -- rather than a bug."""
    from sqlalchemy import exc as sqlalchemy_exc

    outages = (
        JournalWriteError,
        sqlalchemy_exc.OperationalError,
        sqlalchemy_exc.InterfaceError,
        sqlalchemy_exc.DisconnectionError,
    )
    return any(
        isinstance(cause, outages)
        or (isinstance(cause, sqlalchemy_exc.DBAPIError) and cause.connection_invalidated)
        for cause in _causes(exc)
    )


def describe_outage(exc: BaseException) -> str:
    """One line saying why the storage is unreachable (the database driver's own words)."""
    from sqlalchemy import exc as sqlalchemy_exc

    for cause in _causes(exc):
        if isinstance(cause, JournalWriteError):
            return str(cause)
        if isinstance(cause, sqlalchemy_exc.SQLAlchemyError):
            return _masked(_first_line(getattr(cause, "orig", None) or cause))
    return _masked(_first_line(exc))


def _causes(exc: BaseException) -> list[BaseException]:
    """``exc`` and the exceptions it was raised from or during, outermost first."""
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and all(current is not seen for seen in chain):
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _masked(url: str) -> str:
    """``url`` with its password replaced by ``***`` (for error messages)."""
    return re.sub(r"://([^:/@]+):[^@]*@", r"://\1:***@", url)


def _journal(path: Path) -> JournalStorage:
    path = path.expanduser().resolve()
    try:
        return JournalStorage(JournalFile(path))
    except OSError as exc:
        raise StorageError(
            f"cannot open journal storage {path}: {exc.strerror or exc}; "
            "choose a writable directory for --run-dir or --storage"
        ) from None


def trials_by_study(run_dir: RunDirectory, storage_url: str | None) -> dict[str, list[FrozenTrial]]:
    """The trials of every study in the run's storage, by study name (read once, shared)."""
    if not run_dir.exists() or (storage_url is None and not run_dir.journal_path.is_file()):
        return {}  # nothing ran yet (a dry run of a new sweep must not touch the storage)
    storage = open_storage(storage_url, run_dir.journal_path)
    names = [study.study_name for study in storage.get_all_studies()]
    return {
        name: storage.get_all_trials(storage.get_study_id_from_name(name), deepcopy=False)
        for name in names
    }
