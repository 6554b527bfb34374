"""The engine of `mlrc profile losses`: rows, ratios, the direct C x C reference, CSV and table."""

from __future__ import annotations

import csv
import math
import re

import pytest
import torch

from benchmark.losses import MeanFieldClassWiseMultiSimilarityLoss
from benchmark.profiling.direct_mfcwms import DirectMeanFieldCWMS
from benchmark.profiling.loss_speed import (
    DEFAULT_LOSSES,
    DIRECT_CXC,
    profile_losses,
    resolve_profiled_losses,
)
from benchmark.profiling.loss_speed_table import format_profile_table, write_profile_csv
from benchmark.profiling.measure import batch_labels, cpu_peak_memory_bytes
from benchmark.store.loss_profile import PROFILE_COLUMNS, PROFILE_REQUIRED


def test_the_runtime_table_reads_only_columns_the_profiler_writes():
    assert set(PROFILE_REQUIRED) <= set(PROFILE_COLUMNS)


@pytest.fixture(scope="module")
def tiny_rows():
    return profile_losses([8, 16], [12], embedding_size=8, repeats=1, progress=False)


def test_profile_measures_every_loss_for_every_batch_and_class_count(tiny_rows):
    assert len(tiny_rows) == 2 * len(DEFAULT_LOSSES)
    assert {(r["loss"], r["batch_size"]) for r in tiny_rows} == {
        (name, b) for name in DEFAULT_LOSSES for b in (8, 16)
    }
    for row in tiny_rows:
        assert tuple(row) == PROFILE_COLUMNS
        assert row["status"] == "ok" and row["num_classes"] == 12 and row["embedding_size"] == 8
        assert row["time_ms"] > 0 and row["peak_memory_mb"] > 0 and math.isfinite(row["value"])


def test_profile_compares_mfcwms_with_its_references_measured_in_the_same_run(tiny_rows):
    for row in tiny_rows:
        if row["loss"] == "mfcwms":
            assert row["value_rel_diff_vs_direct_cxc"] < 1e-5
            assert row["time_vs_direct_cxc"] > 0 and row["memory_vs_direct_cxc"] > 0
            assert row["time_vs_proxy_anchor"] > 0 and row["memory_vs_proxy_anchor"] > 0
        if row["loss"] == "proxy_anchor":
            assert row["time_vs_proxy_anchor"] is None


def test_profile_table_lists_the_measurements_and_the_ratios(tiny_rows):
    table = format_profile_table(tiny_rows)
    for name in DEFAULT_LOSSES:
        assert name in table
    assert "mfcwms at B=16 C=12" in table and "direct C x C" in table


def test_profile_rows_round_trip_through_csv(tiny_rows, tmp_path):
    path = write_profile_csv(tiny_rows, tmp_path / "profile" / "losses.csv")
    with open(path, newline="") as csv_file:
        read = list(csv.DictReader(csv_file))
    assert tuple(read[0]) == PROFILE_COLUMNS
    assert [row["loss"] for row in read] == [row["loss"] for row in tiny_rows]
    assert not (tmp_path / "profile" / "losses.csv.partial").exists()


def test_profile_skips_what_exceeds_the_cpu_budget_and_says_so():
    rows = profile_losses(
        [64],
        [100],
        embedding_size=8,
        repeats=1,
        losses=["mfcwms"],
        max_cpu_entries=1000,
        progress=False,
    )
    assert rows[0]["status"].startswith("skipped: B x C = 6,400 above the CPU budget")
    assert rows[0]["time_ms"] is None
    assert "skipped:" in format_profile_table(rows)


