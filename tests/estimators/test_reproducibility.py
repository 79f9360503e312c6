"""The same data and random_state give bit-identical predictions, in one process or two."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import TINY
from sklearn.pipeline import make_pipeline

from sklearn_deepfm import DeepFMClassifier, FieldEncoder, make_ctr_classification

SMALL = dict(TINY, hidden_layer_sizes=(8,), max_epochs=2)
ROOT = Path(__file__).resolve().parents[2]

# Run in this process and, as a script, in fresh ones: string categories, dropout, batch
# norm, shuffling, a stratified validation split, early stopping and calibration.
FIT_PREDICT = f"""
import numpy as np
from sklearn.pipeline import make_pipeline
from sklearn_deepfm import DeepFMClassifier, FieldEncoder, make_ctr_classification


def fit_predict():
    X, y = make_ctr_classification(n_samples=500, n_numeric=2, as_frame=True, random_state=0)
    model = make_pipeline(
        FieldEncoder(),
        DeepFMClassifier(early_stopping=True, random_state=3, **{SMALL!r}),
    )
    return model.fit(X, y).predict_proba(X)
"""


@pytest.fixture(scope="module")
def ctr_frame():
    return make_ctr_classification(n_samples=500, n_numeric=2, as_frame=True, random_state=0)


def _fit_predict(X, y, **params):
    model = make_pipeline(FieldEncoder(), DeepFMClassifier(**SMALL, **params))
    return model.fit(X, y).predict_proba(X)


@pytest.mark.parametrize(
    "params",
    [
        dict(random_state=0),
        dict(random_state=0, early_stopping=True, dropout=0.5),
        dict(random_state=0, model="fnn", sparse_embeddings=False),
        dict(random_state=np.random.RandomState(5)),
        dict(random_state=0, dropout=0.5, batch_norm=True, precision="bfloat16"),
        dict(random_state=0, dropout=0.5, batch_norm=True, precision="float32"),
    ],
    ids=["deepfm", "early-stopping", "fnn-dense", "RandomState", "bfloat16", "float32"],
)
def test_same_random_state_gives_identical_predictions_in_one_process(ctr_frame, params):
    X, y = ctr_frame
    fresh = dict(params)
    if isinstance(params["random_state"], np.random.RandomState):  # fresh, equal streams
        fresh["random_state"] = np.random.RandomState(5)
    np.testing.assert_array_equal(_fit_predict(X, y, **params), _fit_predict(X, y, **fresh))


def test_same_random_state_gives_identical_predictions_across_processes(tmp_path):
    script = tmp_path / "fit_predict.py"
    script.write_text(FIT_PREDICT + "\nimport sys\nnp.save(sys.argv[1], fit_predict())\n")
    outputs = [tmp_path / f"proba_{i}.npy" for i in range(2)]
    # different hash seeds: no result may depend on the order of a set or dict of strings
    runs = [
        subprocess.Popen(
            [sys.executable, str(script), str(output)],
            cwd=ROOT,
            env={**os.environ, "PYTHONHASHSEED": str(i + 1)},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for i, output in enumerate(outputs)
    ]
    namespace = {}
    exec(FIT_PREDICT, namespace)
    here = namespace["fit_predict"]()
    for run in runs:
        _, stderr = run.communicate(timeout=120)
        assert run.returncode == 0, stderr.decode()
    first, second = (np.load(output) for output in outputs)
    assert np.array_equal(first, second)
    assert np.array_equal(first, here)


def test_no_random_state_gives_different_fits(ctr_frame):
    X, y = ctr_frame
    assert not np.array_equal(
        _fit_predict(X, y, random_state=None), _fit_predict(X, y, random_state=None)
    )


def test_no_random_state_follows_numpys_global_seed(ctr_frame):
    """As in scikit-learn, random_state=None draws from numpy's global RandomState."""
    X, y = ctr_frame
    np.random.seed(11)
    first = _fit_predict(X, y, random_state=None)
    np.random.seed(11)
    np.testing.assert_array_equal(_fit_predict(X, y, random_state=None), first)


@pytest.mark.parametrize("method", ["fit", "partial_fit", "predict_proba"])
def test_global_random_states_are_left_alone(ctr_frame, method):
    X, y = ctr_frame
    model = make_pipeline(FieldEncoder(), DeepFMClassifier(random_state=0, **SMALL))
    codes = model[0].fit_transform(X)
    if method == "predict_proba":
        model.fit(X, y)
    np.random.seed(1)
    torch.manual_seed(1)
    numpy_state, torch_state = np.random.get_state(), torch.get_rng_state()
    if method == "fit":
        model.fit(X, y)
    elif method == "partial_fit":
        model[-1].partial_fit(codes, y).partial_fit(codes, y)
    else:
        model.predict_proba(X)
    assert torch.equal(torch.get_rng_state(), torch_state)
    after = np.random.get_state()
    assert after[1].tolist() == numpy_state[1].tolist() and after[2] == numpy_state[2]
