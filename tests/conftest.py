"""Fixtures and paths shared by the test modules."""

from pathlib import Path

import pytest
import torch

# ../shared/data beside the checkout (the real CTR data; never copied into the repo).
SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
# The model= choices as the README documents them (test_models checks the estimator's).
MODEL_NAMES = ["deepfm", "fm", "lr", "dnn", "wide_deep", "fnn", "ipnn", "opnn"]


@pytest.fixture(scope="module")
def one_thread():
    """Tiny networks: threads only add synchronisation, costly on a busy machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
