"""Statistics and tables computed from the tidy result rows."""

from benchmark.report.stats import MeanWithInterval, confidence_interval
from benchmark.report.table import format_results_table

__all__ = ["MeanWithInterval", "confidence_interval", "format_results_table"]
