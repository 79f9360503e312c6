"""Fixtures and paths shared by the test modules."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from sklearn_deepfm.nn import MODELS

# ../shared/data beside the checkout (the real CTR data; never copied into the repo).
SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
# The model= choices: the registry of the model family (test_models checks that the
# estimator accepts and documents each).
MODEL_NAMES = list(MODELS)
# Every way pandas stores a string column, by name: each encoder path must give the same codes.
STRING_STORAGES = {
    "object": object,
    "str": "str",  # Arrow-backed with pyarrow, the pandas 3 default
    "python_str": pd.StringDtype("python", na_value=np.nan),
    "string_python": "string[python]",
    "string_pyarrow": "string[pyarrow]",
    "category": "category",
}


@pytest.fixture(scope="module")
def one_thread():
    """Tiny networks: threads only add synchronisation, costly on a busy machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def module_state(clf):
    """A copy of the fitted network's weights and buffers, by name."""
    return {key: t.clone() for key, t in clf.net_.module_.state_dict().items()}
