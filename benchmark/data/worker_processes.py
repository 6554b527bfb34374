"""Worker processes that a stop signal ends cleanly: a process pool's and a DataLoader's.

``mlrc`` turns SIGTERM and SIGUSR1 (a Slurm time limit, preemption or cancel) into a
KeyboardInterrupt in its own process (:func:`benchmark.cli.main`). A pool's workers must not
inherit that handler: each printed a KeyboardInterrupt traceback, and one that outlived it
ignored the pool's own SIGTERM, so that ``multiprocessing.Pool.terminate()`` waited for it
forever (``mlrc data cache`` hung after its last image). Nor may the workers die of the signal:
a worker killed while it holds a queue's lock makes ``Pool.terminate()`` wait forever too, and
Python 3.11's ``ProcessPoolExecutor`` prints an ``InvalidStateError`` traceback when it tears
down a pool whose workers died.

So the workers ignore the stop signals, and the process that started them, which gets the same
signals, stops them: its KeyboardInterrupt closes :func:`ordered_map`, which cancels what has not
started and lets each worker finish its current chunk. (A DataLoader's workers, whose shutdown
relies on SIGTERM, exit quietly on a stop signal instead: :func:`exit_quietly_on_stop_signals`.)
The stop signals are held back in this process while it forks workers
(:func:`stop_signals_held`): a KeyboardInterrupt raised inside a fork's hooks would be printed and
lost, and the command would carry on with the signal ignored.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from typing import Any

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGUSR1)
"""Ctrl-C, and what Slurm sends at a time limit, a preemption or a cancel."""


@contextlib.contextmanager
def stop_signals_held() -> Iterator[None]:
    """Stop signals that arrive meanwhile are delivered when the block ends (in this thread)."""
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def ignore_stop_signals() -> None:
    """In a worker process: stop signals are ignored (the parent stops its workers)."""
    for stop in STOP_SIGNALS:
        signal.signal(stop, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)


def exit_quietly_on_stop_signals(worker_id: int) -> None:
    """A DataLoader's ``worker_init_fn``: a stop signal ends the worker at once, quietly (exit
    status 0). Torch's own handler lets a SIGTERM from anyone but the parent kill the worker,
    and the parent then raised "DataLoader worker ... is killed by signal" while it stopped; a
    worker that ignored the signal would hang the exit of a process that dies of an exception,
    whose ``multiprocessing`` cleanup terminates and joins every daemonic child."""
    for stop in STOP_SIGNALS:
        signal.signal(stop, _exit_quietly)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)


def _exit_quietly(signum: int, frame: object) -> None:
    os._exit(0)


def _start_worker(initializer: Callable[..., None] | None, initargs: tuple) -> None:
    ignore_stop_signals()
    if initializer is not None:
        initializer(*initargs)


def ordered_map(
    function: Callable[[Any], Any],
    items: Iterable[Any],
    workers: int,
    initializer: Callable[..., None] | None = None,
    initargs: tuple = (),
    chunksize: int = 4,
) -> Iterator[Any]:
    """``function(item)`` for every item, in order, computed by ``workers`` processes (each
    started with ``initializer(*initargs)``). Closing the iterator (or a KeyboardInterrupt while
    it waits) cancels the chunks that have not started and waits for those that have."""
    context = multiprocessing.get_context()
    pool = ProcessPoolExecutor(
        workers, context, initializer=_start_worker, initargs=(initializer, initargs)
    )
    try:
        with stop_signals_held():  # the workers are forked while the tasks are submitted
            results = pool.map(function, items, chunksize=chunksize)
        yield from results
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
