"""``refit``: after early stopping, a network trained on all rows for the kept epochs."""

import numpy as np
import pytest
import torch
from conftest import TINY, module_state
from sklearn.base import clone
from sklearn.pipeline import make_pipeline
from sklearn.utils._param_validation import InvalidParameterError

import sklearn_deepfm.estimators._defaults
from sklearn_deepfm import DeepFMClassifier, DeepFMRegressor, FieldEncoder, make_ctr_classification
from sklearn_deepfm.inspection._learned import restored_epoch
from sklearn_deepfm.io._persistence import load, save

# 2,400 rows: early_stopping="auto" holds out 240 of them. From zeros, so that the
# kept epochs are trained ones (the refit of a linear start: test_linear_start.py).
FAST = dict(TINY, learning_rate=0.02, max_epochs=10, n_iter_no_change=2, linear_start_C=None)
FAST_TOL = DeepFMClassifier().tol
REGRESSOR_FAST = {k: v for k, v in FAST.items() if k != "linear_start_C"}  # the classifier's


@pytest.fixture(scope="module")
def ctr_data():
    return make_ctr_classification(n_samples=2_400, random_state=0)


@pytest.fixture(scope="module")
def refitted(ctr_data, one_thread):
    X, y = ctr_data
    return DeepFMClassifier(random_state=0, **FAST).fit(X, y)


@pytest.fixture(scope="module")
def early_stopped(ctr_data, one_thread):
    X, y = ctr_data
    return DeepFMClassifier(refit=False, random_state=0, **FAST).fit(X, y)


def test_refit_trains_all_rows_for_the_kept_epochs(ctr_data, refitted, early_stopped):
    X, y = ctr_data
    kept = dict(early_stopped.net_.callbacks_)["early_stopping"].best_epoch_
    assert kept < len(early_stopped.net_.history)  # early stopping did stop early
    # the same seed, all rows, no validation split, the kept number of epochs
    alone = DeepFMClassifier(random_state=0, early_stopping=False, **{**FAST, "max_epochs": kept})
    alone.fit(X, y)
    assert refitted.n_iter_ == kept == len(refitted.net_.history)
    refitted_state = module_state(refitted)
    for name, tensor in module_state(alone).items():
        torch.testing.assert_close(refitted_state[name], tensor, msg=name)
    assert not np.allclose(refitted.decision_function(X), early_stopped.decision_function(X))


def test_refit_carries_the_calibration_over(ctr_data, refitted, early_stopped):
    # the calibrated logits of both models agree: the refitted network's Platt scaling
    # is fitted to the first's probabilities on the 90% of rows both trained on (the
    # first network's scaling alone, on seed 0: slope 0.87)
    X, _ = ctr_data
    ours, theirs = refitted.decision_function(X), early_stopped.decision_function(X)
    slope, intercept = np.polyfit(ours, theirs, 1)
    assert slope == pytest.approx(1.0, abs=0.03)
    assert abs(intercept) < 0.03


def test_refit_keeps_the_click_rate_of_rare_clicks(one_thread):
    # 2% clicks: a least-squares line between the two networks' logits, which the
    # many non-clicks dominate, moved the mean probability by 11% on this seed; the
    # scaling fitted to the first network's probabilities keeps it within 0.1%
    X, y = make_ctr_classification(n_samples=4_000, positive_rate=0.02, random_state=1)
    first = DeepFMClassifier(refit=False, random_state=1, **FAST).fit(X, y)
    refitted = DeepFMClassifier(random_state=1, **FAST).fit(X, y)
    assert refitted.early_stopping_history_ is not None
    mean = first.predict_proba(X)[:, 1].mean()
    assert refitted.predict_proba(X)[:, 1].mean() == pytest.approx(mean, rel=0.02)


def test_uncalibrated_refit_stays_uncalibrated(ctr_data, one_thread):
    X, y = ctr_data
    clf = DeepFMClassifier(calibrate=False, random_state=0, **FAST).fit(X, y)
    assert clf.early_stopping_history_ is not None
    assert clf.calibration_ == (1.0, 0.0)


def test_refit_keeps_the_early_stopped_history(refitted, early_stopped):
    history = refitted.early_stopping_history_
    timeless = {"batches", "dur"}
    assert [{k: v for k, v in epoch.items() if k != "dur"} for epoch in history] == [
        {k: v for k, v in epoch.items() if k not in timeless}
        for epoch in early_stopped.net_.history
    ]
    assert all("valid_auc" in epoch for epoch in history)
    assert not any("valid_auc" in epoch for epoch in refitted.net_.history)
    kept = restored_epoch(history, "valid_auc", lower_is_better=False, threshold=FAST_TOL)
    assert kept == refitted.n_iter_
    assert early_stopped.early_stopping_history_ is None


