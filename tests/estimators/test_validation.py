"""Hostile input through the public API: every bad call raises a clear error.

One table: each row names the bad input, the model it goes to, the call, and the
error (type and message) the user must see. The message names the column, the
value or the rule; no torch IndexError or RuntimeError may reach the user.
"""

import copy
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.pipeline import make_pipeline

from sklearn_deepfm import DeepFMClassifier, FieldEncoder

SMALL = dict(embedding_dim=4, hidden_layer_sizes=(8,), max_epochs=1, batch_size=64, random_state=0)
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


d = DATA
# (description, model, bad call, error, message)
CASES = [
    # -- columns: missing, extra, reordered, renamed, repeated, too few or many ---------
    (
        "missing column at predict, pipeline",
        "pipeline",
        call("predict_proba", d.frame.drop(columns="price")),
        ValueError,
        r"X lacks the column\(s\) \['price'\]",
    ),
    (
        "missing column at transform, encoder",
        "encoder",
        call("transform", d.frame.drop(columns=["site", "promo"])),
        ValueError,
        r"X lacks the column\(s\) \['site', 'promo'\]",
    ),
    (
        "repeated column at predict, pipeline",
        "pipeline",
        call("predict", pd.concat([d.frame, d.frame[["site"]]], axis=1)),
        ValueError,
        r"Expected unique column names, got:\n- 'site' 2 times",
    ),
    (
        "missing column at predict, classifier",
        "classifier on a frame",
        call("predict", d.codes_frame.drop(columns="b")),
        ValueError,
        r"Feature names seen at fit time, yet now missing:\n- b",
    ),
    (
        "extra column at predict, classifier (only FieldEncoder ignores extras)",
        "classifier on a frame",
        call("predict", d.codes_frame.assign(extra=1)),
        ValueError,
        r"Feature names unseen at fit time:\n- extra",
    ),
    (
        "reordered columns at predict, classifier",
        "classifier on a frame",
        call("predict", d.codes_frame[["b", "a", "c"]]),
        ValueError,
        r"must be in the same order as they were in fit",
    ),
    (
        "fewer fields at predict than at fit, classifier",
        "classifier",
        call("predict_proba", d.codes[:, :2]),
        ValueError,
        r"X has 2 features, but DeepFMClassifier is expecting 3 features",
    ),
    (
        "more fields at predict than at fit, classifier",
        "classifier",
        call("decision_function", np.hstack([d.codes, d.codes])),
        ValueError,
        r"X has 6 features, but DeepFMClassifier is expecting 3 features",
    ),
    (
        "wrong number of columns, encoder on an array",
        "encoder",
        call("transform", d.frame.to_numpy()[:, :3]),
        ValueError,
        r"X has 3 features, but FieldEncoder is expecting 5 features",
    ),
    (
        "no columns at fit, classifier",
        "classifier",
        call("fit", d.codes[:, :0], d.y),
        ValueError,
        r"0 feature\(s\)",
    ),
    # -- dtypes -------------------------------------------------------------------------
    (
        "string in a column fitted as numeric, pipeline",
        "pipeline",
        call("predict", frame_cell(d.frame, "clicks", 4, "many")),
        ValueError,
        r"column 'clicks' is numeric but holds the non-numeric value 'many'",
    ),
    (
        "raw string column given to the classifier",
        "classifier on a frame",
        call("fit", d.codes_frame.assign(b=np.where(d.y, "x", "z")), d.y),
        ValueError,
        r"column 1 \('b'\) holds 'z' at row 0 \(could not convert.*\)\. Encode raw columns with "
        r"FieldEncoder",
    ),
    (
        "string code at predict, classifier",
        "classifier",
        call("predict", cell(d.codes, 3, 0, "a")),
        ValueError,
        r"column 0 holds 'a' at row 3",
    ),
    (
        "None (a missing value) in an object array, classifier",
        "classifier",
        call("predict", cell(d.codes, 2, 1, None)),
        ValueError,
        r"column 1 holds NaN at row 2",
    ),
    (
        "dict cell, classifier",
        "classifier",
        call("predict", cell(d.codes, 2, 1, {"a": 1})),
        TypeError,
        r"column 1 holds \{'a': 1\} at row 2 \(float\(\) argument must be",
    ),
    (
        "category column of strings given to the classifier",
        "classifier",
        call("fit", d.frame[["device"]], d.y),
        ValueError,
        r"column 0 \('device'\) holds '(phone|tv)' at row 0",
    ),
    (
        "datetime column, pipeline",
        "pipeline",
        call("fit", d.frame.assign(when=pd.Timestamp("2024-01-01")), d.y),
        TypeError,
        r"column 'when' has dtype datetime64.*neither categorical nor numeric",
    ),
    (
        "unhashable cell, pipeline",
        "pipeline",
        call("fit", frame_cell(d.frame, "site", 7, ["a", "b"]), d.y),
        TypeError,
        r"column 'site' holds the unhashable value \['a', 'b'\]",
    ),
    (
        "sparse matrix, classifier",
        "classifier",
        call("fit", sp.csr_matrix(d.codes), d.y),
        TypeError,
        r"Sparse data was passed",
    ),
    # -- infinities and numbers beyond float32 ------------------------------------------
    (
        "inf in a numeric column at predict, pipeline",
        "pipeline",
        call("predict_proba", d.frame.assign(price=np.inf)),
        ValueError,
        r"column 'price' must be finite but holds inf",
    ),
    (
        "-inf in a numeric column at fit, pipeline",
        "pipeline",
        call("fit", d.frame.assign(price=np.where(np.arange(N) == 9, -np.inf, 1.0)), d.y),
        ValueError,
        r"column 'price' must be finite but holds -inf \(row 9\)",
    ),
    (
        "inf at fit, classifier",
        "classifier",
        call("fit", cell(d.codes, 5, 2, np.inf), d.y),
        ValueError,
        r"must be finite.*column 2 holds inf at row 5",
    ),
    (
        "-inf in a continuous field at predict, classifier",
        "classifier on a frame",
        call("predict", d.codes_frame.assign(c=-np.inf)),
        ValueError,
        r"column 2 \('c'\) holds -inf at row 0",
    ),
    (
        "number beyond float32 in a continuous field, classifier",
        "classifier",
        call("predict_proba", cell(d.codes, 1, 2, 1e300)),
        ValueError,
        r"within float32's range.*column 2 holds 1e\+300 at row 1",
    ),
    (
        "continuous value that overflows inside the network, classifier",
        "classifier",
        call("predict_proba", cell(d.codes, 0, 2, 1e30)),
        ValueError,
        r"output is NaN for row 0: .*overflow float32.*column 2 holds 1e\+30",
    ),
    # -- missing values -----------------------------------------------------------------
    (
        "NaN at fit, classifier",
        "classifier",
        call("fit", cell(d.codes, 3, 1, np.nan), d.y),
        ValueError,
        r"column 1 holds NaN at row 3\. Encode the raw data with FieldEncoder",
    ),
    (
        "NaN at predict, classifier on a frame",
        "classifier on a frame",
        call("predict", d.codes_frame.assign(b=np.nan)),
        ValueError,
        r"column 1 \('b'\) holds NaN at row 0",
    ),
    (
        "pd.NA in a nullable integer column, classifier on a frame",
        "classifier on a frame",
        call("predict", d.codes_frame.assign(a=pd.array([pd.NA] * N, dtype="Int64"))),
        ValueError,
        r"column 0 \('a'\) holds NaN at row 0",
    ),
    # -- empty data -----------------------------------------------------------------------
    (
        "empty DataFrame at fit, pipeline",
        "pipeline",
        call("fit", d.frame.iloc[:0], d.y[:0]),
        ValueError,
        r"FieldEncoder needs at least 1 row and 1 column to fit",
    ),
    (
        "empty DataFrame at predict, pipeline",
        "pipeline",
        call("predict_proba", d.frame.iloc[:0]),
        ValueError,
        r"0 sample\(s\) \(shape=\(0, 5\)\) while a minimum of 1 is required by DeepFMClassifier",
    ),
    (
        "DataFrame without columns at fit, encoder",
        "encoder",
        call("fit", pd.DataFrame(index=range(3))),
        ValueError,
        r"needs at least 1 row and 1 column",
    ),
    (
        "empty array at fit, classifier",
        "classifier",
        call("fit", d.codes[:0], d.y[:0]),
        ValueError,
        r"0 sample\(s\)",
    ),
    (
        "empty array at predict, classifier",
        "classifier",
        call("predict", d.codes[:0]),
        ValueError,
        r"0 sample\(s\)",
    ),
    # -- codes given straight to the classifier -------------------------------------------
    (
        "negative code at fit, classifier",
        "classifier",
        call("fit", cell(d.codes, 8, 0, -1), d.y),
        ValueError,
        r"non-negative integers, but column 0 holds -1",
    ),
    (
        "negative code at predict, classifier",
        "classifier",
        call("predict", cell(d.codes, 1, 0, -1)),
        ValueError,
        r"Column 0 holds -1 at row 1, but its codes must be integers in \[0, 5\)",
    ),
    (
        "code beyond the fitted cardinality at predict, classifier on a frame",
        "classifier on a frame",
        call("predict", d.codes_frame.assign(b=999.0)),
        ValueError,
        r"Column 1 \('b'\) holds 999 at row 0, but its codes must be integers in \[0, 3\)",
    ),
    (
        "fractional code at predict, classifier",
        "classifier",
        call("predict", cell(d.codes, 0, 1, 2.5)),
        ValueError,
        r"Column 1 holds 2\.5 at row 0",
    ),
    (
        "raw ids as codes (a table too large for memory), classifier",
        "classifier",
        call("fit", cell(d.codes, 6, 1, 2.0**45), d.y),
        ValueError,
        r"index rows of an embedding table.*column 1 holds the code 3\.5\d*e\+13",
    ),
    # -- labels ---------------------------------------------------------------------------
    (
        "one class only, pipeline",
        "pipeline",
        call("fit", d.frame, np.ones(N)),
        ValueError,
        r"y holds only one class.*Got only 1\.0",
    ),
    (
        "three classes, classifier",
        "classifier",
        call("fit", d.codes, np.arange(N) % 3),
        ValueError,
        r"Only binary classification is supported.*Got 3 \(multiclass\)",
    ),
    (
        "continuous labels, classifier",
        "classifier",
        call("fit", d.codes, np.linspace(0, 1, N)),
        ValueError,
        r"Unknown label type: continuous",
    ),
    (
        "NaN label, classifier",
        "classifier",
        call("fit", d.codes, np.where(d.y, 1.0, np.nan)),
        ValueError,
        r"Input y contains NaN",
    ),
    (
        "fewer labels than rows, classifier",
        "classifier",
        call("fit", d.codes, d.y[:10]),
        ValueError,
        r"inconsistent numbers of samples: \[200, 10\]",
    ),
    # -- sample weights -------------------------------------------------------------------
    (
        "sample_weight of the wrong length, classifier",
        "classifier",
        call("fit", d.codes, d.y, sample_weight=np.ones(5)),
        ValueError,
        r"sample_weight\.shape == \(5,\), expected \(200,\)",
    ),
    (
        "negative sample_weight, classifier",
        "classifier",
        call("fit", d.codes, d.y, sample_weight=np.r_[-1.0, np.ones(N - 1)]),
        ValueError,
        r"Negative values in data passed to `sample_weight`",
    ),
    (
        "all-zero sample_weight, classifier",
        "classifier",
        call("fit", d.codes, d.y, sample_weight=np.zeros(N)),
        ValueError,
        r"at least one non-zero",
    ),
    (
        "NaN sample_weight, pipeline",
        "pipeline",
        call("fit", d.frame, d.y, deepfmclassifier__sample_weight=np.full(N, np.nan)),
        ValueError,
        r"Input sample_weight contains NaN",
    ),
    # -- continued training ---------------------------------------------------------------
    (
        "partial_fit with a label outside classes_",
        "classifier",
        call("partial_fit", d.codes, np.where(d.y, "click", "skip")),
        ValueError,
        r"y holds the label '(click|skip)', which is not among classes_=\[0, 1\]",
    ),
    (
        "partial_fit with other classes",
        "classifier",
        call("partial_fit", d.codes, d.y, classes=[0, 2]),
        ValueError,
        r"classes=\[0, 2\] differs from classes_=\[0, 1\]",
    ),
    (
        "partial_fit with fewer fields",
        "classifier",
        call("partial_fit", d.codes[:, :2], d.y),
        ValueError,
        r"X has 2 features, but DeepFMClassifier is expecting 3 features",
    ),
    (
        "partial_fit with a code beyond the fitted cardinality",
        "classifier",
        call("partial_fit", cell(d.codes, 4, 0, 5), d.y),
        ValueError,
        r"Column 0 holds 5 at row 4, but its codes must be integers in \[0, 5\)",
    ),
    (
        "partial_fit on a single row with batch normalisation",
        "batch-norm classifier",
        call("partial_fit", d.codes[:1], d.y[:1]),
        ValueError,
        r"Batch normalisation cannot train on a single row",
    ),
    (
        "first partial_fit with one class and no classes",
        "classifier",
        call("first partial_fit", d.codes, np.zeros(N)),
        ValueError,
        r"only one class.*Pass both labels as classes",
    ),
    (
        "first partial_fit with three classes",
        "classifier",
        call("first partial_fit", d.codes, d.y, classes=[0, 1, 2]),
        ValueError,
        r"Only binary classification is supported",
    ),
    (
        "first partial_fit with labels outside the given classes",
        "classifier",
        call("first partial_fit", d.codes, d.y, classes=["a", "b"]),
        ValueError,
        r"y holds the label [01], which is not among classes_=\['a', 'b'\]",
    ),
    (
        "warm-start fit with a new label",
        "warm-start classifier",
        call("fit", d.codes, np.where(d.y, 1, 2)),
        ValueError,
        r"y holds the label 2, which is not among classes_=\[0, 1\]",
    ),
    (
        "warm-start fit with a code beyond the fitted cardinality",
        "warm-start classifier",
        call("fit", cell(d.codes, 0, 1, 7), d.y),
        ValueError,
        r"Column 1 holds 7 at row 0, but its codes must be integers in \[0, 3\)",
    ),
    (
        "early stopping on too few rows to split",
        "early-stopping classifier",
        call("fit", d.codes[:4], d.y[:4]),
        ValueError,
        r"validation split of validation_fraction=0\.1 of the 4 rows.*early_stopping=False",
    ),
]


@pytest.fixture(scope="module")
def fitted():
    """Each model of MODELS fitted once on its data, built when first asked for."""
    cache = {}

    def get(name):
        if name not in cache:
            model, data = MODELS[name]
            cache[name] = clone(model).fit(getattr(DATA, data), DATA.y)
        return cache[name]

    return get


@pytest.mark.filterwarnings("ignore:X does not have valid feature names")
@pytest.mark.parametrize(
    "description, model, bad_call, error, match", CASES, ids=[case[0] for case in CASES]
)
def test_bad_input_raises_a_clear_error(description, model, bad_call, error, match, fitted):
    method, args, kwargs = bad_call
    if method == "first partial_fit":
        estimator, method = clone(MODELS[model][0]), "partial_fit"
    elif method == "fit" and not getattr(MODELS[model][0], "warm_start", False):
        estimator = clone(MODELS[model][0])
    else:  # a copy, so that a call that wrongly succeeds cannot change the shared model
        estimator = copy.deepcopy(fitted(model))
    with pytest.raises(error, match=match):
        getattr(estimator, method)(*args, **kwargs)
