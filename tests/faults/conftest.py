"""Fixtures of the fault suite: the real services it breaks (Slurm, PostgreSQL, a tmpfs), and the
table of figures printed at the end of the run (one line per fault)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest

TESTS = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(TESTS / "cluster"), str(TESTS)]

from service_checks import (  # noqa: E402
    fresh_postgres_database,
    need_service,
    postgres_reachable,
)
from slurm_helpers import cluster_is_up, how_to_start  # noqa: E402

from benchmark.cluster import Ledger, Slurm  # noqa: E402

_FIGURES: list[str] = []


@pytest.fixture
def figures():
    """Record a fault's line of figures for the summary at the end of the run."""

    def record(line: str) -> None:
        _FIGURES.append(line)
        print(line)

    return record


def pytest_terminal_summary(terminalreporter):
    if _FIGURES:
        terminalreporter.section("fault suite figures")
        for line in _FIGURES:
            terminalreporter.write_line(line)


@pytest.fixture
def slurm_cluster(tmp_path):
    """The CPU-only test cluster; every job a test submitted is cancelled when it ends."""
    need_service("slurm", cluster_is_up(), how_to_start())
    yield
    job_ids = [
        entry.job_id
        for path in tmp_path.rglob("slurm/jobs.json")
        for entry in Ledger(path.parent.parent).entries()
    ]
    Slurm().cancel(job_ids)


@pytest.fixture
def postgres_database():
    """A fresh database on the test server for one test."""
    with fresh_postgres_database("mlrc_faults") as url:
        yield url


class PrivateServer:
    """A PostgreSQL server of the test's own (initdb in a temporary folder), so that stopping
    it disturbs no other test; it is stopped and removed when the test ends."""

    def __init__(self, folder: Path, bin_dir: Path):
        self.folder, self.bin_dir = folder, bin_dir
        self.data = folder / "data"
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        self.password: str | None = None

    def _as_postgres(self, *argv: str) -> None:
        subprocess.run(
            ["runuser", "-u", "postgres", "--", *argv], check=True, capture_output=True, timeout=60
        )

    def create(self, password: str | None = None) -> None:
        """A new cluster; with ``password``, TCP connections need it (scram-sha-256)."""
        self.folder.mkdir(mode=0o700)
        shutil.chown(self.folder, "postgres", "postgres")
        auth = ["--auth=trust"] if password is None else ["--auth-local=trust"]
        if password is not None:
            (self.folder / "pw").write_text(password)
            shutil.chown(self.folder / "pw", "postgres", "postgres")
            auth += ["--auth-host=scram-sha-256", f"--pwfile={self.folder / 'pw'}"]
        self._as_postgres(
            str(self.bin_dir / "initdb"), "-D", str(self.data), "-U", "postgres", *auth
        )
        self.password = password

    def start(self) -> None:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1"
        self._as_postgres(
            str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-o", options,
            "-l", str(self.folder / "server.log"), "-w", "start",
        )  # fmt: skip
        url = self.url_with_password
        deadline = time.monotonic() + 30
        while not postgres_reachable(url) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert postgres_reachable(url), "the (re)started server does not accept connections"

    @property
    def url_with_password(self) -> str:
        if self.password is None:
            return self.url
        return self.url.replace("postgres@", f"postgres:{quote(self.password, safe='')}@")

    def stop(self) -> None:
        self._as_postgres(str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-m", "fast", "stop")


def _postgres_bin() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    return found[-1].parent if found else None


@pytest.fixture
def private_postgres(request):
    """A private server; ``@pytest.mark.parametrize("private_postgres", ["secret"],
    indirect=True)`` gives its TCP connections that password."""
    bin_dir = _postgres_bin()
    need_service(
        "a private PostgreSQL server (initdb, pg_ctl, run as root)",
        bin_dir is not None and os.geteuid() == 0 and shutil.which("runuser") is not None,
        "install Debian's postgresql (tests/services/start_postgres.sh does) and run as root",
    )
    server = PrivateServer(Path("/tmp") / f"mlrc-faults-pg-{uuid.uuid4().hex[:8]}", bin_dir)
    try:
        server.create(getattr(request, "param", None))
        server.start()
        yield server
    finally:
        subprocess.run(
            ["runuser", "-u", "postgres", "--", str(bin_dir / "pg_ctl"), "-D", str(server.data),
             "-m", "immediate", "stop"],
            capture_output=True,
        )  # fmt: skip
        shutil.rmtree(server.folder, ignore_errors=True)


@pytest.fixture
def small_tmpfs(tmp_path):
    """A 1 MiB tmpfs (mounting needs root; CI runs as root), unmounted when the test ends."""
    mount_point = tmp_path / "tmpfs"
    mount_point.mkdir()
    mounted = (
        shutil.which("mount") is not None
        and subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount_point)],
            capture_output=True,
        ).returncode
        == 0
    )
    need_service("a tmpfs mount", mounted, "run the tests as root, where `mount -t tmpfs` works")
    yield mount_point
    subprocess.run(["umount", "-l", str(mount_point)], capture_output=True)
