"""Statistics, tables (md/tex/csv) and figures (png) computed from the tidy result rows.

``write_report`` is what ``mlrc tables`` runs; ``format_results_table`` is the run's own
summary table (``table.md``); ``summarize_results`` is the frame every table is drawn from.
"""

from benchmark.report.report import ReportListing, write_report
from benchmark.report.stats import MeanWithInterval, compare_with_best, confidence_interval
from benchmark.report.summary import summarize_results
from benchmark.report.table import format_ablation_table, format_results_table

__all__ = [
    "MeanWithInterval",
    "ReportListing",
    "compare_with_best",
    "confidence_interval",
    "format_ablation_table",
    "format_results_table",
    "summarize_results",
    "write_report",
]
