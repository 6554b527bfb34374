"""The sections of a protocol, as typed dataclasses with their defaults and meanings."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Literal

MAX_FOLDS = 50
"""The most folds a protocol may have: a repeat's retrain seeds span 100 integers, and the
search's fold seeds keep clear of them in the other half (``benchmark/search/seeds.py``)."""


@dataclass
class DataConfig:
    """Which images, how they are split and how they are transformed."""

    root: str | None = None
    """Dataset root directory; None means the synthetic cache or ``$MLRC_DATA/<dataset>``."""
    split: Literal["mlrc", "traditional"] = "mlrc"
    """``mlrc``: class halves and class-disjoint folds of the first half (a study's trials see
    only those); ``traditional``: the dataset's predefined train/test split, one model trained
    on the train split and early-stopped on the test split (as Proxy-Anchor style papers do)."""
    inshop_query_gallery: bool = True
    """Traditional split of In-Shop: evaluate query -> gallery; false pools them into one set."""
    fold_scheme: Literal["mlrc", "even"] = "mlrc"
    n_folds: int = 4
    transform: Literal["bninception", "imagenet", "small", "trunk"] = "bninception"
    """``bninception`` (BGR, 0-255, minus (104, 117, 128)), ``imagenet`` (ImageNet mean/std) and
    ``small`` (32-64 px, [-1, 1]) are MLRC's pipelines, kept bitwise; ``trunk``: the same
    geometry as ``imagenet``, normalised with the mean/std of ``model.trunk``'s registration
    (a timm model's pretrained configuration)."""
    resize: int = 256
    resize_before_crop: bool = True
    """Resize before RandomResizedCrop (MLRC); the traditional protocol crops the original."""
    image_size: int = 227
    crop_scale: tuple[float, float] = (0.16, 1.0)
    num_workers: int = 4
    cache_images: bool = False
    """Store each image after the deterministic first steps of the transforms (MLRC: Resize,
    and Resize + CenterCrop for evaluation) once, as uint8 pixels that every process maps into
    memory; batches are bitwise those read from the image files. Not for a training pipeline
    that starts with a random crop of the original (the traditional protocol): its images are
    read from the files."""
    cache_dir: str | None = None
    """Where the image caches go; None: ``$MLRC_CACHE_DIR``, else ``~/.cache/mlrc``."""
    synthetic_classes: int = 100
    synthetic_images_per_class: int = 30
    synthetic_image_size: int = 32
    synthetic_seed: int = 0


@dataclass
class ModelConfig:
    """The trunk and the embedder head."""

    trunk: str = "bninception"
    """A registered trunk (``mlrc models``: bninception, resnet50, small_cnn, plugins') or
    ``timm/<model name>`` with the optional timm package."""
    weights: str = "imagenet"
    """'imagenet' (local file or torch hub cache, never downloaded), a file path, or 'none'."""
    head: Literal["linear", "pool_linear"] = "linear"
    embedding_size: int = 128
    embedder_activation: Literal["none", "relu"] = "none"
    """``relu``: a ReLU after the head's linear layer (the paper's "fully-connected layer with
    ReLU"; non-negative embeddings). ``none``: MLRC's code and the authors' traditional head."""
    freeze_batchnorm: bool = True
    bn_momentum: float = 0.1
    """``momentum`` of the trunk's BatchNorm layers, in PyTorch's convention: the weight of each
    training batch's statistics in the running ones, ``running = (1 - m) running + m batch``
    (0.1, PyTorch's default). Used only where BatchNorm is not frozen."""
    small_cnn_width: int = 32


