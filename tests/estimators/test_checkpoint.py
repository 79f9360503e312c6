"""A fit with checkpoint_dir saves each epoch and, restarted after a crash, resumes exactly."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import module_state
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline

from sklearn_deepfm import DeepFMClassifier, FieldEncoder, make_ctr_classification
from sklearn_deepfm.estimators import _checkpoint
from sklearn_deepfm.estimators._net import CTRNet

PARAMS = dict(
    embedding_dim=4,
    hidden_layer_sizes=(16,),
    batch_size=128,
    max_epochs=6,
    early_stopping=True,
    n_iter_no_change=2,
    dropout=0.3,
    random_state=0,
)
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def data():
    return make_ctr_classification(n_samples=2000, random_state=0)


def assert_same_model(resumed, uninterrupted, X):
    resumed_state = module_state(resumed)
    for key, tensor in module_state(uninterrupted).items():
        assert torch.equal(resumed_state[key], tensor), key
    assert resumed.n_iter_ == uninterrupted.n_iter_
    resumed_history, history = (
        clf.early_stopping_history_ or list(clf.net_.history) for clf in (resumed, uninterrupted)
    )
    for key in ("train_loss", "valid_loss", "valid_auc"):  # every epoch, not just the kept one
        assert [e[key] for e in resumed_history] == [e[key] for e in history], key
    assert resumed.calibration_ == uninterrupted.calibration_
    np.testing.assert_array_equal(resumed.predict_proba(X), uninterrupted.predict_proba(X))


class Crash(Exception):
    pass


def count_steps(monkeypatch, crash_at=None):
    """Count the training steps (batches) from now on, in the returned dict's "n".

    With ``crash_at``, training raises at that step, as a crash would stop it.
    """
    calls = {"n": 0}
    train_step = CTRNet.train_step

    def counted(self, batch, **fit_params):
        calls["n"] += 1
        if calls["n"] == crash_at:
            raise Crash
        return train_step(self, batch, **fit_params)

    monkeypatch.setattr(CTRNet, "train_step", counted)
    return calls


def saved(directory):
    """Return the state in ``directory``'s one checkpoint file."""
    files = list(Path(directory).glob("checkpoint-*.zip"))
    assert len(files) == 1, files
    return _checkpoint.read(files[0])


def crash_at_step(monkeypatch, step):
    """Make training raise at its ``step``-th batch, as a crash would stop it."""
    count_steps(monkeypatch, crash_at=step)


