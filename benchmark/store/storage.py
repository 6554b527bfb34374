"""Optuna storage from one URL: a journal file (default) or a database.

A URL never carries its password into a file: :func:`without_password` is what run.json and the
job scripts record, :func:`masked_url` what messages show, and the database client (libpq) reads
the password from ``PGPASSWORD``, ``~/.pgpass`` or the 0600 file ``PGPASSFILE`` names.

A database URL is read by SQLAlchemy's own parser (the one that connects), so what is stripped is
exactly what would be sent: a password is percent-encoded as RFC 3986 says (``%40`` for ``@``,
``%25`` for ``%``); a raw ``#``, ``/``, ``?`` or ``:`` in it is read as part of it, and a raw
``@`` (the URL then holds two) is refused, since where the password ends is then a guess.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from typing import TYPE_CHECKING

from benchmark.errors import StorageError

if TYPE_CHECKING:
    from optuna.storages import BaseStorage, JournalStorage, RDBStorage
    from optuna.trial import FrozenTrial
    from sqlalchemy.engine import URL

    from benchmark.store.run_directory import RunDirectory

_RDB_SCHEMES = ("sqlite:", "postgresql", "mysql")
_SCHEME = re.compile(r"[\w+]+://")
_PASSWORD_KEY = "password"


def open_storage(url: str | None, default_journal: Path) -> BaseStorage:
    """Open ``url``: ``None`` -> the run directory's journal file; ``journal:///path`` or a
    ``*.journal``/``*.log`` path -> JournalStorage (safe for several processes on one machine
    or a shared filesystem with working locks); ``sqlite:///``, ``postgresql://``, ``mysql://`` -> RDBStorage.
    """
    if url is None or url == "":
        return _journal(default_journal)
    if url.startswith("postgres://"):
        raise StorageError(
            f"storage URL '{masked_url(url)}': SQLAlchemy does not accept the scheme "
            "postgres://; write postgresql://user:password@host/db"
        )
    if url.startswith("journal://"):
        return _journal_named(url, default_journal)
    if url.startswith(_RDB_SCHEMES):
        shown = masked_url(url)
        parsed = parse_database_url(url)
        try:
            return _rdb_storage(_with_postgres_driver(parsed))
        except ImportError as exc:
            raise StorageError(
                f"storage {shown}: the database driver is missing ({exc}); install it, e.g. "
                "`pip install 'mlrc-benchmark[postgres]'`"
            ) from None
        except Exception as exc:
            reason = _first_line(exc)
            hint = ""
            if "password" in reason and parsed.password is None:
                hint = (
                    " (the URL holds no password: the database client reads it from "
                    "PGPASSWORD, ~/.pgpass or the 0600 file named by PGPASSFILE)"
                )
            raise StorageError(
                f"cannot open storage {shown}: {reason}{hint}; check the URL, that the server is "
                "running and reachable, or omit --storage to use the run directory's journal file"
            ) from None
    if url.endswith((".journal", ".log")):
        return _journal_named(url, default_journal)
    raise StorageError(
        f"storage URL '{masked_url(url)}' is not understood; use journal:///path/file.journal, "
        "sqlite:///path.db or postgresql://user:password@host/db"
    )


def journal_file(url: str | None, default_journal: Path) -> Path | None:
    """The journal file a storage URL names (``None``: ``default_journal``), or None for a
    database."""
    if url is None or url == "":
        return default_journal
    if url.startswith("journal://"):
        return Path(url.removeprefix("journal://"))
    if not url.startswith(_RDB_SCHEMES) and url.endswith((".journal", ".log")):
        return Path(url)
    return None


def _rdb_storage(url: str) -> RDBStorage:
    from optuna.storages import RDBStorage  # Optuna loads only where a storage is opened

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


def _with_postgres_driver(url: URL) -> str:
    """``postgresql://`` names no driver, and SQLAlchemy's default one changed in 2.1 (psycopg2
    -> psycopg 3): pick whichever of the two is installed, psycopg 3 first. The URL is written
    back with its password percent-encoded, so that no character in it means anything more."""
    if url.drivername == "postgresql":
        for module in ("psycopg", "psycopg2"):
            if importlib.util.find_spec(module) is not None:
                url = url.set(drivername=f"postgresql+{module}")
                break
    return url.render_as_string(hide_password=False)


def parse_database_url(url: str) -> URL:
    """``url`` as SQLAlchemy reads it when it connects; a URL whose password cannot be told
    apart from the rest (a raw ``@`` in it) or that does not parse is refused in one line."""
    from sqlalchemy.engine import make_url

    try:
        parsed = make_url(url)
    except ValueError:
        raise StorageError(
            f"storage URL '{masked_url(url)}' cannot be parsed (its port is not a number); "
            "write scheme://user:password@host:port/database with the password percent-encoded"
        ) from None
    if parsed.password is not None and "@" in _after_password(url):
        raise StorageError(
            f"storage URL '{masked_url(url)}' holds more than one '@', so where its password "
            "ends is a guess; percent-encode the password (an '@' as %40, a '%' as %25): "
            "python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], "
            'safe=""))\' PASSWORD'
        )
    return parsed


def _after_password(url: str) -> str:
    """What follows the ``@`` that ends the password, as SQLAlchemy's parser finds it: the user
    name holds no ``:`` and the password no ``@``."""
    authority = url.split("://", 1)[1]
    return authority[authority.index("@", authority.index(":")) + 1 :]


def without_password(url: str | None) -> str | None:
    """``url`` without its password (``postgresql://user:pw@host/db`` ->
    ``postgresql://user@host/db``), in the user info or as a ``password=`` query parameter:
    what may be written into run.json and job scripts. A URL that holds none is kept as is."""
    if not url or not _SCHEME.match(url) or url.startswith("journal://"):
        return url
    parsed = parse_database_url(url)
    if parsed.password is None and _PASSWORD_KEY not in parsed.query:
        return url
    return _stripped(parsed).render_as_string(hide_password=False)


def masked_url(url: str) -> str:
    """``url`` with its password shown as ``***`` (for messages and status output); never
    raises, and masks everything from the first ``:`` of the user info to the last ``@``."""
    head, separator, rest = url.partition("://")
    if not separator:
        return url
    user_info, at, host = rest.rpartition("@")
    if at and ":" in user_info.split("/", 1)[0]:
        rest = f"{user_info.split(':', 1)[0]}:***@{host}"
    return head + separator + re.sub(r"(?<=[?&]password=)[^&]*", "***", rest)


def _stripped(url: URL) -> URL:
    from sqlalchemy.engine import URL

    query = {key: value for key, value in url.query.items() if key != _PASSWORD_KEY}
    # Not url.set(password=None): set() ignores the arguments that are None.
    return URL.create(url.drivername, url.username, None, url.host, url.port, url.database, query)


def is_storage_outage(exc: BaseException) -> bool:
    """Whether ``exc`` (or what caused it) says the storage cannot be reached or written right
    now -- a lost database connection, a journal append that failed -- rather than a bug."""
    from sqlalchemy import exc as sqlalchemy_exc

    from benchmark.store.journal import JournalWriteError

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

    from benchmark.store.journal import JournalWriteError

    for cause in _causes(exc):
        if isinstance(cause, JournalWriteError):
            return str(cause)
        if isinstance(cause, sqlalchemy_exc.SQLAlchemyError):
            return _masked_text(_first_line(getattr(cause, "orig", None) or cause))
    return _masked_text(_first_line(exc))


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


def _masked_text(text: str) -> str:
    """``text`` (a driver's message) with the password of any URL in it replaced by ``***``."""
    return re.sub(r"://([^:/@\s]*):\S*@", r"://\1:***@", text)


def _journal_named(url: str, default_journal: Path) -> JournalStorage:
    path = journal_file(url, default_journal)
    assert path is not None, "a journal URL always names a file"
    return _journal(path)


def _journal(path: Path) -> JournalStorage:
    from optuna.storages import JournalStorage

    from benchmark.store.journal import JournalFile

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
