"""DeepFMRegressor: what it learns, its standardised target, weights, continued training, files."""

import io
import json
import zipfile

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import TINY
from sklearn.dummy import DummyRegressor
from sklearn.exceptions import DataConversionWarning
from sklearn.linear_model import Ridge
from sklearn.metrics import r2_score
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder

from sklearn_deepfm import DeepFMRegressor, FieldEncoder, make_ctr_classification
from sklearn_deepfm.io._export import export_onnx, export_torch
from sklearn_deepfm.io._persistence import load, save

FAST = dict(TINY, max_epochs=2)
# Deterministic training: no dropout, no batch statistics, one batch an epoch.
EXACT = dict(FAST, dropout=0.0, batch_norm=False, batch_size=10_000, early_stopping=False)

pytestmark = pytest.mark.usefixtures("one_thread")


def interaction_data(n, *, seed=0, noise=0.1):
    """Codes of six fields and a target of order-1 effects and pairwise interactions.

    The pairwise part (inner products of hidden 3-d embeddings, the FM model's
    form) carries most of the variance, which no model additive in the fields
    (such as Ridge on one-hot features) can express.
    """
    X, _ = make_ctr_classification(n_samples=n, cardinalities=(20, 15, 10, 8, 6, 4), random_state=0)
    rng = np.random.default_rng(seed)
    hidden = [rng.normal(size=(c, 3)) for c in (20, 15, 10, 8, 6, 4)]
    weights = [rng.normal(size=c) for c in (20, 15, 10, 8, 6, 4)]
    embedded = np.stack([table[X[:, f]] for f, table in enumerate(hidden)], axis=1)
    pairwise = 0.5 * ((embedded.sum(axis=1) ** 2).sum(axis=1) - (embedded**2).sum(axis=(1, 2)))
    order1 = sum(w[X[:, f]] for f, w in enumerate(weights))
    signal = 0.5 * order1 / order1.std() + pairwise / pairwise.std()
    y = signal / signal.std() + noise * np.random.default_rng(seed + 1).normal(size=n)
    return X, y


@pytest.fixture(scope="module")
def split():
    X, y = interaction_data(4_000)
    return X[:3_000], y[:3_000], X[3_000:], y[3_000:]


@pytest.fixture(scope="module")
def frame():
    """Raw columns (strings and a float) and a target in the thousands."""
    X, _ = make_ctr_classification(n_samples=300, n_numeric=1, as_frame=True, random_state=0)
    y = 5_000 + 800 * (X["C1"] == X["C1"].mode()[0]) + 300 * np.log1p(X["I1"])
    return X.iloc[:200], y.iloc[:200], X.iloc[200:]


@pytest.fixture(scope="module")
def fitted(frame):
    X, y, _ = frame
    pipeline = make_pipeline(
        FieldEncoder(numeric_encoding="value"), DeepFMRegressor(random_state=0, **FAST)
    ).fit(X, y)
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():  # 2 epochs barely move the weights: shake them so that all matter
        for parameter in pipeline[-1].net_.module_.parameters():
            parameter.add_(0.5 * torch.randn(parameter.shape, generator=generator))
    return pipeline


# -- what it learns ----------------------------------------------------------------------


def test_learns_pairwise_interactions_that_an_additive_model_cannot(split):
    X, y, X_test, y_test = split
    one_hot = make_pipeline(OneHotEncoder(handle_unknown="ignore"), Ridge(alpha=1.0))
    baselines = {
        "dummy": r2_score(y_test, DummyRegressor().fit(X, y).predict(X_test)),
        "ridge": r2_score(y_test, one_hot.fit(X, y).predict(X_test)),
    }
    model = DeepFMRegressor(random_state=0).fit(X, y)
    r2 = model.score(X_test, y_test)
    assert r2 > baselines["ridge"] + 0.2, (r2, baselines)
    assert r2 > 0.6, (r2, baselines)
    assert model.predict(X_test).dtype == np.float64


@pytest.mark.parametrize("loss", ["squared_error", "huber"])
def test_ratings_and_revenues_train_alike_with_the_defaults(split, loss):
    """The target is standardised: a rating on 1-5 and revenue in the thousands fit alike."""
    X, y, X_test, y_test = split
    scores = {}
    for name, (shift, scale) in {"rating": (3.0, 1.0), "revenue": (5_000.0, 2_000.0)}.items():
        model = DeepFMRegressor(loss=loss, random_state=0).fit(X, shift + scale * y)
        scores[name] = model.score(X_test, shift + scale * y_test)
        assert model.y_mean_ == pytest.approx(shift + scale * y.mean())
        assert model.y_scale_ == pytest.approx(scale * y.std())
    assert scores["rating"] > 0.6, scores
    assert scores["revenue"] == pytest.approx(scores["rating"], abs=0.01), scores


