"""The "no training" baseline: the untrained networks every loss starts from, tested with the
same seeds and the same test stage as the retrained ones."""

from __future__ import annotations

from benchmark.search.context import StudyContext
from benchmark.search.seeds import retrain_seed
from benchmark.stages.repeats import FoldOutcome, repeats_to_run, run_repeats
from benchmark.store.results_file import UNTRAINED, UNTRAINED_DISPLAY


def run_untrained(context: StudyContext, repeats: list[int] | None = None) -> None:
    """Evaluate the untrained networks (the "no training" row) over the repeats not yet done."""
    todo = repeats_to_run(context, UNTRAINED, repeats)
    if not todo:
        return
    cv = context.cross_validation

    def untrained_fold(repeat: int, fold: int) -> FoldOutcome:
        seed = retrain_seed(context.config.retrain.seed_offset, repeat, fold)
        fold_dir = context.run_dir.untrained_fold_dir(repeat, fold)
        embeddings = cv.test_embeddings(cv.build_model(seed), fold_dir)
        return FoldOutcome(seed, embeddings, best_iteration=0, best_epoch=0)

    details = {"params": {}, "params_source": "none"}
    run_repeats(context, UNTRAINED, UNTRAINED_DISPLAY, todo, untrained_fold, details)
