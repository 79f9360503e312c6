import pickle

import joblib
import numpy as np
import pandas as pd
import pytest
import torch
from conftest import TINY
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss, roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import OneHotEncoder

from sklearn_deepfm import DeepFMClassifier, make_ctr_classification

# Small and quick: enough to exercise every code path in well under a second.
FAST = dict(TINY, max_epochs=3)


@pytest.fixture(scope="module")
def ctr_data():
    return make_ctr_classification(n_samples=600, random_state=0)


def test_fit_predict_shapes_and_attributes(ctr_data):
    X, y = ctr_data
    clf = DeepFMClassifier(random_state=0, **FAST).fit(X, y)
    proba = clf.predict_proba(X)
    assert proba.shape == (len(X), 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert set(clf.predict(X)) <= {0, 1}
    assert clf.decision_function(X).shape == (len(X),)
    assert clf.n_features_in_ == X.shape[1]
    np.testing.assert_array_equal(clf.classes_, [0, 1])
    np.testing.assert_array_equal(clf.cardinalities_, X.max(axis=0) + 1)
    assert not clf.value_fields_.any()
    assert 0.0 <= clf.score(X, y) <= 1.0


def test_decision_function_agrees_with_predict_proba_and_predict(ctr_data):
    X, y = ctr_data
    clf = DeepFMClassifier(random_state=0, **FAST).fit(X, y)
    logits = clf.decision_function(X)
    np.testing.assert_allclose(clf.predict_proba(X)[:, 1], 1 / (1 + np.exp(-logits)))
    np.testing.assert_array_equal(clf.predict(X), (logits > 0).astype(int))


def test_predictions_match_skorch_forward(ctr_data):
    """The direct inference path gives what skorch's own forward gives."""
    X, y = ctr_data
    clf = DeepFMClassifier(random_state=0, **FAST).fit(X, y)
    from sklearn_deepfm.data._arrays import FieldDataset

    dataset = FieldDataset(torch.as_tensor(X))
    skorch_logits = clf.net_.forward(dataset).numpy()
    np.testing.assert_allclose(clf.decision_function(X), skorch_logits, rtol=1e-5, atol=1e-6)


def test_string_labels_are_mapped_both_ways(ctr_data):
    X, y = ctr_data
    labels = np.where(y == 1, "click", "no-click")
    clf = DeepFMClassifier(random_state=0, **FAST).fit(X, labels)
    np.testing.assert_array_equal(clf.classes_, ["click", "no-click"])
    assert set(clf.predict(X)) <= {"click", "no-click"}
    # classes_[1] is the positive column of predict_proba, as in scikit-learn
    positive = clf.predict_proba(X)[:, 1] > 0.5
    np.testing.assert_array_equal(clf.predict(X) == "no-click", positive)


def test_one_class_only_is_a_clear_error(ctr_data):
    X, _ = ctr_data
    with pytest.raises(ValueError, match="only one class.*'yes'"):
        DeepFMClassifier(**FAST).fit(X, np.full(len(X), "yes"))


def test_multiclass_is_rejected(ctr_data):
    X, y = ctr_data
    with pytest.raises(ValueError, match="Only binary classification is supported"):
        DeepFMClassifier(**FAST).fit(X, np.arange(len(X)) % 3)


def test_unfitted_model_raises_not_fitted(ctr_data):
    X, _ = ctr_data
    with pytest.raises(NotFittedError):
        DeepFMClassifier().predict_proba(X)


@pytest.mark.parametrize(
    "bad, match",
    [(-1, "non-negative integers.*column 2 holds -1"), (1.5, None)],
)
def test_negative_codes_are_rejected_in_fit(ctr_data, bad, match):
    X, y = ctr_data
    X = X.astype(float)
    X[5, 2] = bad
    if match is None:
        # a non-integer makes the column a continuous field instead
        clf = DeepFMClassifier(random_state=0, **FAST).fit(X, y)
        assert clf.value_fields_.tolist() == [False, False, True, False, False, False]
    else:
        with pytest.raises(ValueError, match=match):
            DeepFMClassifier(**FAST).fit(X, y)


@pytest.mark.parametrize("bad", [-1, 10_000, 2.5])
def test_codes_outside_the_fitted_range_are_rejected_in_predict(ctr_data, bad):
    X, y = ctr_data
    clf = DeepFMClassifier(random_state=0, **FAST).fit(X, y)
    X_new = X[:3].astype(float)
    X_new[1, 0] = bad
    with pytest.raises(ValueError, match=r"Column 0 holds .* at row 1.*\[0, \d+\)"):
        clf.predict_proba(X_new)


def test_dataframe_column_names_are_kept_and_named_in_errors(ctr_data):
    X, y = ctr_data
    frame = pd.DataFrame(X, columns=[f"field_{i}" for i in range(X.shape[1])])
    clf = DeepFMClassifier(random_state=0, **FAST).fit(frame, y)
    np.testing.assert_array_equal(clf.feature_names_in_, frame.columns)
    bad = frame.head(2).copy()
    bad.loc[0, "field_3"] = 999
    with pytest.raises(ValueError, match="'field_3'"):
        clf.predict(bad)


def test_continuous_fields_scale_their_embedding():
    rng = np.random.default_rng(0)
    X = np.column_stack([rng.integers(0, 5, 400), rng.normal(size=400)])
    y = (X[:, 1] + 0.3 * X[:, 0] > 0.6).astype(int)
    clf = DeepFMClassifier(random_state=0, **FAST).fit(X, y)
    assert clf.value_fields_.tolist() == [False, True]
    assert clf.cardinalities_.tolist() == [5, 1]
    assert np.isfinite(clf.predict_proba([[1, 0.5], [4, -1.3], [0, 7.0]])).all()


def test_random_state_gives_identical_predictions(ctr_data):
    X, y = ctr_data
    first = DeepFMClassifier(random_state=3, dropout=0.3, **FAST).fit(X, y).predict_proba(X)
    second = DeepFMClassifier(random_state=3, dropout=0.3, **FAST).fit(X, y).predict_proba(X)
    other = DeepFMClassifier(random_state=4, dropout=0.3, **FAST).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(first, second)
    assert not np.allclose(first, other)


def test_fit_leaves_the_global_torch_random_state_alone(ctr_data):
    X, y = ctr_data
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    DeepFMClassifier(random_state=0, **FAST).fit(X, y)
    torch.testing.assert_close(torch.rand(3), expected)


def test_clone_gives_an_unfitted_copy_with_the_same_params(ctr_data):
    X, y = ctr_data
    clf = DeepFMClassifier(embedding_dim=7, hidden_layer_sizes=(5, 3)).set_params(max_epochs=2)
    copy = clone(clf.fit(X, y))
    assert copy.get_params() == clf.get_params()
    assert not hasattr(copy, "net_")


@pytest.mark.parametrize(
    "dump, load",
    [
        (pickle.dumps, pickle.loads),
        (lambda m: _joblib_bytes(m), lambda b: _joblib_load(b)),
    ],
)
def test_pickle_and_joblib_round_trips_give_identical_predictions(ctr_data, dump, load):
    X, y = ctr_data
    clf = DeepFMClassifier(random_state=0, **FAST).fit(X, y)
    restored = load(dump(clf))
    np.testing.assert_array_equal(restored.predict_proba(X), clf.predict_proba(X))


def _joblib_bytes(model):
    import io

    buffer = io.BytesIO()
    joblib.dump(model, buffer)
    return buffer.getvalue()


def _joblib_load(data):
    import io

    return joblib.load(io.BytesIO(data))


def test_sample_weight_two_equals_a_duplicated_row(ctr_data):
    """With full-batch, deterministic training, weight 2 is the same as a repeated row."""
    X, y = ctr_data
    X, y = X[:200], y[:200]
    params = dict(FAST, dropout=0.0, batch_norm=False, batch_size=10_000, random_state=0)
    weights = np.ones(len(X))
    weights[:50] = 2.0
    weighted = DeepFMClassifier(**params).fit(X, y, sample_weight=weights)
    repeated = DeepFMClassifier(**params).fit(np.vstack([X, X[:50]]), np.r_[y, y[:50]])
    np.testing.assert_allclose(
        weighted.predict_proba(X), repeated.predict_proba(X), rtol=1e-4, atol=1e-6
    )
    unweighted = DeepFMClassifier(**params).fit(X, y)
    assert not np.allclose(weighted.predict_proba(X), unweighted.predict_proba(X))


def test_zero_sample_weight_removes_a_row(ctr_data):
    X, y = ctr_data
    params = dict(FAST, dropout=0.0, batch_norm=False, batch_size=10_000, random_state=0)
    weights = np.ones(len(X))
    weights[::3] = 0.0
    weighted = DeepFMClassifier(**params).fit(X, y, sample_weight=weights)
    dropped = DeepFMClassifier(**params).fit(X[weights > 0], y[weights > 0])
    np.testing.assert_allclose(
        weighted.predict_proba(X), dropped.predict_proba(X), rtol=1e-4, atol=1e-6
    )


@pytest.mark.parametrize(
    "sample_weight, match",
    [(np.ones(5), "sample_weight.shape"), (-np.ones(600), "(?i)negative")],
)
def test_bad_sample_weight_is_rejected(ctr_data, sample_weight, match):
    X, y = ctr_data
    with pytest.raises(ValueError, match=match):
        DeepFMClassifier(**FAST).fit(X, y, sample_weight=sample_weight)


def test_batch_size_larger_than_the_data_works(ctr_data):
    X, y = ctr_data
    clf = DeepFMClassifier(random_state=0, **dict(FAST, batch_size=1_000_000)).fit(X, y)
    assert clf.net_.history[-1, "train_batch_count"] == 1


def test_a_last_batch_of_one_row_joins_the_one_before(ctr_data):
    """Batch normalisation cannot train on one row: 65 rows in batches of 64 is one batch."""
    X, y = ctr_data
    clf = DeepFMClassifier(random_state=0, **FAST).fit(X[:65], y[:65])
    assert clf.net_.history[-1, "train_batch_count"] == 1


def _fit_to_overfit(**params):
    X, y = make_ctr_classification(n_samples=3000, random_state=1)
    fast = {k: v for k, v in FAST.items() if k != "max_epochs"}
    clf = DeepFMClassifier(
        early_stopping=True,
        refit=False,  # the early-stopped network itself
        n_iter_no_change=2,
        max_epochs=40,
        learning_rate=0.02,
        random_state=0,
        **fast,
        **params,
    ).fit(X, y)
    assert clf.n_iter_ < 40, "an overfitting run should stop early"
    return clf, clf.net_.train_split.keywords["valid_ds"]


def test_early_stopping_on_loss_restores_the_best_epoch():
    clf, valid = _fit_to_overfit(scoring="loss", calibrate=False)
    losses = clf.net_.history[:, "valid_loss"]
    logits = torch.as_tensor(clf.decision_function(valid.codes.numpy())).float()
    restored = clf.net_.get_loss(logits, {"y": valid.y}, X={"codes": valid.codes}).item()
    assert restored == pytest.approx(min(losses), rel=1e-4)


def test_early_stopping_on_auc_restores_the_best_epoch_and_calibrates():
    clf, valid = _fit_to_overfit(scoring="roc_auc", calibrate=True)
    history_auc = clf.net_.history[:, "valid_auc"]
    proba = clf.predict_proba(valid.codes.numpy())[:, 1]
    y = valid.y.numpy()
    assert roc_auc_score(y, proba) == pytest.approx(max(history_auc), abs=1e-6)
    scale, shift = clf.calibration_
    assert scale > 0 and (scale, shift) != (1.0, 0.0)
    # Platt scaling keeps the ranking and can only lower the validation log loss
    raw = 1 / (1 + np.exp(-(clf.decision_function(valid.codes.numpy()) - shift) / scale))
    assert log_loss(y, proba) <= log_loss(y, raw) + 1e-9


def test_verbose_prints_progress_and_zero_is_silent(ctr_data, capsys):
    X, y = ctr_data
    DeepFMClassifier(random_state=0, verbose=0, early_stopping=True, **FAST).fit(X, y)
    assert capsys.readouterr().out == ""
    DeepFMClassifier(random_state=0, verbose=1, early_stopping=True, **FAST).fit(X, y)
    out = capsys.readouterr().out
    for column in ("epoch", "train_loss", "valid_loss", "valid_auc", "dur"):
        assert column in out


@pytest.mark.parametrize("sparse", [True, False])
def test_sparse_and_dense_optimizers_both_train(ctr_data, sparse):
    X, y = ctr_data
    clf = DeepFMClassifier(random_state=0, sparse_embeddings=sparse, **FAST).fit(X, y)
    losses = clf.net_.history[:, "train_loss"]
    assert losses[-1] < losses[0]
    assert clf.net_.module_.embedding.embedding.sparse == sparse


def test_deepfm_beats_logistic_regression_and_its_own_parts():
    """On data with real pairwise and higher-order signal, DeepFM wins in held-out AUC."""
    X, y = make_ctr_classification(
        n_samples=30_000, cardinalities=(40, 30, 20, 10, 8, 5), random_state=0
    )
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, random_state=0)
    onehot = OneHotEncoder(handle_unknown="ignore").fit(X_train)
    lr = LogisticRegression(max_iter=2000).fit(onehot.transform(X_train), y_train)
    lr_auc = roc_auc_score(y_test, lr.predict_proba(onehot.transform(X_test))[:, 1])

    params = dict(
        hidden_layer_sizes=(256, 256),
        dropout=0.5,
        learning_rate=3e-3,
        batch_size=512,
        random_state=0,
    )
    auc = {}
    for model in ("deepfm", "fm", "dnn"):
        clf = DeepFMClassifier(model=model, **params).fit(X_train, y_train)
        auc[model] = roc_auc_score(y_test, clf.predict_proba(X_test)[:, 1])
    assert auc["deepfm"] > lr_auc + 0.02, (auc, lr_auc)
    # "ties" allows the noise of one seed
    assert auc["deepfm"] >= auc["fm"] - 0.005, auc
    assert auc["deepfm"] >= auc["dnn"] - 0.005, auc


def test_epoch_log_has_no_colour_codes_off_a_terminal_and_verbose_2_shows_progress(
    ctr_data, capsys
):
    X, y = ctr_data
    DeepFMClassifier(random_state=0, verbose=1, early_stopping=True, **FAST).fit(X, y)
    out = capsys.readouterr()
    assert "valid_auc" in out.out and "\x1b[" not in out.out
    DeepFMClassifier(random_state=0, verbose=2, early_stopping=True, **FAST).fit(X, y)
    assert "it/s]" in capsys.readouterr().err  # tqdm's per-batch bar
