"""Continued training: ``warm_start`` and ``partial_fit`` of DeepFMClassifier."""

import numpy as np
import pytest
import torch
from conftest import TINY
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline

from sklearn_deepfm import DeepFMClassifier, FieldEncoder, make_ctr_classification

SMALL = dict(TINY, hidden_layer_sizes=(8,), max_epochs=1, random_state=0)


@pytest.fixture(scope="module")
def ctr_data():
    return make_ctr_classification(n_samples=600, random_state=0)


def _weights(clf):
    return {name: p.detach().clone() for name, p in clf.net_.module_.named_parameters()}


def test_warm_start_continues_instead_of_reinitialising(ctr_data):
    X, y = ctr_data
    clf = DeepFMClassifier(warm_start=True, **SMALL).fit(X, y)
    net, first = clf.net_, clf.predict_proba(X)
    clf.fit(X, y)
    assert clf.net_ is net
    assert clf.n_iter_ == len(clf.net_.history) == 2
    # re-initialising with the same random_state would give the first fit again
    assert not np.array_equal(clf.predict_proba(X), first)


def test_warm_start_epochs_equal_one_longer_fit(ctr_data):
    """Weights, optimizer, shuffling and dropout streams all carry over, bit for bit."""
    X, y = ctr_data
    long = DeepFMClassifier(**dict(SMALL, max_epochs=3)).fit(X, y)
    warm = DeepFMClassifier(warm_start=True, **SMALL)
    for _ in range(3):
        warm.fit(X, y)
    np.testing.assert_array_equal(warm.predict_proba(X), long.predict_proba(X))


def test_partial_fit_epochs_equal_one_longer_fit(ctr_data):
    X, y = ctr_data
    long = DeepFMClassifier(**dict(SMALL, max_epochs=3)).fit(X, y)
    partial = DeepFMClassifier(**SMALL)
    for _ in range(3):
        partial.partial_fit(X, y)
    np.testing.assert_array_equal(partial.predict_proba(X), long.predict_proba(X))
    assert partial.n_iter_ == 3


def test_warm_start_loss_keeps_going_down(ctr_data):
    X, y = ctr_data
    clf = DeepFMClassifier(warm_start=True, **dict(SMALL, learning_rate=1e-2))
    for _ in range(4):
        clf.fit(X, y)
    losses = clf.net_.history[:, "train_loss"]
    assert len(losses) == 4
    assert losses[-1] < losses[0]


def test_without_warm_start_fit_starts_anew(ctr_data):
    X, y = ctr_data
    clf = DeepFMClassifier(**SMALL).fit(X, y)
    first = clf.predict_proba(X)
    net = clf.net_
    clf.fit(X, y)
    assert clf.net_ is not net
    assert clf.n_iter_ == 1
    np.testing.assert_array_equal(clf.predict_proba(X), first)


def test_warm_start_uses_the_new_max_epochs(ctr_data):
    X, y = ctr_data
    clf = DeepFMClassifier(warm_start=True, **SMALL).fit(X, y)
    clf.set_params(max_epochs=3).fit(X[:300], y[:300])
    assert clf.n_iter_ == 4


def test_partial_fit_on_chunks_improves_held_out_auc():
    X, y = make_ctr_classification(n_samples=6000, random_state=0)
    X_train, y_train, X_test, y_test = X[:5000], y[:5000], X[5000:], y[5000:]
    clf = DeepFMClassifier(**dict(SMALL, batch_size=256, learning_rate=5e-3))
    chunks = np.array_split(np.arange(len(X_train)), 10)
    # the first chunk sizes the fields, so it must hold every field's largest code
    first = np.r_[chunks[0], X_train.argmax(axis=0)]
    clf.partial_fit(X_train[first], y_train[first])
    auc_one = roc_auc_score(y_test, clf.predict_proba(X_test)[:, 1])
    for chunk in chunks[1:]:
        clf.partial_fit(X_train[chunk], y_train[chunk])
    auc_all = roc_auc_score(y_test, clf.predict_proba(X_test)[:, 1])
    assert clf.n_iter_ == 10
    assert auc_all > auc_one + 0.02, (auc_one, auc_all)


@pytest.mark.parametrize(
    "classes, first_labels, expected",
    [
        (None, np.arange(100) % 2, [0, 1]),
        ([0, 1], np.zeros(100, dtype=int), [0, 1]),  # one class is enough with classes
        (["skip", "click"], np.full(100, "skip"), ["click", "skip"]),
    ],
)
def test_partial_fit_classes_are_given_or_inferred(ctr_data, classes, first_labels, expected):
    X = ctr_data[0][:100]
    clf = DeepFMClassifier(**SMALL).partial_fit(X, first_labels, classes=classes)
    np.testing.assert_array_equal(clf.classes_, expected)
    # later calls may omit classes or repeat them in any order, and may hold one class
    clf.partial_fit(X, np.full(100, expected[1]))
    clf.partial_fit(X, first_labels, classes=expected[::-1])
    assert clf.n_iter_ == 3
    assert set(clf.predict(X)) <= set(expected)


def test_partial_fit_after_fit_continues_and_resets_calibration(ctr_data):
    X, y = ctr_data
    clf = DeepFMClassifier(early_stopping=True, **SMALL).fit(X, y)
    assert clf.calibration_ != (1.0, 0.0)
    clf.partial_fit(X, y)
    assert clf.n_iter_ == 2
    assert clf.calibration_ == (1.0, 0.0)


def test_warm_start_with_early_stopping_validates_on_the_new_data(ctr_data):
    X, y = ctr_data
    clf = DeepFMClassifier(early_stopping=True, refit=False, warm_start=True, **SMALL)
    clf.fit(X, y).fit(X[:400], y[:400])
    assert len(clf.net_.history[:, "valid_auc"]) == 2
    assert clf.calibration_ != (1.0, 0.0)


def test_continued_training_is_reproducible_and_leaves_global_rng_alone(ctr_data):
    X, y = ctr_data

    def train():
        clf = DeepFMClassifier(**dict(SMALL, dropout=0.5)).partial_fit(X[:300], y[:300])
        clf.set_params(warm_start=True).fit(X[300:], y[300:])
        return clf.partial_fit(X, y).predict_proba(X)

    torch_state, numpy_state = torch.get_rng_state(), np.random.get_state()
    first = train()
    assert torch.equal(torch.get_rng_state(), torch_state)
    assert np.random.get_state()[1].tolist() == numpy_state[1].tolist()
    np.testing.assert_array_equal(train(), first)


def test_continuing_a_pipeline_through_its_fixed_encoder():
    """The documented recipe: the encoder is not refitted, unseen values get code 0."""
    X, y = make_ctr_classification(n_samples=800, as_frame=True, random_state=0)
    pipe = make_pipeline(FieldEncoder(), DeepFMClassifier(**SMALL)).fit(X[:400], y[:400])
    X_new = X[400:].copy()
    X_new["C1"] = "a value never seen"
    codes = pipe[:-1].transform(X_new)
    assert (codes[:, list(X.columns).index("C1")] == 0).all()
    pipe[-1].partial_fit(codes, y[400:])
    assert pipe[-1].n_iter_ == 2
    assert np.isfinite(pipe.predict_proba(X_new)).all()


def test_fnn_partial_fit_pretrains_then_continues(ctr_data):
    X, y = ctr_data
    clf = DeepFMClassifier(model="fnn", **SMALL).partial_fit(X, y)
    clf.partial_fit(X, y)
    assert clf.n_iter_ == 2
    assert np.isfinite(clf.predict_proba(X)).all()
