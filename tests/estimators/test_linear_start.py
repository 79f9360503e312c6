"""The linear start: the order-1 part begins as scikit-learn's logistic regression, epoch 0."""

import numpy as np
import pytest
import torch
from conftest import TINY
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split

import sklearn_deepfm.estimators._defaults
from sklearn_deepfm import DeepFMClassifier, make_ctr_classification
from sklearn_deepfm.data import FieldDataset
from sklearn_deepfm.estimators._callbacks import early_stopping
from sklearn_deepfm.estimators._linear_start import design_matrix
from sklearn_deepfm.nn import DeepFM

PARAMS = dict(TINY, max_epochs=8, n_iter_no_change=2, random_state=0)


@pytest.fixture(scope="module")
def ctr_data():
    return make_ctr_classification(n_samples=2_400, random_state=0)


def start_of(clf):
    """The (score, weights) early stopping held as epoch 0."""
    return early_stopping(clf.net_).initial_


@pytest.mark.parametrize("pooling", ["mean", "sum"])
def test_the_design_matrix_is_the_order_1_part_as_a_linear_model(pooling):
    # two code fields, a value field and a multi-valued field of three slots (0 pads,
    # one row repeats a value): X @ w + b must be what the module's order-1 part computes
    module = DeepFM(
        [4, 1, 5, 6], embedding_dim=2, widths=[1, 1, 1, 3],
        multi_valued=[False, False, False, True], pooling=pooling, fm=False, dnn=False,
    )  # fmt: skip
    with torch.no_grad():
        module.first_order.embedding.weight.normal_()
        module.bias.fill_(0.3)
    codes = torch.tensor([[1, 0, 4, 2, 3, 0], [3, 0, 0, 0, 0, 0], [2, 0, 1, 5, 5, 1]])
    values = torch.tensor([[1, 0.5, 1, 1, 1, 1], [1, -2.0, 1, 1, 1, 1], [1, 3.0, 1, 1, 1, 1]])
    data = FieldDataset(codes, values, y=torch.tensor([1.0, 0.0, 1.0]))
    X, y, weight = design_matrix(module, data)
    assert X.shape == (3, 4 + 1 + 5 + 6) and weight is None
    np.testing.assert_array_equal(y, [1, 0, 1])
    w = module.first_order.embedding.weight.detach().double().numpy()[:, 0]
    with torch.no_grad():
        expected = module(codes, values).double().numpy()
    np.testing.assert_allclose(X @ w + 0.3, expected, rtol=1e-6)


def one_hot(X, cardinalities):
    """The one-hot matrix of integer codes X, a column per code of each field."""
    offsets = np.concatenate([[0], np.cumsum(cardinalities)[:-1]])
    matrix = np.zeros((len(X), cardinalities.sum()))
    matrix[np.arange(len(X))[:, None], X + offsets] = 1
    return matrix


def test_the_start_is_logistic_regression_on_the_training_split(ctr_data, one_thread):
    X, y = ctr_data
    clf = DeepFMClassifier(model="lr", refit=False, **PARAMS).fit(X, y)
    score, weights = start_of(clf)
    # the fit's stratified split, drawn with its seed as the data layer draws it
    train, valid = train_test_split(
        np.arange(len(X)), test_size=0.1, stratify=y, random_state=clf._seed
    )
    lr = LogisticRegression(C=0.05, max_iter=1000)
    lr.fit(one_hot(X[train], clf.cardinalities_), y[train])
    np.testing.assert_allclose(
        weights["first_order.embedding.weight"][:, 0], lr.coef_[0], atol=1e-3
    )
    assert float(weights["bias"]) == pytest.approx(lr.intercept_[0], abs=1e-3)
    # epoch 0's score is that model's validation AUC
    expected = roc_auc_score(y[valid], lr.decision_function(one_hot(X[valid], clf.cardinalities_)))
    assert score == pytest.approx(expected, abs=1e-3)


def test_without_a_trained_epoch_that_beats_it_the_start_is_kept(ctr_data, one_thread):
    # a learning rate far too large: every trained epoch is worse than the start
    X, y = ctr_data
    clf = DeepFMClassifier(learning_rate=10.0, refit=False, **PARAMS).fit(X, y)
    score, weights = start_of(clf)
    assert early_stopping(clf.net_).best_epoch_ == 0
    assert all(epoch["valid_auc"] < score for epoch in clf.net_.history)
    for name, tensor in clf.net_.module_.state_dict().items():
        torch.testing.assert_close(tensor, weights[name], rtol=0, atol=0, msg=name)


def test_a_trained_epoch_that_beats_the_start_is_kept(one_thread):
    # clicks from a pair of fields only (an XOR): the start knows nothing of it
    rng = np.random.default_rng(0)
    X = rng.integers(0, 2, size=(3_000, 3))
    y = X[:, 0] ^ X[:, 1]
    clf = DeepFMClassifier(refit=False, **dict(PARAMS, learning_rate=0.02)).fit(X, y)
    score, _ = start_of(clf)
    kept = early_stopping(clf.net_).best_epoch_
    assert kept >= 1
    assert clf.net_.history[kept - 1, "valid_auc"] > score + 0.2


def test_a_refit_of_the_kept_start_trains_no_epoch_and_starts_from_all_rows(ctr_data, one_thread):
    X, y = ctr_data
    refitted = DeepFMClassifier(learning_rate=10.0, refit=True, **PARAMS).fit(X, y)
    assert refitted.n_iter_ == 0 and len(refitted.early_stopping_history_) >= 1
    # all rows' LR, converged; the refit's solver stops within its tolerance of it
    # (0.003 here), warm-started from the first fit's start (0.07 away from it)
    lr = LogisticRegression(C=0.05, max_iter=10_000, tol=1e-10)
    lr.fit(one_hot(X, refitted.cardinalities_), y)
    table = refitted.net_.module_.first_order.embedding.weight.detach()[:, 0].numpy()
    np.testing.assert_allclose(table, lr.coef_[0], atol=0.01)


def test_without_linear_start_the_order_1_part_starts_at_zero(ctr_data, one_thread):
    X, y = ctr_data
    clf = DeepFMClassifier(linear_start_C=None, refit=False, **PARAMS).fit(X, y)
    assert start_of(clf) is None
    # and without early stopping there is no epoch 0 to judge a start: none is made
    alone = DeepFMClassifier(early_stopping=False, **dict(PARAMS, max_epochs=1)).fit(X, y)
    assert early_stopping(alone.net_) is None
    zero = DeepFMClassifier(
        early_stopping=False, linear_start_C=None, **dict(PARAMS, max_epochs=1)
    ).fit(X, y)
    np.testing.assert_array_equal(alone.predict_proba(X), zero.predict_proba(X))


def test_the_start_needs_500_rows_of_each_class_and_at_most_500_000_rows(
    ctr_data, one_thread, monkeypatch
):
    # a dozen validation positives cannot judge the start; a one-hot matrix of large
    # (memory-mapped) data should not be made
    X, y = ctr_data
    defaults = sklearn_deepfm.estimators._defaults
    train_rows, positives = 2_160, round(0.9 * y.sum())
    for limits, started in [
        ({"LINEAR_START_MAX_ROWS": train_rows - 1}, False),
        ({"LINEAR_START_MAX_ROWS": train_rows}, True),
        ({"LINEAR_START_MIN_CLASS_ROWS": positives + 1}, False),
    ]:
        with monkeypatch.context() as patch:
            for name, value in limits.items():
                patch.setattr(defaults, name, value)
            clf = DeepFMClassifier(refit=False, **PARAMS).fit(X, y)
        assert (start_of(clf) is not None) == started, limits
