"""Shared test set-up.

One torch thread per test process: these machines have two cores and other
work shares them; oversubscription makes a training step many times slower.
"""

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MPLBACKEND", "Agg")

try:
    import torch

    torch.set_num_threads(1)
except ImportError:  # pragma: no cover - torch is a hard dependency
    pass


import pytest  # noqa: E402


@pytest.fixture(scope="session")
def smoke_book(tmp_path_factory):
    """One temporary home for the smoke book, shared by the tests that execute, build and open it.

    Returns ``(tmp, env)``: ``env`` points ``HWR_RESULTS`` and ``HWR_BUILD_ROOT`` into ``tmp``, so a
    reader's ``results/`` and ``_build/`` stay as they were. Sharing it lets the browser test open the
    book that ``test_book.py`` executed and built instead of executing every chapter a second time
    (a quarter of an hour on two cores).
    """
    tmp = tmp_path_factory.mktemp("smoke-book")
    env = dict(os.environ, HWR_RESULTS=str(tmp / "results"), HWR_BUILD_ROOT=str(tmp),
               OMP_WAIT_POLICY="PASSIVE", MPLBACKEND="Agg")
    return tmp, env
