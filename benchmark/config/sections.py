"""The sections of a protocol, as typed dataclasses with their defaults and meanings."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Literal

from benchmark.config.bounds import Bound, above, at_least, setting

MAX_FOLDS = 50
"""The most folds a protocol may have: a repeat's retrain seeds span 100 integers, and the
search's fold seeds keep clear of them in the other half (``benchmark/search/seeds.py``)."""
MAX_SEED = 2**31 - 1
"""The largest seed: every seed derived from it (plus a trial number or a fold) stays a valid
NumPy seed (< 2**32)."""
MAX_BATCH = 2**16
"""The largest batch: beyond any metric-learning protocol, so a larger one is a typo."""
MAX_TRIALS = 100_000
"""The largest study: MLRC ran 50 trials of 4 fold trainings each; more is a typo."""
MAX_SYNTHETIC_IMAGE_SIZE = 1024
"""The largest synthetic image side: the generated shapes stand in for small CPU-demo images
(32 pixels); 100,000 asked for hundreds of GiB at once (a MemoryError)."""


@dataclass
class DataConfig:
    """Which images, how they are split and how they are transformed."""

    root: str | None = setting(None, None, "a path: checked when the dataset is read")
    """Dataset root directory; None means the synthetic cache or ``$MLRC_DATA/<dataset>``."""
    split: Literal["mlrc", "traditional"] = "mlrc"
    """``mlrc``: class halves and class-disjoint folds of the first half (a study's trials see
    only those); ``traditional``: the dataset's predefined train/test split, one model trained
    on the train split and early-stopped on the test split (as Proxy-Anchor style papers do)."""
    inshop_query_gallery: bool = True
    """Traditional split of In-Shop: evaluate query -> gallery; false pools them into one set."""
    fold_scheme: Literal["mlrc", "even"] = "mlrc"
    n_folds: int = setting(
        4,
        at_least(2, MAX_FOLDS),
        "one validates, the others train; at most 50 keeps fold seeds apart",
    )
    transform: Literal["bninception", "imagenet", "small"] = "bninception"
    resize: int = setting(256, at_least(1), "pixels")
    resize_before_crop: bool = True
    """Resize before RandomResizedCrop (MLRC); the traditional protocol crops the original."""
    image_size: int = setting(227, at_least(1), "pixels")
    crop_scale: tuple[float, float] = setting(
        (0.16, 1.0),
        Bound(low=0.0, high=1.0, low_open=True, ascending=True),
        "RandomResizedCrop's [low, high] fractions of the image area",
    )
    num_workers: int = setting(4, at_least(0), "0: load in the process")
    cache_images: bool = False
    """Store each image after the deterministic first steps of the transforms (MLRC: Resize,
    and Resize + CenterCrop for evaluation) once, as uint8 pixels that every process maps into
    memory; batches are bitwise those read from the image files. Not for a training pipeline
    that starts with a random crop of the original (the traditional protocol): its images are
    read from the files."""
    cache_dir: str | None = setting(None, None, "a path: created when the first cache is built")
    """Where the image caches go; None: ``$MLRC_CACHE_DIR``, else ``~/.cache/mlrc``."""
    synthetic_classes: int = setting(
        100, at_least(2), "a train+val half and a test half; at most 384, checked by the generator"
    )
    synthetic_images_per_class: int = setting(
        30, at_least(2), "an image needs another of its class to be retrieved (MAP@R)"
    )
    synthetic_image_size: int = setting(
        32,
        at_least(8, MAX_SYNTHETIC_IMAGE_SIZE),
        "pixels; the generator draws shapes; more than 1024 is a typo",
    )
    synthetic_seed: int = setting(0, at_least(0, MAX_SEED), "a NumPy seed")


@dataclass
class ModelConfig:
    """The trunk and the embedder head."""

    trunk: Literal["bninception", "resnet50", "small_cnn"] = "bninception"
    weights: str = setting(
        "imagenet", None, "imagenet, none or a file: checked when the network is built"
    )
    """'imagenet' (local file or torch hub cache, never downloaded), a file path, or 'none'."""
    head: Literal["linear", "pool_linear"] = "linear"
    embedding_size: int = setting(128, at_least(1), "dimensions")
    embedder_activation: Literal["none", "relu"] = "none"
    """``relu``: a ReLU after the head's linear layer (the paper's "fully-connected layer with
    ReLU"; non-negative embeddings). ``none``: MLRC's code and the authors' traditional head."""
    freeze_batchnorm: bool = True
    bn_momentum: float = setting(0.1, above(0, 1), "a weight of the new batch's statistics")
    """``momentum`` of the trunk's BatchNorm layers, in PyTorch's convention: the weight of each
    training batch's statistics in the running ones, ``running = (1 - m) running + m batch``
    (0.1, PyTorch's default). Used only where BatchNorm is not frozen."""
    small_cnn_width: int = setting(32, at_least(1), "channels of the first block")


