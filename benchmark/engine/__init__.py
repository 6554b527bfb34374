"""Training and evaluation: one run to early stop (checkpointed, resumable) and retrieval metrics.

>>> result = fit(model, loss, train_set=train, val_set=val, config=protocol.training,
...              run_dir="results/runs/demo/fold0", seed=0, loss_name="contrastive",
...              images_per_class=4)  # doctest: +SKIP
>>> result.best_val_map_at_r  # doctest: +SKIP
"""

from benchmark.engine.checkpoint import RunFiles, load_best_model
from benchmark.engine.device import resolve_device
from benchmark.engine.embeddings import concatenate_embeddings, embed
from benchmark.engine.epoch_sampler import EpochSampler
from benchmark.engine.fit import EvalSet, fit
from benchmark.engine.fit_result import FitResult
from benchmark.engine.optimizers import build_optimizers, build_schedulers
from benchmark.engine.retrieval_metrics import METRICS, retrieval_metrics
from benchmark.engine.seeding import derive_seed, seed_everything

__all__ = [
    "METRICS",
    "EpochSampler",
    "EvalSet",
    "FitResult",
    "RunFiles",
    "build_optimizers",
    "build_schedulers",
    "concatenate_embeddings",
    "derive_seed",
    "embed",
    "fit",
    "load_best_model",
    "resolve_device",
    "retrieval_metrics",
    "seed_everything",
]
