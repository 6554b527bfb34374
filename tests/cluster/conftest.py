"""Fixtures of the Slurm tests: the local test clusters, and no job left behind."""

from __future__ import annotations

import pytest
from service_checks import need_service
from slurm_helpers import GPU_CONF, cluster_is_up, how_to_start

from benchmark.cluster import Ledger, Slurm


@pytest.fixture
def slurm_cluster(tmp_path):
    """The CPU-only test cluster; every job a test submitted is cancelled when it ends."""
    need_service("slurm", cluster_is_up(), how_to_start())
    yield
    _cancel_jobs_under(tmp_path)


@pytest.fixture
def fake_gpu_cluster(tmp_path, monkeypatch):
    """The test cluster whose node offers fake GPUs (reached through SLURM_CONF)."""
    need_service("slurm with fake GPUs", cluster_is_up(GPU_CONF), how_to_start("--fake-gpus 2"))
    monkeypatch.setenv("SLURM_CONF", str(GPU_CONF))
    yield
    _cancel_jobs_under(tmp_path)


def _cancel_jobs_under(folder) -> None:
    job_ids = [
        entry.job_id
        for path in folder.rglob("slurm/jobs.json")
        for entry in Ledger(path.parent.parent).entries()
    ]
    Slurm().cancel(job_ids)
