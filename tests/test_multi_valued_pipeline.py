"""Multi-valued fields as a user meets them: raw list columns through a Pipeline, end to end."""

import io
import pickle

import numpy as np
import pandas as pd
import pytest
from conftest import SHARED_DATA, TINY
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import GridSearchCV, GroupShuffleSplit
from sklearn.pipeline import make_pipeline

from sklearn_deepfm import DeepFMClassifier, DeepFMRegressor, FieldEncoder, load, save
from sklearn_deepfm.datasets import load_movielens_100k
from sklearn_deepfm.io._export import export_onnx

FAST = dict(TINY, learning_rate=0.01, random_state=0)
MOVIELENS = SHARED_DATA / "movielens_100k"

pytestmark = pytest.mark.usefixtures("one_thread")


def tagged_ads(n=1500, seed=0):
    """Ads with a site and a "|"-joined list of keywords; a click when "sale" is among them."""
    rng = np.random.default_rng(seed)
    words = np.array(["sale", "new", "shoes", "phone", "travel", "food"])
    keywords = ["|".join(rng.choice(words, rng.integers(0, 4), replace=False)) for _ in range(n)]
    X = pd.DataFrame({"site": rng.choice(["a", "b", "c"], n), "keywords": keywords})
    y = X["keywords"].str.contains("sale").to_numpy() ^ (rng.random(n) < 0.1)
    return X, y.astype(int)


def pipeline(**params):
    return make_pipeline(
        FieldEncoder(multi_valued={"keywords": "|"}), DeepFMClassifier(**{**FAST, **params})
    )


def test_a_pipeline_learns_from_a_list_column_and_reads_unknown_and_empty_lists():
    X, y = tagged_ads()
    model = pipeline(max_epochs=10).fit(X.iloc[:1000], y[:1000])
    assert model[-1].field_slices_ == [slice(0, 1), slice(1, 4)]
    assert roc_auc_score(y[1000:], model.predict_proba(X.iloc[1000:])[:, 1]) > 0.8

    odd = pd.DataFrame({"site": ["a", "a", "zz"], "keywords": ["", "never-seen|sale", None]})
    probability = model.predict_proba(odd)[:, 1]
    assert np.isfinite(probability).all()
    # an unknown keyword beside "sale" does not drown it: mean pooling keeps "sale" in view
    assert probability[1] > probability[0]


def test_grid_search_tunes_pooling_through_the_pipeline():
    X, y = tagged_ads(n=900)
    grid = {"deepfmclassifier__pooling": ["mean", "sum"]}
    search = GridSearchCV(pipeline(max_epochs=5), grid, cv=3, scoring="roc_auc").fit(X, y)
    assert search.cv_results_["mean_test_score"].min() > 0.75
    assert search.best_estimator_[-1].pooling == search.best_params_["deepfmclassifier__pooling"]


def test_save_load_pickle_and_onnx_predict_as_the_fitted_pipeline(tmp_path):
    X, y = tagged_ads(n=600)
    model = pipeline(max_epochs=3).fit(X, y)
    X_test = pd.concat([X.iloc[:50], pd.DataFrame({"site": ["b"], "keywords": ["x|sale|y"]})])
    expected = model.predict_proba(X_test)
    buffer = io.BytesIO()
    save(model, buffer)
    for other in (load(io.BytesIO(buffer.getvalue())), pickle.loads(pickle.dumps(model))):
        np.testing.assert_array_equal(other.predict_proba(X_test), expected)

    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnxscript")
    export_onnx(model, tmp_path / "model.onnx")
    session = ort.InferenceSession(tmp_path / "model.onnx", providers=["CPUExecutionProvider"])
    codes = model[0].transform(X_test).to_numpy(dtype=np.int64)
    _, probability = session.run(None, {"codes": codes})
    np.testing.assert_allclose(probability, expected[:, 1], rtol=0, atol=1e-5)


# -- MovieLens 100k ------------------------------------------------------------------


@pytest.fixture(scope="module")
def movielens():
    """Ratings with their user and movie ids, the movie's genres ("Comedy|Romance"), its year."""
    if not (MOVIELENS / "u.item").exists():
        pytest.skip(f"MovieLens 100k is not at {MOVIELENS}; see shared/data/README.md")
    X, rating = load_movielens_100k(MOVIELENS, return_X_y=True)
    return X[["user_id", "item_id", "genres", "year"]], rating


def test_movielens_held_out_movies_are_rated_better_than_the_mean(movielens):
    """On movies never trained their id is unknown: the user and the genres carry the rating."""
    X, rating = movielens
    X, rating = X.iloc[:20_000], rating[:20_000]
    split = GroupShuffleSplit(n_splits=1, test_size=0.2, random_state=0)
    train, test = next(split.split(X, rating, groups=X["item_id"]))
    model = make_pipeline(
        FieldEncoder(categorical_features=["user_id", "item_id"], multi_valued={"genres": "|"}),
        DeepFMRegressor(**{**FAST, "batch_size": 256}, max_epochs=5),
    ).fit(X.iloc[train], rating[train])
    assert model[0].field_slices_[2] == slice(2, 8)  # at most 6 genres a movie
    error = np.sqrt(np.mean((model.predict(X.iloc[test]) - rating[test]) ** 2))
    baseline = np.sqrt(np.mean((rating[train].mean() - rating[test]) ** 2))
    assert error < baseline - 0.03