def test_huber_resists_outliers_that_pull_the_squared_error(split):
    X, y, X_test, y_test = split
    y_dirty = y.copy()
    y_dirty[::25] += 15.0  # 4% of the rows, 15 standard deviations off
    scores = {
        loss: DeepFMRegressor(loss=loss, random_state=0).fit(X, y_dirty).score(X_test, y_test)
        for loss in ["squared_error", "huber"]
    }
    assert scores["huber"] > scores["squared_error"] + 0.05, scores


def test_early_stopping_watches_the_validation_loss():
    X, _ = interaction_data(2_000)
    noise = np.random.default_rng(0).normal(size=len(X))  # nothing to learn: stops early
    model = DeepFMRegressor(random_state=0, max_epochs=30, refit=False).fit(X, noise)
    stopping = dict(model.net_.callbacks)["early_stopping"]
    assert (stopping.monitor, stopping.lower_is_better) == ("valid_loss", True)
    assert model.n_iter_ < 30
    assert "valid_auc" not in model.net_.history[-1]


# -- weights and continued training --------------------------------------------------------


def test_zero_weight_removes_a_row():
    X, y = interaction_data(200)
    weight = np.random.default_rng(0).uniform(0.5, 2.0, size=len(X))
    # a row none of whose codes is its field's largest, so the tables keep their size
    row = next(i for i in range(len(X)) if (X[i] < X.max(axis=0)).all())
    weight[row] = 0.0
    kept = np.arange(len(X)) != row
    weighted = DeepFMRegressor(random_state=0, **{**EXACT, "max_epochs": 5})
    weighted.fit(X, y, sample_weight=weight)
    dropped = DeepFMRegressor(random_state=0, **{**EXACT, "max_epochs": 5})
    dropped.fit(X[kept], y[kept], sample_weight=weight[kept])
    assert weighted.y_mean_ == pytest.approx(dropped.y_mean_, rel=1e-12)
    assert weighted.y_scale_ == pytest.approx(dropped.y_scale_, rel=1e-12)
    np.testing.assert_allclose(weighted.predict(X), dropped.predict(X), rtol=1e-5, atol=1e-5)
    unweighted = DeepFMRegressor(random_state=0, **{**EXACT, "max_epochs": 5}).fit(X, y)
    assert np.abs(unweighted.predict(X) - dropped.predict(X)).max() > 1e-3


def test_warm_start_continues_and_keeps_the_target_scale():
    X, y = interaction_data(300)
    once = DeepFMRegressor(random_state=0, **{**EXACT, "max_epochs": 4}).fit(X, y)
    twice = DeepFMRegressor(random_state=0, warm_start=True, **EXACT).fit(X, y)
    mean, scale = twice.y_mean_, twice.y_scale_
    twice.fit(X, y)
    assert twice.n_iter_ == once.n_iter_ == 4
    np.testing.assert_allclose(twice.predict(X), once.predict(X), rtol=0, atol=1e-6)
    twice.fit(X, 100 + y)  # continued training keeps the first fit's mean and scale
    assert (twice.y_mean_, twice.y_scale_) == (mean, scale)


def test_partial_fit_learns_the_scale_on_the_first_chunk_and_continues():
    X, y = interaction_data(600)
    model = DeepFMRegressor(random_state=0, **FAST)
    model.partial_fit(X[:300], 3 + y[:300])
    assert model.y_mean_ == pytest.approx(3 + y[:300].mean())
    before = model.predict(X)
    mean, scale = model.y_mean_, model.y_scale_
    for _ in range(5):
        model.partial_fit(X[300:], 3 + y[300:])
    assert model.n_iter_ == 6
    assert (model.y_mean_, model.y_scale_) == (mean, scale)
    assert np.abs(model.predict(X) - before).max() > 1e-2
    assert r2_score(3 + y, model.predict(X)) > r2_score(3 + y, before)


# -- input checks ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "y, error, message",
    [
        (["1.5", "a", "2"], ValueError, r"needs numeric targets, but y holds '1.5' at row 0"),
        (np.array([1.0, "x", 2.0], dtype=object), ValueError, r"y holds 'x' at row 1"),
        ([1.0, np.nan, 2.0], ValueError, "Input y contains NaN"),
        ([1.0, np.inf, 2.0], ValueError, "Input y contains infinity"),
        (np.ones((3, 2)), ValueError, r"y should be a 1d array, got an array of shape \(3, 2\)"),
        ([1e308, -1e308, 0.0], ValueError, "y is too large to standardise"),
    ],
)
def test_targets_that_are_not_finite_numbers_are_refused(y, error, message):
    with pytest.raises(error, match=message):
        DeepFMRegressor(**FAST).fit(np.array([[0, 1], [1, 0], [1, 1]]), y)


