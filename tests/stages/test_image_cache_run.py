"""`mlrc run` gives the same results with and without the image cache (data.cache_images)."""

from __future__ import annotations

import pandas as pd
from run_helpers import set_args

from benchmark.cli import main

VALUE_COLUMNS = ["loss", "repeat", "mode", "metric", "value", "best_iterations", "best_epochs"]


def test_a_tiny_demo_run_gives_identical_values_with_and_without_the_cache(
    tmp_path, tiny_overrides
):
    results = {}
    for cached in ("true", "false"):
        run_dir = tmp_path / f"cache-{cached}"
        overrides = [
            *tiny_overrides,
            "study.n_trials=2",
            "retrain.repeats=1",
            f"data.cache_images={cached}",
            f"data.cache_dir={tmp_path / 'image-cache'}",
        ]
        args = ["run", "--losses", "contrastive", "--run-dir", str(run_dir), "--no-progress"]
        assert main([*args, *set_args(overrides)]) == 0
        results[cached] = pd.read_csv(run_dir / "results.csv")[VALUE_COLUMNS]
    assert any((tmp_path / "image-cache").glob("images-synthetic-*/pixels.u8"))
    assert len(results["true"]) > 0
    pd.testing.assert_frame_equal(results["true"], results["false"], check_exact=True)
