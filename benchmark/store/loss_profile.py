"""The columns of the loss profile CSV, owned here once: ``mlrc profile losses --csv FILE``
writes them (:mod:`benchmark.profiling.loss_speed`), ``mlrc tables --runtime FILE`` reads them
(:mod:`benchmark.report.runtime_table`). One row per loss, batch size and class count."""

PROFILE_COLUMNS = (
    "loss",
    "batch_size",
    "num_classes",
    "embedding_size",
    "device",
    "status",
    "time_ms",
    "peak_memory_mb",
    "value",
    "time_vs_proxy_anchor",
    "memory_vs_proxy_anchor",
    "time_vs_direct_cxc",
    "memory_vs_direct_cxc",
    "value_rel_diff_vs_direct_cxc",
)
"""Every column the profiler writes, in its order."""
PROFILE_OPTIONAL = (
    "value",
    "time_vs_direct_cxc",
    "memory_vs_direct_cxc",
    "value_rel_diff_vs_direct_cxc",
)
"""Columns the runtime tables do not read (the value and mfcwms's comparison with C x C)."""
PROFILE_REQUIRED = tuple(column for column in PROFILE_COLUMNS if column not in PROFILE_OPTIONAL)
"""The columns the runtime tables read: a file without one of them is refused."""
