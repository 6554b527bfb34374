import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from benchmark.data.worker_processes import stop_signals_deferred


@pytest.fixture
def interruptible():
    """Ctrl-C raises KeyboardInterrupt, as in a terminal: a process started in the background
    by a shell (``cmd &``) inherits SIGINT ignored, and the block then rightly ignores it too."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def test_a_stop_signal_inside_the_deferred_block_interrupts_only_when_it_ends(interruptible):
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


SHARER_DROPPED_MID_HANDSHAKE = """
import socket, sys, time
from multiprocessing import resource_sharer
from benchmark.data.worker_processes import exit_quietly_on_stop_signals
if sys.argv[1] == "worker":
    exit_quietly_on_stop_signals(0)
shared = resource_sharer.DupFd(0)  # a batch's storage, as a loader worker shares it
address, _ = shared._id
receiver = socket.socket(socket.AF_UNIX)
receiver.connect(address)
receiver.close()  # the parent stopped while it took the batch
time.sleep(0.5)  # time for the sharer thread to fail and print
"""


@pytest.mark.parametrize("process", ["worker", "plain"])
def test_a_parent_that_stops_mid_batch_leaves_no_traceback_in_a_loader_worker(process):
    """A loader worker (its ``worker_init_fn`` run) prints nothing when the receiving end of a
    shared batch goes away mid-handshake; a plain process shows that the case is real: Python
    prints the sharer thread's traceback (the CI failure this guards against)."""
    printed = subprocess.run(
        [sys.executable, "-c", SHARER_DROPPED_MID_HANDSHAKE, process],
        capture_output=True, text=True, timeout=60, check=True,
    ).stderr  # fmt: skip
    if process == "worker":
        assert printed == ""
    else:
        assert "Traceback" in printed and "resource_sharer.py" in printed
