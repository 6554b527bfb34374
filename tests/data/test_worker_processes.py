import os
import signal
import threading
import time

import pytest

from benchmark.data.worker_processes import stop_signals_deferred


def test_a_stop_signal_inside_the_deferred_block_interrupts_only_when_it_ends():
    """Another thread that could take the signal runs meanwhile (as OpenBLAS's threads do):
    the block still runs to its end, and the KeyboardInterrupt comes after it."""
    release = threading.Event()
    bystander = threading.Thread(target=release.wait, daemon=True)
    bystander.start()
    finished_block = False
    try:
        with pytest.raises(KeyboardInterrupt), stop_signals_deferred():
            os.kill(os.getpid(), signal.SIGINT)
            for _ in range(100):  # time and bytecodes for a handler to run, if it were
                time.sleep(0.001)
            finished_block = True
    finally:
        release.set()
    assert finished_block
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_the_block_restores_the_handlers_it_found():
    def on_term(signum, frame):
        raise AssertionError("no SIGTERM was sent")

    previous = signal.signal(signal.SIGTERM, on_term)
    try:
        with stop_signals_deferred():
            assert signal.getsignal(signal.SIGTERM) is not on_term
        assert signal.getsignal(signal.SIGTERM) is on_term
    finally:
        signal.signal(signal.SIGTERM, previous)
