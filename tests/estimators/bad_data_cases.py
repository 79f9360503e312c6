"""Bad calls for X: its columns, dtypes, infinities, missing values and emptiness."""

import numpy as np
import pandas as pd
import scipy.sparse as sp
from validation_cases import DATA, N, call, cell, frame_cell

d = DATA
# (description, model, bad call, error, message)
DATA_CASES = [
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
]