def test_auto_refits_below_the_threshold_only(ctr_data, monkeypatch, one_thread):
    X, y = ctr_data
    clf = DeepFMClassifier(random_state=0, **FAST)
    assert clone(clf).fit(X, y).early_stopping_history_ is not None
    monkeypatch.setattr(sklearn_deepfm.estimators._defaults, "_AUTO_REFIT_MAX_SAMPLES", len(X))
    assert clone(clf).fit(X, y).early_stopping_history_ is None
    assert clone(clf).set_params(refit=True).fit(X, y).early_stopping_history_ is not None


@pytest.mark.parametrize("refit", ["auto", True])
def test_nothing_to_refit_without_early_stopping(ctr_data, refit, one_thread):
    X, y = ctr_data
    clf = DeepFMClassifier(refit=refit, early_stopping=False, random_state=0, **FAST)
    clf.fit(X[:300], y[:300])
    assert clf.early_stopping_history_ is None
    assert clf.n_iter_ == FAST["max_epochs"]


def test_continued_training_does_not_refit(ctr_data, refitted, one_thread):
    X, y = ctr_data
    clf = clone(refitted).set_params(warm_start=True, max_epochs=2)
    clf.fit(X, y)
    assert clf.early_stopping_history_ is not None  # the first fit refitted
    before = module_state(clf)
    clf.fit(X, y)  # continues net_, with early stopping on a fresh split
    assert clf.early_stopping_history_ is None
    assert any("valid_auc" in epoch for epoch in clf.net_.history)
    assert any(not torch.equal(before[k], v) for k, v in module_state(clf).items())


def test_refit_in_a_pipeline_is_reproducible(ctr_data, one_thread):
    X, y = make_ctr_classification(n_samples=2_400, as_frame=True, random_state=1)
    pipe = make_pipeline(FieldEncoder(), DeepFMClassifier(random_state=3, **FAST))
    first = clone(pipe).fit(X, y).predict_proba(X)
    assert pipe.fit(X, y)[-1].early_stopping_history_ is not None
    np.testing.assert_array_equal(pipe.predict_proba(X), first)


def test_refitted_model_file_keeps_the_early_stopped_history(refitted, ctr_data, tmp_path):
    X, _ = ctr_data
    save(refitted, tmp_path / "model")
    loaded = load(tmp_path / "model")
    assert loaded.early_stopping_history_ == refitted.early_stopping_history_
    np.testing.assert_allclose(loaded.predict_proba(X), refitted.predict_proba(X))


def test_regressor_refits(ctr_data, one_thread):
    X, _ = ctr_data
    y = X[:, 0] * 0.5 + np.random.default_rng(0).normal(size=len(X))
    reg = DeepFMRegressor(random_state=0, **REGRESSOR_FAST).fit(X, y)
    history = reg.early_stopping_history_
    assert all("valid_loss" in epoch for epoch in history)
    assert reg.n_iter_ == len(reg.net_.history) <= len(history)
    assert (
        DeepFMRegressor(refit=False, random_state=0, **REGRESSOR_FAST)
        .fit(X, y)
        .early_stopping_history_
        is None
    )


@pytest.mark.parametrize("value", ["always", 2, None])
def test_refit_rejects_other_values(ctr_data, value):
    X, y = ctr_data
    with pytest.raises(InvalidParameterError, match="refit"):
        DeepFMClassifier(refit=value, **FAST).fit(X[:50], y[:50])


def test_refit_says_so_when_verbose(ctr_data, refitted, capsys, one_thread):
    X, y = ctr_data
    DeepFMClassifier(random_state=0, verbose=1, **FAST).fit(X, y)
    kept = refitted.n_iter_
    assert f"Refitting on all 2,400 rows for {kept} epochs." in capsys.readouterr().out
    DeepFMClassifier(random_state=0, verbose=0, **FAST).fit(X, y)
    assert capsys.readouterr().out == ""


def test_fnn_refit_pretrains_its_fm_for_the_epochs_the_first_fm_kept(ctr_data, one_thread):
    # FNN's refit pre-trains a new FM on all rows, with no validation split to stop it:
    # for the epochs the first FM's early stopping kept, not for the deep network's
    calls = []

    class Spy(DeepFMClassifier):
        def _start_net(self, train, valid, epochs, run, stopped=None):
            given = run.fm_epochs  # the fit's record of the FM epochs, before this net
            net = super()._start_net(train, valid, epochs, run, stopped)
            calls.append((stopped is not None, given, run.fm_epochs))
            return net

    X, y = ctr_data
    clf = Spy(model="fnn", random_state=0, **FAST).fit(X, y)
    (first_refit, first_given, first_kept), (refit, refit_given, refit_ran) = calls
    assert (first_refit, refit) == (False, True)
    assert first_given is None
    assert refit_given == first_kept == refit_ran
    assert first_kept != clf.n_iter_  # the deep network kept another number here
    assert not hasattr(clf, "_fm_epochs")  # nothing of the fit's bookkeeping stays
