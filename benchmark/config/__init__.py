"""Typed, validated protocol configuration read from ``protocols/<name>.yaml``.

A protocol file has the sections ``data``, ``model``, ``training``, ``study`` and ``retrain``
(each a dataclass below) and an optional ``datasets`` mapping of per-dataset overrides, e.g.::

    training: {eval_every_epochs: 2, patience_epochs: 9}
    datasets:
      cars196: {training: {eval_every_epochs: 5, patience_epochs: 14}}

Values are resolved in this order: the dataclass defaults, the protocol file, the protocol's
``datasets.<dataset>`` overrides, then command-line ``--set section.key=value`` overrides.
Unknown keys and ill-typed values raise :class:`~benchmark.errors.ConfigError` naming the file
and the key.
"""

from benchmark.config.files import (
    PROJECT_ROOT,
    PROTOCOLS_DIR,
    available_protocols,
    protocol_path,
    read_yaml,
    shipped_data_dir,
)
from benchmark.config.loading import coerce_value, load_protocol, protocol_from_dict
from benchmark.config.sections import (
    MAX_FOLDS,
    DataConfig,
    ModelConfig,
    ProtocolConfig,
    RetrainConfig,
    SamplerConfig,
    StudyConfig,
    TrainingConfig,
)

__all__ = [
    "MAX_FOLDS",
    "PROJECT_ROOT",
    "PROTOCOLS_DIR",
    "DataConfig",
    "ModelConfig",
    "ProtocolConfig",
    "RetrainConfig",
    "SamplerConfig",
    "StudyConfig",
    "TrainingConfig",
    "available_protocols",
    "coerce_value",
    "load_protocol",
    "protocol_from_dict",
    "protocol_path",
    "read_yaml",
    "shipped_data_dir",
]
