"""`--tracker tensorboard`: event files under the run directory, read back with TensorBoard's
own event reader (EventAccumulator)."""

from __future__ import annotations

import pytest
from tracking_helpers import fold_curves, need_extra, parent_key, run_tiny, tracked_overrides

pytestmark = pytest.mark.slow


def _scalars(folder) -> dict[str, list[tuple[int, float]]]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(folder))
    events.Reload()
    return {
        tag: [(event.step, event.value) for event in events.Scalars(tag)]
        for tag in events.Tags()["scalars"]
    }


def test_tensorboard_event_files_hold_each_fold_trainings_curve(
    tmp_path, tiny_overrides, untracked_results
):
    need_extra("tensorboard")
    run_dir = tmp_path / "run"
    run_tiny(run_dir, tracked_overrides(tiny_overrides), "--tracker", "tensorboard")

    logdir = run_dir / "tracking" / "tensorboard"
    for key, curve in fold_curves(run_dir).items():
        scalars = _scalars(logdir / key)
        for metric in ("val_map_at_r", "val_precision_at_1", "epoch"):  # stored as float32
            steps, values = zip(*scalars[metric], strict=True)
            assert list(steps) == [row["iteration"] for row in curve], (key, metric)
            assert list(values) == pytest.approx([row[metric] for row in curve], rel=1e-6)
        assert [step for step, _ in scalars["loss"]] == [row["iteration"] for row in curve[1:]]
        ((step, best_iteration),) = scalars["summary/best_iteration"]
        assert step == curve[-1]["iteration"]
        assert best_iteration in {row["iteration"] for row in curve}
        parent = _scalars(logdir / parent_key(key))
        if key.startswith("study/"):
            ((_, value),) = parent["summary/value"]
            assert 0 < value < 1
    assert (run_dir / "results.csv").read_bytes() == untracked_results