@pytest.mark.parametrize("labels", [[0, 0, 3, 5, 5, 5, 9], [4, 1, 8, 0]])
def test_direct_class_by_class_mfcwms_equals_mfcwms(labels):
    torch.manual_seed(0)
    loss = MeanFieldClassWiseMultiSimilarityLoss(11, 6, alpha=0.5, beta=20.0, base=0.4, mf_reg=0.2)
    loss = loss.double()
    embeddings = torch.randn(len(labels), 6, dtype=torch.float64)
    labels = torch.tensor(labels)
    direct = DirectMeanFieldCWMS(loss)
    torch.testing.assert_close(
        direct(embeddings, labels), loss(embeddings, labels), rtol=1e-10, atol=0
    )


def test_cpu_peak_memory_counts_the_bytes_held_at_once():
    def step():
        first = torch.ones(1_000_000)  # 4 MB
        second = first.exp()  # + 4 MB held together with the first
        del first
        return second.sum()

    peak = cpu_peak_memory_bytes(step)
    assert 8_000_000 <= peak < 8_100_000


def test_all_profiles_every_registered_loss_and_the_references():
    from benchmark.losses import list_losses

    rows = profile_losses([16], [20], embedding_size=8, repeats=1, losses="all", progress=False)
    expected = [spec.name for spec in list_losses()] + [DIRECT_CXC]
    assert [row["loss"] for row in rows] == expected == list(resolve_profiled_losses("all"))
    assert all(row["status"] == "ok" and math.isfinite(row["value"]) for row in rows), [
        (row["loss"], row["status"]) for row in rows if row["status"] != "ok"
    ]
    assert all(row["time_vs_proxy_anchor"] > 0 for row in rows if row["loss"] != "proxy_anchor")


def test_a_pair_loss_whose_extrapolated_memory_exceeds_the_cpu_budget_is_skipped():
    """NT-Xent's peak grows as B^3: measured at B = 64 and 128, skipped at 512 under 64 MB."""
    rows = profile_losses(
        [64, 512], [200], embedding_size=8, repeats=1, losses=["ntxent", "cwms"],
        max_cpu_memory_mb=64, progress=False,
    )  # fmt: skip
    status = {(row["loss"], row["batch_size"]): row["status"] for row in rows}
    assert status[("ntxent", 64)] == "ok" and status[("cwms", 512)] == "ok"
    assert re.fullmatch(
        r"skipped: an estimated [\d,]+ MB peak \(extrapolated from B = 64, 128\) above the CPU "
        r"budget of 64 MB \(run on a GPU\)",
        status[("ntxent", 512)],
    )


def test_an_out_of_memory_step_is_recorded_as_skipped(monkeypatch):
    import benchmark.profiling.loss_speed as profiling

    def out_of_memory(*args, **kwargs):
        raise torch.OutOfMemoryError("CUDA out of memory")

    monkeypatch.setattr(profiling, "_profile_one", out_of_memory)
    (row,) = profile_losses([8], [12], embedding_size=8, losses=["cwms"], progress=False)
    assert row["status"] == "skipped: out of memory on cpu" and row["time_ms"] is None


def test_unknown_loss_names_fail_before_measuring():
    from benchmark.errors import UnknownLossError

    with pytest.raises(UnknownLossError):
        profile_losses([8], [12], losses=["no_such_loss", DIRECT_CXC], progress=False)


@pytest.mark.parametrize(
    ("batch_size", "classes", "images_per_class"), [(8, 12, 2), (10, 12, 4), (8, 3, 2), (1, 5, 2)]
)
def test_batch_labels_fill_the_batch_with_every_batch_class(batch_size, classes, images_per_class):
    def labels(grouped: bool) -> torch.Tensor:
        generator = torch.Generator().manual_seed(0)
        return batch_labels(batch_size, classes, images_per_class, generator, grouped)

    cycled, grouped = labels(False), labels(True)
    expected = max(1, min(classes, batch_size // images_per_class))
    assert len(cycled) == len(grouped) == batch_size
    assert set(cycled.tolist()) == set(grouped.tolist()) and len(set(cycled.tolist())) == expected
    assert grouped.tolist() == sorted(grouped.tolist(), key=grouped.tolist().index)  # a a b b
