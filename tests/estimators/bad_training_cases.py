"""Bad calls for training: codes, labels, sample weights and continued training."""

import numpy as np
from validation_cases import DATA, N, call, cell

d = DATA
# (description, model, bad call, error, message)
TRAINING_CASES = [
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
    (  # a code beyond the fitted cardinality grows the field (test_growing_tables.py)
        "partial_fit with a negative code",
        "classifier",
        call("partial_fit", cell(d.codes, 4, 0, -1), d.y),
        ValueError,
        r"Column 0 holds -1 at row 4, but its codes must be non-negative integers",
    ),
    (
        "partial_fit with raw ids as codes (a table too large for memory)",
        "classifier",
        call("partial_fit", cell(d.codes, 6, 1, 2.0**45), d.y),
        ValueError,
        r"index rows of an embedding table.*column 1 holds the code 3\.5\d*e\+13",
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
        "warm-start fit with a fractional code beyond the fitted cardinality",
        "warm-start classifier",
        call("fit", cell(d.codes, 0, 1, 7.5), d.y),
        ValueError,
        r"Column 1 holds 7\.5 at row 0, but its codes must be non-negative integers \(a larger",
    ),
    (
        "early stopping on too few rows to split",
        "early-stopping classifier",
        call("fit", d.codes[:4], d.y[:4]),
        ValueError,
        r"validation split of validation_fraction=0\.1 of the 4 rows.*early_stopping=False",
    ),
]
