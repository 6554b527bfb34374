"""The stages of a run, in one loop: the untrained baseline, then per loss its study (when the
protocol searches) and its retrain. ``mlrc run`` runs it for a run directory, ``mlrc ablate`` for
each grid point; rendering the tables is the caller's (the report layer's) job."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from benchmark.config import ProtocolConfig
from benchmark.errors import ConfigError, StudyFailed, TrainingDiverged
from benchmark.losses import get_loss_spec, list_losses
from benchmark.losses.search_space import load_search_space
from benchmark.search.context import StudyContext
from benchmark.search.fixed_params import fixed_params
from benchmark.search.worker import run_worker
from benchmark.stages.baseline import run_untrained
from benchmark.stages.retrain import run_retrain

_logger = logging.getLogger(__name__)


def resolve_losses(selection: str | None, config: ProtocolConfig) -> list[str]:
    """``a,b,c`` -> those losses; ``all`` -> every registered loss; None/``demo`` -> the
    protocol's ``demo_losses`` (all losses if it lists none). Unknown names, broken search
    spaces and missing fixed hyperparameters raise now, not after hours of training."""
    if selection in (None, "demo"):
        names = config.demo_losses or [spec.name for spec in list_losses()]
    elif selection == "all":
        names = [spec.name for spec in list_losses()]
    else:
        names = [name.strip() for name in selection.split(",") if name.strip()]
        if not names:
            raise ConfigError(
                f"--losses {selection!r} names no loss; give comma-separated names, 'all' or "
                "'demo' (`mlrc losses` lists them)"
            )
    for name in names:
        load_search_space(
            get_loss_spec(name), config.dataset, batch_size=config.training.batch_size
        )
        fixed_params(config, name)
    return names


@dataclass
class StagesOutcome:
    """What a run of the stages gave: the losses whose results are complete, and why each other
    requested loss gave none (one line with the fix). A caller that reports success only when
    ``failed`` is empty never calls a run that produced nothing a success."""

    finished: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)


def run_stages(context: StudyContext, losses: list[str], untrained: bool = True) -> StagesOutcome:
    """Run (or resume) every stage of ``losses``; finished work is skipped.

    Each loss is searched (its study) then retrained, or, with ``study.params_from`` or a
    protocol that searches nothing, retrained with those fixed hyperparameters. ``untrained``
    first evaluates the untrained networks (the "no training" row). A loss whose study has no
    usable trial or whose retraining diverged is skipped with a warning, and recorded in the
    outcome's ``failed``: one loss must not stop the comparison.
    """
    if untrained:
        run_untrained(context)
    outcome = StagesOutcome()
    for loss in losses:
        try:
            if context.config.study.searches:
                no_result = run_worker(context, loss).no_result
                if no_result is not None:
                    raise StudyFailed(no_result)
            run_retrain(context, loss)
        except (StudyFailed, TrainingDiverged) as exc:
            _logger.warning("skipping %s: %s", loss, exc)
            outcome.failed[loss] = str(exc)
            continue
        outcome.finished.append(loss)
    return outcome