@dataclass
class TrainingConfig:
    """One training run (fit): optimisation, early stopping and hardware settings."""

    batch_size: int = setting(
        32, at_least(2, MAX_BATCH), "a pair needs 2 images; more than 65,536 is a typo"
    )
    batch_sampler: Literal["m_per_class", "random"] = "m_per_class"
    """``m_per_class``: batch / m classes x m images, m by the loss's kind (MLRC);
    ``random``: shuffled images (the traditional protocol's loaders)."""
    optimizer: Literal["rmsprop", "adamw"] = "rmsprop"
    trunk_lr: float = setting(1e-6, at_least(0), "a learning rate; 0 freezes the trunk")
    embedder_lr: float = setting(1e-6, at_least(0), "a learning rate; 0 freezes the head")
    momentum: float = setting(
        0.9, Bound(low=0.0, high=1.0, high_open=True), "RMSprop's momentum; 1 never forgets"
    )
    weight_decay: float = setting(1e-4, at_least(0), "an L2 penalty")
    loss_weight_decay: float = setting(1e-4, at_least(0), "an L2 penalty")
    iterations_per_epoch: int = setting(100, at_least(0), "0: one pass over the images")
    """Mini-batches in an epoch (100 is an MLRC "epoch"); 0: one pass over the training images."""
    eval_every_epochs: int = setting(2, at_least(1), "epochs")
    patience_epochs: int = setting(9, at_least(0), "epochs")
    """Stop when (epoch - best_epoch) > patience_epochs, as MLRC does."""
    patience_evaluations: int = setting(0, at_least(0), "0: patience_epochs decides")
    """When > 0, stop instead after this many evaluations without improvement (the traditional
    protocol's patience, done right: its reference code stopped at the first one)."""
    max_epochs: int = setting(1000, at_least(1), "epochs")
    warmup_epochs: int = setting(0, at_least(0), "epochs; 0: no warm-up")
    """During warm-up only the embedder and the loss parameters train."""
    lr_step_epochs: int = setting(0, at_least(0), "epochs; 0: no schedule")
    """StepLR period in epochs; 0 disables the schedule."""
    lr_gamma: float = setting(0.5, above(0, 1), "the factor of each step: a decay")
    grad_clip_value: float = setting(0.0, at_least(0), "0: no clipping")
    """Clip model gradients to this absolute value; 0 disables clipping."""
    device: str = setting(
        "auto", None, "auto, cpu, cuda or cuda:N: checked (torch) when the run starts"
    )
    amp: bool = False
    """bf16 autocast on CUDA (ignored on CPU). MLRC trained and evaluated in fp32."""
    channels_last: bool = False
    """channels_last memory format on CUDA (ignored on CPU): faster convolutions."""
    tf32: bool = False
    """TF32 tensor-core math for fp32 convolutions and matmuls on Ampere or newer GPUs (faster,
    10-bit mantissa). Off: true fp32, as on MLRC's V100s."""
    eval_batch_size: int = setting(
        128, at_least(1, MAX_BATCH), "images; more than 65,536 is a typo"
    )
    recall_at: list[int] = setting(factory=list, bound=at_least(1), why="K of Recall@K")
    """Also measure Recall@K for these K at every evaluation (the traditional protocol)."""


@dataclass
class SamplerConfig:
    """The Optuna sampler; every setting explicit because library defaults change between
    versions (Optuna 5 changed TPE's)."""

    kind: Literal["tpe", "gp"] = "tpe"
    """``tpe``: Optuna's TPE, random start-up trials. ``gp``: MLRC's design (Ax): the start-up
    trials on a scrambled Sobol sequence, then Optuna's GPSampler (log expected improvement; with
    running trials, q-batch EI over them, so parallel workers do not ask for the same point)."""
    seed: int = setting(
        0, at_least(0, MAX_SEED), "a NumPy seed, plus the trial number for each trial's sampler"
    )
    n_startup_trials: int = setting(10, at_least(0), "trials")
    n_ei_candidates: int = setting(24, at_least(1), "candidates")
    """TPE only."""
    multivariate: bool = True
    """TPE only."""
    group: bool = False
    """TPE only."""
    constant_liar: bool = True
    """TPE only: running trials count as pessimistic results, so parallel workers spread out."""
    deterministic_objective: bool = False
    """GP only: fit a noise-free GP (our objective, a mean over trained folds, is noisy)."""