@dataclass
class TrainingConfig:
    """One training run (fit): optimisation, early stopping and hardware settings."""

    batch_size: int = 32
    batch_sampler: Literal["m_per_class", "random"] = "m_per_class"
    """``m_per_class``: batch / m classes x m images, m by the loss's kind (MLRC);
    ``random``: shuffled images (the traditional protocol's loaders)."""
    optimizer: Literal["rmsprop", "adamw"] = "rmsprop"
    trunk_lr: float = 1e-6
    embedder_lr: float = 1e-6
    momentum: float = 0.9
    weight_decay: float = 1e-4
    loss_weight_decay: float = 1e-4
    iterations_per_epoch: int = 100
    """Mini-batches in an epoch (100 is an MLRC "epoch"); 0: one pass over the training images."""
    eval_every_epochs: int = 2
    patience_epochs: int = 9
    """Stop when (epoch - best_epoch) > patience_epochs, as MLRC does."""
    patience_evaluations: int = 0
    """When > 0, stop instead after this many evaluations without improvement (the traditional
    protocol's patience, done right: its reference code stopped at the first one)."""
    max_epochs: int = 1000
    warmup_epochs: int = 0
    """During warm-up only the embedder and the loss parameters train."""
    lr_step_epochs: int = 0
    """StepLR period in epochs; 0 disables the schedule."""
    lr_gamma: float = 0.5
    grad_clip_value: float = 0.0
    """Clip model gradients to this absolute value; 0 disables clipping."""
    device: str = "auto"
    amp: bool = False
    """bf16 autocast on CUDA (ignored on CPU). MLRC trained and evaluated in fp32."""
    channels_last: bool = False
    """channels_last memory format on CUDA (ignored on CPU): faster convolutions."""
    tf32: bool = False
    """TF32 tensor-core math for fp32 convolutions and matmuls on Ampere or newer GPUs (faster,
    10-bit mantissa). Off: true fp32, as on MLRC's V100s."""
    eval_batch_size: int = 128
    recall_at: list[int] = field(default_factory=list)
    """Also measure Recall@K for these K at every evaluation (the traditional protocol)."""


@dataclass
class SamplerConfig:
    """The Optuna sampler; every setting explicit because library defaults change between
    versions (Optuna 5 changed TPE's)."""

    kind: Literal["tpe", "gp"] = "tpe"
    """``tpe``: Optuna's TPE, random start-up trials. ``gp``: MLRC's design (Ax): the start-up
    trials on a scrambled Sobol sequence, then Optuna's GPSampler (log expected improvement; with
    running trials, q-batch EI over them, so parallel workers do not ask for the same point)."""
    seed: int = 0
    n_startup_trials: int = 10
    n_ei_candidates: int = 24
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
    params_from: str | None = None
    """No study: every loss trains with a published configuration, ``mlrc2020`` (MLRC's
    published optima) or the path of a CSV in that schema (``mlrc run --params-from``)."""
    n_trials: int = 50
    sampler: SamplerConfig = field(default_factory=SamplerConfig)
    pruner: Literal["none", "median", "percentile", "wilcoxon"] = "none"
    """Stop a trial early when its first folds are clearly worse, compared on the same folds
    (benchmark.search.fold_pruners): ``median`` (the mean of its finished folds below the median of
    the completed trials' means over the same folds), ``percentile`` (the same below
    ``pruner_percentile``), ``wilcoxon`` (Optuna's WilcoxonPruner: its fold scores against the
    best trial's, p < ``pruner_p_threshold``), or ``none``. MLRC did not prune."""
    pruner_warmup_folds: int = 1
    """No pruning decision before the trial finished fold index ``pruner_warmup_folds``
    (1: the first decision comes after two folds)."""
    pruner_percentile: float = 50.0
    """``percentile``: prune below this percentile (lower prunes less)."""
    pruner_p_threshold: float = 0.1
    """``wilcoxon``: prune when the one-sided p-value is below this. With 4 folds, n paired folds
    all worse give p = 1/2**n (0.25, 0.125, 0.0625), so 0.1 is reached only after the last fold,
    when nothing is left to save: 0.3 prunes after two folds."""
    heartbeat_interval: int = 60
    """Seconds between a running trial's heartbeats."""
    grace_period: int = 300
    """A running trial with no heartbeat for this many seconds is considered dead."""
    max_retries: int = 3
    """How many times a trial whose worker died is re-queued with the same parameters."""
    diverged_value: float | None = 0.0
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

    repeats: int = 10
    confidence: float = 0.95
    seed_offset: int = 1000
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
