"""The models, their data and the helpers that the tables of bad calls share."""

from types import SimpleNamespace

import numpy as np
import pandas as pd
from conftest import TINY
from sklearn.pipeline import make_pipeline

from sklearn_deepfm import DeepFMClassifier, FieldEncoder

SMALL = dict(TINY, hidden_layer_sizes=(8,), max_epochs=1, random_state=0)
N = 200

# name -> (unfitted model, the data it is fitted on)
MODELS = {
    "encoder": (FieldEncoder(), "frame"),
    "classifier": (DeepFMClassifier(**SMALL), "codes"),
    "classifier on a frame": (DeepFMClassifier(**SMALL), "codes_frame"),
    "warm-start classifier": (DeepFMClassifier(warm_start=True, **SMALL), "codes"),
    "early-stopping classifier": (DeepFMClassifier(early_stopping=True, **SMALL), "codes"),
    "batch-norm classifier": (DeepFMClassifier(batch_norm=True, **SMALL), "codes"),
    "pipeline": (make_pipeline(FieldEncoder(), DeepFMClassifier(**SMALL)), "frame"),
}


def _data():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "site": rng.choice(["a.com", "b.org", "c.net"], N),
            "device": pd.Categorical(rng.choice(["phone", "tv"], N)),
            "clicks": rng.integers(0, 50, N),
            "price": np.where(rng.random(N) < 0.1, np.nan, rng.normal(10, 3, N)),
            "promo": rng.random(N) < 0.5,
        }
    )
    # two code fields and one continuous field (column 2)
    codes = np.column_stack([rng.integers(0, 5, N), rng.integers(0, 3, N), rng.normal(size=N)])
    return SimpleNamespace(
        frame=frame,
        codes=codes,
        codes_frame=pd.DataFrame(codes, columns=["a", "b", "c"]),
        y=np.arange(N) % 2,
    )


DATA = _data()


def call(method, *args, **kwargs):
    return method, args, kwargs


def cell(X, row, column, value):
    """Copy of the array ``X`` with one cell replaced (object dtype for a non-number)."""
    X = X.astype(float if isinstance(value, int | float) else object)
    X[row, column] = value
    return X


def frame_cell(frame, column, row, value):
    """Copy of ``frame`` with one cell of ``column`` replaced, the column as object."""
    values = frame[column].astype(object)
    values.iloc[row] = value
    return frame.assign(**{column: values})
