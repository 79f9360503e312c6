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
# A network small enough that a fit on a few hundred rows takes well under a second; each
# test module adds what it varies, e.g. dict(TINY, max_epochs=3).
TINY = dict(embedding_dim=4, hidden_layer_sizes=(16,), batch_size=64)
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


@pytest.fixture(scope="module")
def frame_with_missing():
    """Raw CTR rows with missing categories (an object column) and missing numbers."""
    from sklearn_deepfm import make_ctr_classification

    X, y = make_ctr_classification(n_samples=600, n_numeric=2, as_frame=True, random_state=1)
    X = X.astype({"C1": object})
    X.loc[::7, "C1"] = None
    X.loc[::11, "I1"] = np.nan
    return X, y


def module_state(clf):
    """A copy of the fitted network's weights and buffers, by name."""
    return {key: t.clone() for key, t in clf.net_.module_.state_dict().items()}


def raw_inputs(session, X):
    """The graph's inputs from a DataFrame: strings with "" for missing, doubles with NaN."""
    feeds = {}
    for spec in session.get_inputs():
        cells = X[spec.name].astype(object).tolist()
        if spec.type == "tensor(string)":
            feeds[spec.name] = np.array(["" if pd.isna(v) else v for v in cells], dtype=object)
        else:
            feeds[spec.name] = np.array([np.nan if pd.isna(v) else v for v in cells], dtype=float)
    return feeds
