"""``mlrc profile ...``: benchmarks that print ratios against a baseline measured in the same run."""

from benchmark.profiling.losses import format_profile_table, profile_losses, write_profile_csv

__all__ = ["format_profile_table", "profile_losses", "write_profile_csv"]
