"""Statistics, tables (md/tex/csv) and figures (png) computed from the tidy result rows.

``write_report`` is what ``mlrc tables`` runs; ``write_run_table`` and ``write_ablation_table``
render a run's own summary table (``table.md``); ``summarize_results`` is the frame every table
is drawn from.
"""

from benchmark.report.stats import MeanWithInterval, compare_with_best, confidence_interval
from benchmark.report.summary import summarize_results
from benchmark.report.table import (
    format_ablation_table,
    format_results_table,
    write_ablation_table,
    write_run_table,
)
from benchmark.report.writer import ReportListing, write_report

__all__ = [
    "MeanWithInterval",
    "ReportListing",
    "compare_with_best",
    "confidence_interval",
    "format_ablation_table",
    "format_results_table",
    "summarize_results",
    "write_ablation_table",
    "write_report",
    "write_run_table",
]