def test_a_column_vector_target_is_raveled_with_a_warning():
    X, y = interaction_data(100)
    flat = DeepFMRegressor(random_state=0, **FAST).fit(X, y)
    with pytest.warns(DataConversionWarning):
        column = DeepFMRegressor(random_state=0, **FAST).fit(X, y.reshape(-1, 1))
    np.testing.assert_array_equal(column.predict(X), flat.predict(X))


def test_a_constant_target_trains_with_unit_scale():
    X, _ = interaction_data(100)
    model = DeepFMRegressor(random_state=0, **FAST).fit(X, np.full(len(X), 7.0))
    assert (model.y_mean_, model.y_scale_) == (7.0, 1.0)
    np.testing.assert_allclose(model.predict(X), 7.0, atol=0.5)


# -- pipelines, model selection, files ---------------------------------------------------------


def test_grid_search_on_a_pipeline_scores_r2(frame):
    X, y, _ = frame
    regressor = DeepFMRegressor(random_state=0, **{**FAST, "max_epochs": 20})
    pipeline = make_pipeline(FieldEncoder(), regressor)
    grid = {"deepfmregressor__learning_rate": [1e-5, 1e-2]}
    search = GridSearchCV(pipeline, grid, scoring="r2", cv=2).fit(X, y)
    scores = search.cv_results_["mean_test_score"]
    assert np.isfinite(scores).all()
    assert search.best_params_ == {"deepfmregressor__learning_rate": 1e-2}, scores
    assert search.best_score_ > 0.5, scores


def test_save_and_load_predict_bit_identically(fitted, frame):
    _, _, X_test = frame
    buffer = io.BytesIO()
    save(fitted, buffer)
    buffer.seek(0)
    loaded = load(buffer)
    assert type(loaded[-1]) is DeepFMRegressor
    assert (loaded[-1].y_mean_, loaded[-1].y_scale_) == (fitted[-1].y_mean_, fitted[-1].y_scale_)
    assert loaded[-1].get_params() == fitted[-1].get_params()
    np.testing.assert_array_equal(loaded.predict(X_test), fitted.predict(X_test))
    assert saved_document(buffer)["object"]["steps"][1][1]["type"] == "DeepFMRegressor"


def saved_document(buffer):
    """The ``model.json`` of a saved model file."""
    with zipfile.ZipFile(buffer) as archive:
        return json.loads(archive.read("model.json"))


def model_inputs(pipeline, X):
    encoded = pipeline[0].transform(X)
    return {"codes": encoded.astype(np.int64), "values": encoded.astype(np.float32)}


def test_onnx_prediction_matches_predict(fitted, frame, tmp_path):
    _, _, X_test = frame
    expected = fitted.predict(X_test)
    assert expected.std() > 50, "the test needs predictions that differ"
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnxscript")
    export_onnx(fitted, tmp_path / "model.onnx")
    session = ort.InferenceSession(tmp_path / "model.onnx", providers=["CPUExecutionProvider"])
    assert [o.name for o in session.get_outputs()] == ["prediction"]
    (prediction,) = session.run(None, model_inputs(fitted, X_test))
    np.testing.assert_allclose(prediction, expected, rtol=1e-5)
    metadata = session.get_modelmeta().custom_metadata_map
    assert json.loads(metadata["sklearn_deepfm.y_mean"]) == fitted[-1].y_mean_
    assert json.loads(metadata["sklearn_deepfm.y_scale"]) == fitted[-1].y_scale_


def test_torch_export_prediction_matches_predict(fitted, frame, tmp_path):
    _, _, X_test = frame
    export_torch(fitted, tmp_path / "model.pt2")
    network = torch.export.load(tmp_path / "model.pt2").module()
    inputs = {k: torch.from_numpy(v) for k, v in model_inputs(fitted, X_test).items()}
    with torch.no_grad():
        prediction = network(**inputs)
    np.testing.assert_allclose(prediction.numpy(), fitted.predict(X_test), rtol=1e-5)


def test_dataframe_columns_name_the_fields_in_errors():
    X = pd.DataFrame({"site": [0, 1, 2], "price": [0.5, np.nan, 1.5]})
    with pytest.raises(ValueError, match="DeepFMRegressor needs a code or a value in every cell"):
        DeepFMRegressor(**FAST).fit(X, [1.0, 2.0, 3.0])
