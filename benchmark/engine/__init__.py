"""Training and evaluation: one run to early stop (checkpointed, resumable) and retrieval metrics.

Typical use (see ``tests/engine/`` for runnable versions)::

    trainer = Trainer(model, LossBundle.build("contrastive", {}, 18, 128), protocol.training,
                      fit_dir="results/runs/demo/fold0", seed=0)
    result = trainer.fit(train_set, val_set)
    result.best_val_map_at_r
"""

from benchmark.engine.checkpoint import FitDirectory, load_best_model
from benchmark.engine.device import RunDevice, resolve_device
from benchmark.engine.embeddings import concatenate_embeddings, embed
from benchmark.engine.epoch_sampler import EpochSampler
from benchmark.engine.evaluation import EvalSet, eval_parts, evaluate
from benchmark.engine.fit_result import FitResult
from benchmark.engine.loss_bundle import LossBundle
from benchmark.engine.optimizers import build_optimizers, build_schedulers
from benchmark.engine.retrieval_metrics import METRICS, retrieval_metrics
from benchmark.engine.seeding import derive_seed, seed_everything
from benchmark.engine.trainer import Trainer
from benchmark.engine.training_state import TrainingState

__all__ = [
    "METRICS",
    "EpochSampler",
    "EvalSet",
    "FitDirectory",
    "FitResult",
    "LossBundle",
    "RunDevice",
    "Trainer",
    "TrainingState",
    "build_optimizers",
    "build_schedulers",
    "concatenate_embeddings",
    "derive_seed",
    "embed",
    "eval_parts",
    "evaluate",
    "load_best_model",
    "resolve_device",
    "retrieval_metrics",
    "seed_everything",
]
