"""Training and evaluation: one run to early stop (checkpointed, resumable) and retrieval metrics.

Typical use (see ``tests/engine/`` for runnable versions)::

    trainer = Trainer(model, LossBundle.build("contrastive", {}, 18, 128), protocol.training,
                      fit_dir="results/runs/demo/fold0", seed=0)
    result = trainer.fit(train_set, val_set)
    result.best_val_map_at_r
"""

from benchmark._lazy import lazy_exports

__all__, __getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "checkpoint": ("FitDirectory", "load_best_model"),
        "device": ("RunDevice", "resolve_device"),
        "embeddings": ("concatenate_embeddings", "embed"),
        "epoch_sampler": ("EpochSampler",),
        "evaluation": ("EvalSet", "eval_parts", "evaluate"),
        "fit_result": ("FitResult",),
        "loss_bundle": ("LossBundle",),
        "optimizers": ("build_optimizers", "build_schedulers"),
        "retrieval_metrics": ("METRICS", "retrieval_metrics"),
        "seeding": ("derive_seed", "seed_everything"),
        "trainer": ("Trainer",),
        "training_state": ("TrainingState",),
    },
)
