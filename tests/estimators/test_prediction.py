"""Prediction's fast paths give what the module's own forward gives.

Prediction runs the module in large batches without autograd, on integer codes used
without a copy; one-row requests take the encoder's dict look-ups. Each is checked
against a plain reference: the fitted module's forward on every row at once.
"""

import numpy as np
import pytest
import torch
from conftest import TINY
from scipy.special import expit
from sklearn.pipeline import make_pipeline

from sklearn_deepfm import DeepFMClassifier, FieldEncoder, make_ctr_classification
from sklearn_deepfm.data import FieldDataset, as_tensors
from sklearn_deepfm.estimators import _base

FAST = dict(TINY, max_epochs=2, early_stopping=False, random_state=0)

# nothing here is timed: one thread never waits on another on a busy machine
pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def codes_data():
    return make_ctr_classification(n_samples=500, random_state=0)


@pytest.fixture(scope="module")
def fitted(codes_data):
    X, y = codes_data
    return DeepFMClassifier(**FAST).fit(X, y)


def manual_logits(clf, X):
    """The fitted module's forward on every row at once, in eval mode, as float64."""
    X = np.asarray(X, dtype=np.float64)
    codes = torch.as_tensor(np.where(clf.value_fields_, 0, X), dtype=torch.long)
    values = None
    if clf.value_fields_.any():
        values = torch.as_tensor(np.where(clf.value_fields_, X, 1.0), dtype=torch.float32)
    module = clf.net_.module_.eval()
    with torch.no_grad():
        logits = module(codes, values).double().numpy()
    scale, shift = getattr(clf, "calibration_", (1.0, 0.0))
    return scale * logits + shift


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.float64])
@pytest.mark.parametrize("order", ["C", "F"])
def test_predict_proba_matches_the_module_forward_and_skorch(codes_data, fitted, dtype, order):
    X, _ = codes_data
    clf = fitted
    X_in = np.asarray(X, dtype=dtype, order=order)
    expected = expit(manual_logits(clf, X))
    np.testing.assert_allclose(clf.predict_proba(X_in)[:, 1], expected, rtol=1e-6, atol=1e-7)
    skorch_logits = clf.net_.forward(FieldDataset(torch.as_tensor(X))).double().numpy()
    np.testing.assert_allclose(clf.decision_function(X_in), skorch_logits, rtol=1e-5, atol=1e-6)


def test_predict_proba_with_continuous_fields_matches_the_module_forward(codes_data):
    X, y = codes_data
    X = np.column_stack([X, np.random.default_rng(0).normal(size=len(X))])
    clf = DeepFMClassifier(**FAST).fit(X, y)
    assert clf.value_fields_.tolist() == [False] * (X.shape[1] - 1) + [True]
    np.testing.assert_allclose(
        clf.predict_proba(X)[:, 1], expit(manual_logits(clf, X)), rtol=1e-6, atol=1e-7
    )


def test_prediction_in_batches_matches_one_forward(codes_data, fitted, monkeypatch):
    X, _ = codes_data
    whole = fitted.decision_function(X)
    monkeypatch.setattr(_base, "_PREDICT_BATCH_SIZE", 7)  # 500 = 71 * 7 + 3
    np.testing.assert_allclose(fitted.decision_function(X), whole, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("dtype", [np.int32, np.float64, np.float32])
def test_fit_on_any_code_dtype_gives_the_same_model(codes_data, fitted, dtype):
    """Integer codes are used without a copy; other dtypes are converted: same model."""
    X, y = codes_data
    reference = fitted.predict_proba(X)
    other = DeepFMClassifier(**FAST).fit(X.astype(dtype), y).predict_proba(X)
    np.testing.assert_array_equal(other, reference)


def as_tensors_of(clf, X):
    return as_tensors(X, clf.value_fields_, clf.cardinalities_)


def test_integer_codes_reach_the_module_without_a_copy(codes_data, fitted):
    X, _ = codes_data
    clf = fitted
    codes, values = as_tensors_of(clf, X)
    assert values is None
    assert np.shares_memory(codes.numpy(), X)
    codes32, _ = as_tensors_of(clf, X.astype(np.int32))
    assert codes32.dtype == torch.int32
    converted, _ = as_tensors_of(clf, X.astype(np.float64))
    assert converted.dtype == torch.int32  # half the memory of int64 codes
    torch.testing.assert_close(converted.long(), torch.as_tensor(X))


@pytest.mark.parametrize("numeric_encoding", ["quantile", "value"])
def test_one_row_requests_match_the_batch(frame_with_missing, numeric_encoding):
    X, y = frame_with_missing
    model = make_pipeline(
        FieldEncoder(numeric_encoding=numeric_encoding), DeepFMClassifier(**FAST)
    ).fit(X, y)
    requests = X.iloc[:25].copy()
    requests.loc[requests.index[3], "C1"] = "never seen"
    requests.loc[requests.index[4], ["C2", "I2"]] = [None, np.nan]
    batch = model.predict_proba(requests)
    for i in range(len(requests)):
        one = model.predict_proba(requests.iloc[[i]])
        np.testing.assert_allclose(one, batch[i : i + 1], rtol=1e-6, atol=1e-7)
