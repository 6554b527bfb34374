"""Engine tests run single-threaded: on a shared 2-core machine, torch's intra-op threads
oversubscribe the cores and make the small networks of these tests 10x slower."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(autouse=True)
def single_torch_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