@dataclass
class StudyConfig:
    """The hyperparameter search."""

    search: bool = True
    """False: no study; every loss trains with the protocol's ``losses:`` defaults."""
    params_from: str | None = setting(
        None, None, "mlrc2020 or a CSV path: checked when the configuration is read"
    )
    """No study: every loss trains with a published configuration, ``mlrc2020`` (MLRC's
    published optima) or the path of a CSV in that schema (``mlrc run --params-from``)."""
    n_trials: int = setting(50, at_least(1, MAX_TRIALS), "MLRC ran 50; more than 100,000 is a typo")
    sampler: SamplerConfig = field(default_factory=SamplerConfig)
    pruner: Literal[
        "none",
        "median",
        "percentile",
        "wilcoxon",
        "curve_median",
        "curve_percentile",
        "curve_halving",
        "curve_wilcoxon",
    ] = "none"
    """Stop a trial early when it is clearly worse, compared with the other trials on the same
    folds. On whole folds (benchmark.search.fold_pruners): ``median`` (the mean of its finished
    folds below the median of the completed trials' means over the same folds), ``percentile``
    (the same below ``pruner_percentile``), ``wilcoxon`` (Optuna's WilcoxonPruner: its fold
    scores against the best trial's, p < ``pruner_p_threshold``). Inside the folds, on the
    validation MAP@R of every evaluation, at the same fold and epoch
    (benchmark.search.curve_pruners): ``curve_median`` / ``curve_percentile`` (its objective
    had the folds been cut there, against the completed trials' at the same point),
    ``curve_halving`` (successive halving over the first fold's evaluations), ``curve_wilcoxon``
    (its values at its points against the best trial's). ``none``: never. MLRC did not prune."""
    pruner_warmup_folds: int = setting(1, at_least(0), "a fold index")
    """``median``, ``percentile``, ``wilcoxon``: no pruning decision before the trial finished
    fold index ``pruner_warmup_folds`` (1: the first decision comes after two folds)."""
    pruner_warmup_evaluations: int = setting(1, at_least(1), "an evaluation of the first fold")
    """``curve_*``: no pruning decision before the trial's this-many-th evaluation (of its
    first fold); ``curve_wilcoxon`` decides from 2 paired points at the earliest."""
    pruner_startup_trials: int | None = setting(
        None, at_least(0), "trials; null: study.sampler.n_startup_trials"
    )
    """No pruning decision before this many other trials to compare with: completed ones
    (``median``, ``percentile``, ``curve_median``, ``curve_percentile``), or trials that reached
    the rung (``curve_halving``). null: ``study.sampler.n_startup_trials``."""
    pruner_percentile: float = setting(50.0, at_least(0, 100), "a percentile")
    """``percentile``, ``curve_percentile``: prune below this percentile (lower prunes less)."""
    pruner_p_threshold: float = setting(0.1, at_least(0, 1), "a p-value")
    """``wilcoxon``, ``curve_wilcoxon``: prune when the one-sided p-value is below this. With 4
    folds, n paired folds all worse give p = 1/2**n (0.25, 0.125, 0.0625), so 0.1 is reached by
    ``wilcoxon`` only after the last fold, when nothing is left to save: 0.3 prunes after two."""
    pruner_reduction_factor: int = setting(3, at_least(2), "a rung keeps 1 / factor of its trials")
    """``curve_halving``: each rung keeps the best 1 / this of the trials that reached it."""
    pruner_min_evaluations: int = setting(1, at_least(1), "evaluations of the first fold")
    """``curve_halving``: the first rung, in evaluations of the first fold (then x the factor)."""
    heartbeat_interval: int = setting(60, at_least(1), "seconds")
    """Seconds between a running trial's heartbeats."""
    grace_period: int = setting(300, at_least(2), "seconds; longer than heartbeat_interval")
    """A running trial with no heartbeat for this many seconds is considered dead."""
    max_retries: int = setting(3, at_least(0), "0: a dead worker's trial is not re-queued")
    """How many times a trial whose worker died is re-queued with the same parameters."""
    diverged_value: float | None = setting(
        0.0, at_least(-1, 1), "a MAP@R; below 0 pushes the sampler further away; null: FAIL"
    )
    """The objective told to the study for a trial whose training diverged (0.0 is the MAP@R of
    a useless embedding), so the sampler learns to avoid such parameters; null keeps it FAIL.
    Either way the trial keeps ``failure = diverged``, counts in the budget and is never best."""

    @property
    def searches(self) -> bool:
        """Whether hyperparameters are searched (neither ``params_from`` nor ``search: false``)."""
        return self.params_from is None and self.search

    @property
    def search_budget(self) -> int | None:
        """The budget searched parameters are chosen under (None when nothing is searched):
        results record it, and a table marks losses searched under different ones."""
        return self.n_trials if self.searches else None

    @property
    def params_source(self) -> str:
        """Where the parameters come from when nothing is searched: the published source or
        ``protocol`` (the protocol's ``losses:`` defaults)."""
        return str(self.params_from) if self.params_from is not None else "protocol"


@dataclass
class RetrainConfig:
    """Retraining the best parameters over repeated seeds, then testing."""

    repeats: int = setting(10, at_least(1), "seeds")
    confidence: float = setting(
        0.95, Bound(low=0.0, high=1.0, low_open=True, high_open=True), "a confidence level"
    )
    seed_offset: int = setting(1000, at_least(0, MAX_SEED), "a seed")
    concatenated: bool = True


@dataclass
class ProtocolConfig:
    """A whole protocol, resolved for one dataset."""

    name: str
    dataset: str
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    training: TrainingConfig = field(default_factory=TrainingConfig)
    study: StudyConfig = field(default_factory=StudyConfig)
    retrain: RetrainConfig = field(default_factory=RetrainConfig)
    losses: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Default hyperparameters per loss (used when ``study.search`` is false); a
    ``loss_lr_ratio`` sets ``loss_lr`` to ``training.trunk_lr`` x ratio."""
    default_dataset: str = "synthetic"
    demo_losses: list[str] = field(default_factory=list)
    source: str = ""

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)
