"""``mlrc profile ...``: benchmarks that print ratios against a baseline measured in the same run."""

from benchmark.profiling.loss_speed import profile_losses
from benchmark.profiling.loss_speed_table import format_profile_table, write_profile_csv
from benchmark.profiling.train import TrainProfileOptions, profile_training
from benchmark.profiling.train_profile import TrainProfile
from benchmark.profiling.train_report import (
    format_train_profile,
    train_profile_rows,
    write_train_profile_csv,
)

__all__ = [
    "TrainProfile",
    "TrainProfileOptions",
    "format_profile_table",
    "format_train_profile",
    "profile_losses",
    "profile_training",
    "train_profile_rows",
    "write_profile_csv",
    "write_train_profile_csv",
]
