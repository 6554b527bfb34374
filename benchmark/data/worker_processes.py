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
The stop signals are deferred in this process while it forks workers
(:func:`stop_signals_deferred`): a KeyboardInterrupt raised inside a fork's hooks was printed and
lost (the command carried on with the signal ignored), and one raised while the pool started
left workers that no one stopped (the process then hung at exit, joining them).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import sys
import threading
from collections.abc import Callable, Generator, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import resource_sharer
from types import TracebackType
from typing import Any

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGUSR1)
"""Ctrl-C, and what Slurm sends at a time limit, a preemption or a cancel."""


@contextlib.contextmanager
def stop_signals_deferred() -> Iterator[None]:
    """Stop signals that arrive meanwhile are handled as usual when the block ends (in the main
    thread; elsewhere, where Python runs no signal handler, the block changes nothing).

    Blocking the signals in this thread would not do: another thread (OpenBLAS's, say) then
    takes them, and Python still runs the handler in this one, in the middle of the block."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []
    previous = {stop: signal.signal(stop, lambda signum, _: received.append(signum))
                for stop in STOP_SIGNALS}  # fmt: skip
    try:
        yield
    finally:
        for stop, handler in previous.items():
            signal.signal(stop, handler)
        for stop in dict.fromkeys(received):
            signal.raise_signal(stop)


def ignore_stop_signals() -> None:
    """In a worker process: stop signals are ignored (the parent stops its workers)."""
    for stop in STOP_SIGNALS:
        signal.signal(stop, signal.SIG_IGN)


def exit_quietly_on_stop_signals(worker_id: int) -> None:
    """A DataLoader's ``worker_init_fn``: a stop signal ends the worker at once, quietly (exit
    status 0). Torch's own handler lets a SIGTERM from anyone but the parent kill the worker,
    and the parent then raised "DataLoader worker ... is killed by signal" while it stopped; a
    worker that ignored the signal would hang the exit of a process that dies of an exception,
    whose ``multiprocessing`` cleanup terminates and joins every daemonic child."""
    for stop in STOP_SIGNALS:
        signal.signal(stop, _exit_quietly)
    sys.excepthook = _quiet_when_the_receiver_left(sys.excepthook)


def _exit_quietly(signum: int, frame: object) -> None:
    os._exit(0)


ExceptHook = Callable[[type[BaseException], BaseException, TracebackType | None], Any]


def _quiet_when_the_receiver_left(hook: ExceptHook) -> ExceptHook:
    """``hook``, silent for one exception: a batch's tensors leave a worker through
    ``multiprocessing``'s resource sharer, a thread that prints every error through
    ``sys.excepthook``. When the parent stops (its own stop signal) while it takes a batch, it
    drops the connection mid-handshake, and that thread printed an ``EOFError`` traceback
    before the worker's own signal handler could end it. The parent reports its stop itself."""

    def excepthook(
        kind: type[BaseException], value: BaseException, traceback: TracebackType | None
    ) -> Any:
        if issubclass(kind, (EOFError, ConnectionError)) and _raised_by_the_sharer(traceback):
            return None
        return hook(kind, value, traceback)

    return excepthook


def _raised_by_the_sharer(traceback: TracebackType | None) -> bool:
    return traceback is not None and traceback.tb_frame.f_code.co_filename == (
        resource_sharer.__file__
    )


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
) -> Generator[Any, None, None]:
    """``function(item)`` for every item, in order, computed by ``workers`` processes (each
    started with ``initializer(*initargs)``). Closing the iterator (or a KeyboardInterrupt while
    it waits) cancels the chunks that have not started and waits for those that have."""
    context = multiprocessing.get_context()
    pool = None
    try:
        with stop_signals_deferred():  # the workers are forked while the tasks are submitted
            pool = ProcessPoolExecutor(
                workers, context, initializer=_start_worker, initargs=(initializer, initargs)
            )
            results = pool.map(function, items, chunksize=chunksize)
        yield from results
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
