"""Experiment trackers as plugins: ``--tracker mlflow | tensorboard | wandb`` (or your own).

Every fold training of a run is logged as a tracked run nested under its trial (or under its
loss's retrain run): its parameters, the validation curve at every evaluation, and at its end
the best iteration and wall time. A tracker that fails never fails a training (one warning,
the work goes on), and changes no computed number. A tracker of your own is a class with the
four methods of :class:`Tracker` and a factory registered with :func:`register_tracker` in a
plugin file (``mlrc --plugin my_tracker.py run --tracker mine``)::

    from benchmark.tracking import TrackerTarget, register_tracker

    class PrintTracker:
        def start_run(self, run): print("start", run.key)
        def log_metrics(self, run, metrics, step): print(run.key, step, metrics)
        def end_run(self, run, status, summary): print("end", run.key, status, summary)
        def close(self): pass

    @register_tracker("print")
    def build_print_tracker(target: TrackerTarget) -> PrintTracker:
        return PrintTracker()
"""

from benchmark._lazy import lazy_exports

__all__, __getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "tracker": (
            "FAILED",
            "FINISHED",
            "KILLED",
            "PRUNED",
            "RunStatus",
            "TrackedRun",
            "Tracker",
            "TrackerTarget",
        ),
        "registry": ("register_tracker", "tracker_names"),
        "settings": ("TrackerRequest", "TrackerSettings"),
        "guarded_tracker": ("open_tracker",),
        "run_log": ("RunLog", "tracked_run"),
    },
)