# tol=1 makes the second epoch a miss, so that the third trains at the decayed rates
@pytest.mark.parametrize(
    "settings",
    [{"refit": False}, {"refit": True}, {"refit": False, "plateau_factor": 0.5, "tol": 1.0}],
)
def test_a_fit_stopped_in_its_third_epoch_resumes_to_the_same_model(
    data, tmp_path, monkeypatch, settings
):
    X, y = data
    params = dict(PARAMS, **settings)
    uninterrupted = DeepFMClassifier(**params).fit(X, y)
    assert (uninterrupted.early_stopping_history_ is not None) == params["refit"]
    steps_per_epoch = -(-1800 // PARAMS["batch_size"])  # 10% held out for validation
    with monkeypatch.context() as patch:
        crash_at_step(patch, 2 * steps_per_epoch + 3)
        with pytest.raises(Crash):
            DeepFMClassifier(**params, checkpoint_dir=tmp_path).fit(X, y)
    assert saved(tmp_path)["fit_epochs"] == 2
    resumed = DeepFMClassifier(**params, checkpoint_dir=tmp_path).fit(X, y)
    assert_same_model(resumed, uninterrupted, X)
    assert not list(tmp_path.iterdir())  # the fit ended: nothing to resume


def test_a_pipeline_stopped_in_its_third_epoch_resumes_to_the_same_model(tmp_path, monkeypatch):
    # Pipeline.fit sets attributes of its own on the final step while it fits (scikit-learn
    # 1.9's callback context): the checkpoint must save the fit's state, not those
    X, y = make_ctr_classification(n_samples=2000, as_frame=True, random_state=0)

    def pipeline(**params):
        return make_pipeline(FieldEncoder(), DeepFMClassifier(**PARAMS, **params))

    uninterrupted = pipeline().fit(X, y)
    steps_per_epoch = -(-1800 // PARAMS["batch_size"])
    with monkeypatch.context() as patch:
        crash_at_step(patch, 2 * steps_per_epoch + 3)
        with pytest.raises(Crash):
            pipeline(checkpoint_dir=tmp_path).fit(X, y)
    assert saved(tmp_path)["fit_epochs"] == 2
    resumed = pipeline(checkpoint_dir=tmp_path).fit(X, y)
    assert_same_model(resumed[-1], uninterrupted[-1], uninterrupted[0].transform(X))


def test_a_fit_that_keeps_its_linear_start_resumes_to_the_same_model(tmp_path, monkeypatch):
    # the start (epoch 0: its score and weights) rides in the checkpoint, so a resumed
    # fit keeps it as the uninterrupted one does, and refits it from all rows
    X, y = make_ctr_classification(n_samples=2_400, random_state=0)  # 558 training positives
    params = dict(PARAMS, learning_rate=10.0, refit=True)  # every trained epoch does worse
    uninterrupted = DeepFMClassifier(**params).fit(X, y)
    assert uninterrupted.n_iter_ == 0  # the start was kept: the refit trained no epoch
    with monkeypatch.context() as patch:
        crash_at_step(patch, -(-2_160 // PARAMS["batch_size"]) + 3)  # in the second epoch
        with pytest.raises(Crash):
            DeepFMClassifier(**params, checkpoint_dir=tmp_path).fit(X, y)
    assert saved(tmp_path)["early_stopping"]["initial"] is not None
    resumed = DeepFMClassifier(**params, checkpoint_dir=tmp_path).fit(X, y)
    assert_same_model(resumed, uninterrupted, X)


def test_a_fit_stopped_while_refitting_resumes_to_the_same_model(data, tmp_path, monkeypatch):
    X, y = data
    # from zeros: on these rows the linear start wins, and a refit of it trains no epoch;
    # 20 epochs at most, so that early stopping, not max_epochs, ends the first network
    params = {**PARAMS, "linear_start_C": None, "max_epochs": 20}
    uninterrupted = DeepFMClassifier(**params, refit=True).fit(X, y)
    early_stopped_epochs = len(uninterrupted.early_stopping_history_)
    assert early_stopped_epochs < params["max_epochs"]
    steps_per_epoch = -(-1800 // PARAMS["batch_size"])
    with monkeypatch.context() as patch:
        crash_at_step(patch, early_stopped_epochs * steps_per_epoch + 3)
        with pytest.raises(Crash):
            DeepFMClassifier(**params, refit=True, checkpoint_dir=tmp_path).fit(X, y)
    # the epoch that stopped the first network is not saved; the refit never is
    assert saved(tmp_path)["fit_epochs"] == early_stopped_epochs - 1
    resumed = DeepFMClassifier(**params, refit=True, checkpoint_dir=tmp_path).fit(X, y)
    assert_same_model(resumed, uninterrupted, X)


def test_fnn_stopped_while_refitting_resumes_to_the_same_model(data, tmp_path, monkeypatch):
    # FNN's refit pre-trains its FM for the epochs the first FM kept: the checkpoint of
    # the deep network carries that number, since a resumed fit does not pre-train again
    X, y = data
    # 10 epochs at most: the FM keeps all 10 here, the deep network 5
    params = {**PARAMS, "model": "fnn", "refit": True, "max_epochs": 10}
    with monkeypatch.context() as patch:
        steps = count_steps(patch)
        DeepFMClassifier(**params).fit(X, y)
    uninterrupted = DeepFMClassifier(**params).fit(X, y)
    with monkeypatch.context() as patch:
        crash_at_step(patch, steps["n"] - 2)  # in the refit's last epoch
        with pytest.raises(Crash):
            DeepFMClassifier(**params, checkpoint_dir=tmp_path).fit(X, y)
    assert saved(tmp_path)["fm_epochs"] >= 1
    resumed = DeepFMClassifier(**params, checkpoint_dir=tmp_path).fit(X, y)
    assert_same_model(resumed, uninterrupted, X)


def test_a_grid_search_crashed_in_its_third_fit_resumes_it(tmp_path, monkeypatch):
    # every candidate and fold keeps its own file in the one checkpoint_dir, so the
    # rerun of a crashed search resumes the fit that crashed (the two that had ended
    # run again) and ends with the search that never crashed
    X, y = make_ctr_classification(n_samples=1200, as_frame=True, random_state=0)
    params = dict(PARAMS, early_stopping=False, max_epochs=3)

    def search(**checkpoint):
        pipe = make_pipeline(FieldEncoder(), DeepFMClassifier(**params, **checkpoint))
        grid = {"deepfmclassifier__embedding_dim": [4, 8]}
        return GridSearchCV(pipe, grid, cv=2, scoring="roc_auc", error_score="raise")

    steps_per_epoch = -(-600 // PARAMS["batch_size"])  # a fold's 600 training rows
    with monkeypatch.context() as patch:
        steps = count_steps(patch)
        uninterrupted = search().fit(X, y)
    with monkeypatch.context() as patch:
        crash_at_step(patch, 2 * 3 * steps_per_epoch + steps_per_epoch + 2)
        with pytest.raises(Crash):
            search(checkpoint_dir=tmp_path).fit(X, y)
    assert saved(tmp_path)["fit_epochs"] == 1
    with monkeypatch.context() as patch:
        resumed_steps = count_steps(patch)
        resumed = search(checkpoint_dir=tmp_path).fit(X, y)
    assert resumed_steps["n"] == steps["n"] - steps_per_epoch
    for key in ("mean_test_score", "split0_test_score", "split1_test_score"):
        np.testing.assert_array_equal(resumed.cv_results_[key], uninterrupted.cv_results_[key])
    np.testing.assert_array_equal(resumed.predict_proba(X), uninterrupted.predict_proba(X))
    assert not list(tmp_path.iterdir())


def test_another_fit_keeps_its_own_checkpoint(data, tmp_path, monkeypatch):
    # a fit with other parameters or data has a file of its own: it starts anew and
    # leaves the crashed fit's checkpoint to resume later
    X, y = data
    with monkeypatch.context() as patch:
        crash_at_step(patch, 20)
        with pytest.raises(Crash):
            DeepFMClassifier(**PARAMS, checkpoint_dir=tmp_path).fit(X, y)
    crashed = saved(tmp_path)
    other = DeepFMClassifier(**dict(PARAMS, embedding_dim=8), checkpoint_dir=tmp_path).fit(X, y)
    assert_same_model(other, DeepFMClassifier(**dict(PARAMS, embedding_dim=8)).fit(X, y), X)
    DeepFMClassifier(**PARAMS, checkpoint_dir=tmp_path).fit(X[:1500], y[:1500])
    assert saved(tmp_path)["run"] == crashed["run"]
    resumed = DeepFMClassifier(**PARAMS, checkpoint_dir=tmp_path).fit(X, y)
    assert_same_model(resumed, DeepFMClassifier(**PARAMS).fit(X, y), X)


def test_a_file_holding_another_fit_is_refused(data, tmp_path, monkeypatch):
    X, y = data
    with monkeypatch.context() as patch:
        crash_at_step(patch, 20)
        with pytest.raises(Crash):
            DeepFMClassifier(**PARAMS, checkpoint_dir=tmp_path).fit(X, y)
    # the crashed fit's file, copied to the name of a fit with other parameters
    crashed = saved(tmp_path)["run"]
    other = DeepFMClassifier(**dict(PARAMS, embedding_dim=8), checkpoint_dir=tmp_path)
    identity = _checkpoint.FitCheckpoint.of(other, crashed["seed"], None, None).identity
    identity["data"] = crashed["data"]  # the same rows
    (file,) = tmp_path.iterdir()
    file.rename(tmp_path / _checkpoint.file_name(identity))
    with pytest.raises(ValueError, match="belongs to another fit"):
        other.fit(X, y)


def test_checkpoint_dir_needs_a_fixed_random_state(data, tmp_path):
    X, y = data
    with pytest.raises(ValueError, match="checkpoint_dir needs a fixed random_state"):
        DeepFMClassifier(**dict(PARAMS, random_state=None), checkpoint_dir=tmp_path).fit(X, y)


def test_a_crash_while_writing_leaves_the_previous_checkpoint(tmp_path, monkeypatch):
    path = tmp_path / "checkpoint.zip"
    _checkpoint.write(path, {"fit_epochs": 1, "weights": torch.ones(3)})

    def crash(*args):
        raise Crash

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(Crash):
        _checkpoint.write(path, {"fit_epochs": 2, "weights": torch.zeros(3)})
    state = _checkpoint.read(path)
    assert state["fit_epochs"] == 1 and torch.equal(state["weights"], torch.ones(3))


def test_a_damaged_checkpoint_is_named(tmp_path):
    (tmp_path / "checkpoint-0.zip").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="checkpoint-0.zip cannot be read"):
        _checkpoint.read(tmp_path / "checkpoint-0.zip")


CHILD = """
import os, signal, sys
import numpy as np
import torch
torch.set_num_threads(1)
from sklearn.pipeline import make_pipeline

from sklearn_deepfm import DeepFMClassifier, FieldEncoder, make_ctr_classification
from sklearn_deepfm.estimators._net import CTRNet

X, y = make_ctr_classification(n_samples=2000, random_state=0)
params = {params!r}
mode, directory, out = sys.argv[1:4]
if mode == "kill":  # SIGKILL itself in the middle of its third epoch
    step, train_step = [0], CTRNet.train_step
    def killing(self, batch, **kw):
        step[0] += 1
        if step[0] == {kill_step}:
            os.kill(os.getpid(), signal.SIGKILL)
        return train_step(self, batch, **kw)
    CTRNet.train_step = killing
clf = DeepFMClassifier(**params, checkpoint_dir=directory if mode != "plain" else None).fit(X, y)
losses = [epoch["train_loss"] for epoch in clf.early_stopping_history_]  # before the refit
np.save(out, np.concatenate([clf.predict_proba(X)[:, 1], losses]))
"""


def start_child(mode, directory, out):
    script = CHILD.format(params=PARAMS, kill_step=2 * 15 + 4)
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT))
    return subprocess.Popen(
        [sys.executable, "-c", script, mode, str(directory), str(out)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
    )


def finish(child):
    """Wait for ``child``; return its exit code and the end of its error output."""
    try:
        _, stderr = child.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        child.kill()
        raise
    return child.returncode, stderr.decode()[-2000:]


def test_a_fit_killed_in_its_third_epoch_resumes_bit_identically(tmp_path):
    # one thread each: the uninterrupted fit runs beside the killed one
    plain = start_child("plain", tmp_path / "unused", tmp_path / "plain.npy")
    try:
        code, stderr = finish(start_child("kill", tmp_path / "ckpt", tmp_path / "never.npy"))
        assert code == -9, stderr
        assert saved(tmp_path / "ckpt")["fit_epochs"] == 2
        resumed = start_child("resume", tmp_path / "ckpt", tmp_path / "resumed.npy")
        for child in (resumed, plain):
            code, stderr = finish(child)
            assert code == 0, stderr
    finally:
        plain.kill()  # a no-op once it has ended; else a failed check leaves it running
    np.testing.assert_array_equal(
        np.load(tmp_path / "resumed.npy"), np.load(tmp_path / "plain.npy")
    )
