"""The run's summary table (``table.md``, printed by ``mlrc run`` and ``mlrc tables``)."""

from __future__ import annotations

import pandas as pd

from benchmark.report.markdown import table_to_markdown
from benchmark.report.paper_tables import table1
from benchmark.report.summary import summarize_results


def format_results_table(
    rows: pd.DataFrame,
    metrics: tuple[str, ...] = ("map_at_r",),
    confidence: float = 0.95,
) -> str:
    """Table 1 of ``rows`` in Markdown without its title: one row per loss (paper order),
    cells "mean ± CI half-width" in percent, the best in bold, not-worse in italics."""
    document = table1(summarize_results(rows, confidence), tuple(metrics)) if len(rows) else None
    if document is None:
        return "(no results yet)"
    return table_to_markdown(document.tables[0], title=False)
