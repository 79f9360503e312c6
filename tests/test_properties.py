"""Property-based tests: random, messy DataFrames through Pipeline(FieldEncoder, DeepFM).

Every call either works, with codes in range and probabilities finite and in [0, 1],
or raises ValueError or TypeError with a message that names the cause: a column or
the rule that was broken. Nothing else (no torch IndexError or RuntimeError).
"""

import re

import numpy as np
import pandas as pd
import pytest
from conftest import TINY
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sklearn.pipeline import make_pipeline

from sklearn_deepfm import DeepFMClassifier, FieldEncoder

settings.register_profile(
    "sklearn-deepfm-properties",
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
PROFILE = settings.get_profile("sklearn-deepfm-properties")

SMALL = dict(TINY, hidden_layer_sizes=(8,), max_epochs=1, random_state=0)
NAMES = ["site", "ünïcode", "列", "id", "price", "flag", "x y"]
KINDS = ["object", "str", "mixed", "category", "int", "nullable int", "float", "bool", "ids"]
NUMERIC_KINDS = ("int", "nullable int", "float")

MISSING = st.sampled_from([None, np.nan, pd.NA])
TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=4)  # "" too
FLOATS = st.floats(min_value=-1e9, max_value=1e9, allow_nan=False)
# the messages that name a cause without naming a column
RULES = [
    r"y holds only one class",
    r"[Cc]olumn \d+",  # the classifier behind the encoder sees positions, not names
]


def _cells(data, kind, n):
    if kind in ("object", "str", "category"):
        return data.draw(st.lists(st.one_of(TEXT, MISSING), min_size=n, max_size=n))
    if kind == "mixed":
        cell = st.one_of(TEXT, st.integers(-5, 5), FLOATS, st.booleans(), MISSING)
        return data.draw(st.lists(cell, min_size=n, max_size=n))
    if kind == "int":
        return data.draw(st.lists(st.integers(-(2**40), 2**40), min_size=n, max_size=n))
    if kind == "nullable int":
        cell = st.one_of(st.integers(-100, 100), st.none())
        return data.draw(st.lists(cell, min_size=n, max_size=n))
    if kind == "float":
        cell = st.one_of(FLOATS, st.just(np.nan))
        return data.draw(st.lists(cell, min_size=n, max_size=n))
    if kind == "bool":
        return data.draw(st.lists(st.booleans(), min_size=n, max_size=n))
    # ids: one distinct value per row, the highest cardinality there is
    return data.draw(st.lists(st.integers(0, 10**12), min_size=n, max_size=n, unique=True))


def _column(data, kind, n):
    cells = _cells(data, kind, n)
    if kind == "str":
        return pd.Series(cells, dtype="str")
    if kind == "category":
        return pd.Series(pd.Categorical([None if pd.isna(c) else c for c in cells]))
    if kind in ("object", "mixed"):
        return pd.Series(cells, dtype=object)
    if kind == "nullable int":
        return pd.Series(cells, dtype="Int64")
    return pd.Series(cells)


def _frame(data, kinds, n):
    return pd.DataFrame({name: _column(data, kind, n) for name, kind in kinds.items()})


def _assert_names_its_cause(error, frame):
    assert isinstance(error, ValueError | TypeError), repr(error)
    message = str(error)
    named = any(repr(str(name)) in message for name in frame.columns)
    assert named or any(re.search(rule, message) for rule in RULES), message


def _check_codes(encoder, codes, n_rows):
    assert codes.shape == (n_rows, encoder.n_features_in_)
    fields = ~encoder.value_fields_
    assert np.isfinite(codes).all()
    assert (codes[:, fields] >= 0).all()
    assert (codes[:, fields] < encoder.cardinalities_[fields]).all()


def _check_predictions(model, frame):
    proba = model.predict_proba(frame)
    assert proba.shape == (len(frame), 2)
    assert np.isfinite(proba).all()
    assert ((proba >= 0) & (proba <= 1)).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert set(model.predict(frame)) <= set(model.classes_)


