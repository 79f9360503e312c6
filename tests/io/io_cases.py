"""Rows and a fitted model that the tests of save, load and export share."""

import functools
import io

import numpy as np
import pandas as pd
from conftest import TINY
from sklearn.pipeline import make_pipeline

from sklearn_deepfm import DeepFMClassifier, FieldEncoder, make_ctr_classification, save

FAST = dict(TINY, max_epochs=2)


def ctr_rows():
    """Return 200 training rows with two numeric columns, their labels, 100 held-out rows."""
    X, y = make_ctr_classification(n_samples=300, n_numeric=2, as_frame=True, random_state=0)
    return X.iloc[:200], y.iloc[:200], X.iloc[200:]


@functools.cache
def saved_pipeline():
    """Return a fitted Pipeline and its model file (bytes), built once: do not change them.

    It has what a file must carry: value fields, string labels, a Platt calibration,
    the early-stopped fit's history and pandas output.
    """
    X, y, _ = ctr_rows()
    model = make_pipeline(
        FieldEncoder(numeric_encoding="value"),
        DeepFMClassifier(early_stopping=True, random_state=0, **FAST),
    ).set_output(transform="pandas")
    model.fit(X, np.where(y == 1, "click", "skip"))
    buffer = io.BytesIO()
    save(model, buffer)
    return model, buffer.getvalue()


def frame_of_every_kind(n, seed, unseen=False):
    """Columns of every kind an encoder meets, missing values included.

    Strings (non-ASCII, with a space, empty), a pandas categorical, booleans, a mix of
    str, int, float and missing, integer ids, floats with inf and NaN, counts and a
    normal float. With ``unseen``, the rows also hold values fit never saw.
    """
    rng = np.random.default_rng(seed)
    mixed = np.array([1, "1", 2.5, "x", None, np.nan, 7], dtype=object)
    frame = pd.DataFrame(
        {
            "site": pd.Series(rng.choice(["a", "b", "c", None], n), dtype="str"),
            "app": pd.Series(rng.choice(["é", "x y", ""], n), dtype=object),
            "device": pd.Categorical(rng.choice(["ios", "android"], n)),
            "is_new": rng.random(n) < 0.3,
            "mixed": mixed[rng.integers(0, len(mixed), n)],
            "user_id": rng.integers(0, 20, n),
            "ratio": rng.choice([0.5, 1.0, np.inf, np.nan], n),
            "clicks": np.where(rng.random(n) < 0.1, np.nan, np.floor(rng.lognormal(1, 1.5, n))),
            "price": rng.normal(10, 3, n),
        }
    )
    if unseen:
        frame.loc[::3, ["site", "app", "mixed", "user_id", "ratio"]] = ["zz", "new", 99, 25, 3.0]
        frame.loc[1::3, ["site", "app", "mixed", "user_id", "ratio", "clicks", "price"]] = None
        frame.loc[2::3, ["user_id", "ratio", "clicks", "price"]] = [-5, 3.0, 1e9, -1e3]
    return frame
