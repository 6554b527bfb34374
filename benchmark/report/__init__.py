"""Statistics, tables (md/tex/csv) and figures (png) computed from the tidy result rows.

``write_report`` is what ``mlrc tables`` runs; ``write_run_table`` and ``write_ablation_table``
render a run's own summary table (``table.md``); ``summarize_results`` is the frame every table
is drawn from.
"""

from benchmark._lazy import lazy_exports

__all__, __getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "stats": ("MeanWithInterval", "compare_with_best", "confidence_interval"),
        "summary": ("summarize_results",),
        "table": (
            "format_ablation_table",
            "format_results_table",
            "write_ablation_table",
            "write_run_table",
        ),
        "writer": ("ReportListing", "write_report"),
    },
)