@PROFILE
@given(data=st.data())
def test_any_messy_frame_fits_predicts_or_names_its_cause(data):
    n_columns = data.draw(st.integers(1, 4), label="n_columns")
    names = data.draw(st.permutations(NAMES), label="names")[:n_columns]
    kinds = {name: data.draw(st.sampled_from(KINDS), label=name) for name in names}
    n_rows = data.draw(st.integers(1, 40), label="n_rows")
    train = _frame(data, kinds, n_rows)
    y = np.array(data.draw(st.lists(st.booleans(), min_size=n_rows, max_size=n_rows)), dtype=int)
    numeric_encoding = data.draw(st.sampled_from(["quantile", "log_square", "value"]))
    # id columns are integers that must be listed as categorical, with the text columns
    categorical = [name for name, kind in kinds.items() if kind not in NUMERIC_KINDS]
    ids = "ids" in kinds.values()
    encoder = FieldEncoder(
        numeric_encoding=numeric_encoding,
        categorical_features=categorical if ids else "auto",
        min_frequency=data.draw(st.sampled_from([None, 2])),
    )
    model = make_pipeline(encoder, DeepFMClassifier(**SMALL))

    try:
        model.fit(train, y)
    except Exception as error:  # noqa: BLE001 - any error must be a clear one
        # e.g. "value" fields whose standardized values are all integers (see the xfail
        # tests below) are taken for codes by the classifier
        assert len(np.unique(y)) == 2 or "only one class" in str(error), str(error)
        _assert_names_its_cause(error, train)
        event(f"fit: {type(error).__name__}")
        return
    assert len(np.unique(y)) == 2, "fitting on one class should raise"
    _check_codes(model[0], model[0].transform(train), n_rows)
    _check_predictions(model, train)

    # new frames: unseen values, other dtypes now and then, single and duplicated rows
    test_kinds = {
        name: kind if data.draw(st.integers(0, 2)) else data.draw(st.sampled_from(KINDS))
        for name, kind in kinds.items()
    }
    n_test = data.draw(st.integers(1, 20), label="n_test")
    frames = [_frame(data, test_kinds, n_test), train.iloc[[0]], train.iloc[[0, 0, -1, -1]]]
    for frame in frames:
        try:
            codes = model[0].transform(frame)
            _check_codes(model[0], codes, len(frame))
            _check_predictions(model, frame)
            event("new frame: predicted")
        except Exception as error:  # noqa: BLE001 - any error must be a clear one
            _assert_names_its_cause(error, frame)
            event(f"new frame: {type(error).__name__}")


def _codes_with_bad_cells(data, n_rows, n_fields, continuous):
    """Codes 0..5 (column 0 made continuous on request) with up to two bad cells."""
    row = st.lists(st.integers(0, 5), min_size=n_fields, max_size=n_fields)
    X = np.array(data.draw(st.lists(row, min_size=n_rows, max_size=n_rows)), dtype=float)
    if continuous:
        X[:, 0] += 0.5
    for _ in range(data.draw(st.integers(0, 2))):
        bad = data.draw(st.sampled_from([np.nan, np.inf, -np.inf, -1.0, 0.5, 6.0, 1e30, 1e300]))
        X[data.draw(st.integers(0, n_rows - 1)), data.draw(st.integers(0, n_fields - 1))] = bad
    return pd.DataFrame(X, columns=[f"f{i}" for i in range(n_fields)])


@PROFILE
@given(data=st.data())
def test_classifier_given_any_numbers_works_or_names_its_cause(data):
    """Codes and values straight to the classifier: NaN, inf, huge, negative, fractional."""
    n_rows = data.draw(st.integers(2, 30), label="n_rows")
    n_fields = data.draw(st.integers(1, 3), label="n_fields")
    continuous = data.draw(st.booleans(), label="continuous")
    frame = _codes_with_bad_cells(data, n_rows, n_fields, continuous)
    clf = DeepFMClassifier(**SMALL)
    try:
        clf.fit(frame, np.arange(n_rows) % 2)
    except Exception as error:  # noqa: BLE001 - any error must be a clear one
        _assert_names_its_cause(error, frame)
        return
    new = _codes_with_bad_cells(data, data.draw(st.integers(1, 5)), n_fields, continuous)
    try:
        proba = clf.predict_proba(new)
    except Exception as error:  # noqa: BLE001 - any error must be a clear one
        _assert_names_its_cause(error, new)
        return
    assert np.isfinite(proba).all() and ((proba >= 0) & (proba <= 1)).all()


# The classifier takes a column for continuous when it holds a non-integer. A
# FieldEncoder "value" field whose standardized values happen to be integers (a balanced
# 0/1 column gives -1 and 1; a constant column gives 0) is taken for codes instead.
AMBIGUOUS = pytest.mark.xfail(
    strict=True,
    raises=ValueError,
    reason="integral standardized values look like codes to the classifier",
)


@AMBIGUOUS
def test_value_encoding_of_a_balanced_binary_column():
    X = pd.DataFrame({"site": list("abab"), "weekend": [0, 0, 1, 1]})
    model = make_pipeline(FieldEncoder(numeric_encoding="value"), DeepFMClassifier(**SMALL))
    model.fit(X, [0, 1, 0, 1])


@AMBIGUOUS
def test_value_encoding_of_a_column_constant_in_fit():
    X = pd.DataFrame({"site": list("abab"), "price": [2.5] * 4})
    model = make_pipeline(FieldEncoder(numeric_encoding="value"), DeepFMClassifier(**SMALL))
    model.fit(X, [0, 1, 0, 1]).predict(X.assign(price=3.0))
