"""Tests that need a real service (Slurm, PostgreSQL, pdflatex, Chromium) skip without it, or
fail in CI.

CI starts the services and sets ``MLRC_REQUIRE_SERVICES=1``: a missing service is then an error,
never a silent skip. On a laptop without them ``make test`` skips those tests and pytest's
summary (``-ra``) lists each skip with its reason.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

import pytest

REQUIRE_SERVICES = os.environ.get("MLRC_REQUIRE_SERVICES") == "1"


def need_service(name: str, available: bool, how_to_get_it: str) -> None:
    """Skip the calling test when ``name`` is unavailable (fail instead in CI)."""
    if available:
        return
    message = f"{name} is not available here: {how_to_get_it}"
    if REQUIRE_SERVICES:
        pytest.fail(f"MLRC_REQUIRE_SERVICES=1 but {message}", pytrace=False)
    pytest.skip(message)


# What tests/services/start_postgres.sh creates (override with MLRC_TEST_POSTGRES_URL).
POSTGRES_SERVER_URL = os.environ.get(
    "MLRC_TEST_POSTGRES_URL", "postgresql://mlrc:mlrc@127.0.0.1:5432/mlrc_test"
)


def connect_postgres(url: str, timeout: float = 3):
    import psycopg  # the driver of the postgres extra (psycopg 3)

    return psycopg.connect(url, connect_timeout=timeout)


def postgres_reachable(url: str) -> bool:
    try:
        connect_postgres(url).close()
    except ImportError:
        raise  # a missing driver is a broken install, not a missing server
    except Exception:
        return False
    return True


@contextlib.contextmanager
def fresh_postgres_database(prefix: str) -> Iterator[str]:
    """The URL of a new database on the test server, dropped afterwards (study names repeat
    across tests); skips (fails in CI) without a server."""
    need_service(
        "postgresql",
        postgres_reachable(POSTGRES_SERVER_URL),
        "start it with tests/services/start_postgres.sh, or point MLRC_TEST_POSTGRES_URL at a "
        "server where the user may create databases",
    )
    database = f"{prefix}_{uuid.uuid4().hex[:12]}"
    server = connect_postgres(POSTGRES_SERVER_URL)
    server.autocommit = True
    with server.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{database}"')
    try:
        yield urlunsplit(urlsplit(POSTGRES_SERVER_URL)._replace(path=f"/{database}"))
    finally:
        with server.cursor() as cursor:
            cursor.execute(f'DROP DATABASE "{database}" WITH (FORCE)')
        server.close()
