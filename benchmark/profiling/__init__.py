"""``mlrc profile ...``: benchmarks that print ratios against a baseline measured in the same run."""

from benchmark.profiling.loss_speed import format_profile_table, profile_losses, write_profile_csv
from benchmark.profiling.train import TrainProfileOptions, profile_training
from benchmark.profiling.train_report import (
    TrainProfile,
    format_train_profile,
    write_train_profile_csv,
)

__all__ = [
    "TrainProfile",
    "TrainProfileOptions",
    "format_profile_table",
    "format_train_profile",
    "profile_losses",
    "profile_training",
    "write_profile_csv",
    "write_train_profile_csv",
]
