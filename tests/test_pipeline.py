"""FieldEncoder and DeepFMClassifier together, as users compose them."""

import pickle

import numpy as np
import pandas as pd
import pytest
from conftest import SHARED_DATA, TINY
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import make_pipeline

from sklearn_deepfm import DeepFMClassifier, FieldEncoder, make_ctr_classification
from sklearn_deepfm.datasets import load_criteo

CRITEO_SAMPLE = SHARED_DATA / "criteo_sample" / "criteo_sample.txt"
FAST = dict(TINY, max_epochs=3)


@pytest.fixture(scope="module")
def criteo_raw():
    """The real Criteo rows as a raw DataFrame: NaNs, hex strings and integer counts."""
    if not CRITEO_SAMPLE.exists():
        pytest.skip(f"shared Criteo sample absent: {CRITEO_SAMPLE}")
    frame = pd.read_csv(CRITEO_SAMPLE)
    return frame.drop(columns="label"), frame["label"].to_numpy()


@pytest.fixture(scope="module")
def ctr_frame():
    return make_ctr_classification(n_samples=800, n_numeric=2, as_frame=True, random_state=0)


def test_pipeline_on_raw_criteo_rows(criteo_raw):
    X, y = criteo_raw
    assert X.isna().any().any(), "the fixture should hold missing values"
    model = make_pipeline(FieldEncoder(), DeepFMClassifier(random_state=0, **FAST)).fit(X, y)
    proba = model.predict_proba(X)
    assert proba.shape == (len(X), 2)
    assert np.isfinite(proba).all()
    classifier = model[-1]
    assert classifier.n_features_in_ == 39
    # the encoder's codes fit the classifier's tables
    assert (classifier.cardinalities_ <= model[0].cardinalities_).all()


def test_criteo_loader_feeds_the_pipeline(criteo_raw):
    X, y = load_criteo(CRITEO_SAMPLE, return_X_y=True)
    model = make_pipeline(FieldEncoder(), DeepFMClassifier(random_state=0, **FAST)).fit(X, y)
    X_raw, _ = criteo_raw
    np.testing.assert_allclose(model.predict_proba(X), model.predict_proba(X_raw))


def test_value_fields_reach_the_classifier_without_being_named_twice(ctr_frame):
    X, y = ctr_frame
    model = make_pipeline(
        FieldEncoder(numeric_encoding="value"), DeepFMClassifier(random_state=0, **FAST)
    ).fit(X, y)
    np.testing.assert_array_equal(model[-1].value_fields_, model[0].value_fields_)
    np.testing.assert_array_equal(model[-1].value_fields_, X.columns.str.startswith("I"))


def test_grid_search_over_embedding_dim_and_hidden_layers(ctr_frame):
    X, y = ctr_frame
    pipe = make_pipeline(FieldEncoder(), DeepFMClassifier(random_state=0, **FAST))
    search = GridSearchCV(
        pipe,
        {
            "deepfmclassifier__embedding_dim": [2, 8],
            "deepfmclassifier__hidden_layer_sizes": [(8,), (16, 8)],
        },
        scoring="roc_auc",
        cv=3,
        n_jobs=2,
    ).fit(X, y)
    assert len(search.cv_results_["params"]) == 4
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    assert search.best_estimator_[-1].embedding_dim in (2, 8)
    assert search.predict_proba(X).shape == (len(X), 2)


def test_unseen_categories_at_predict_time_use_the_reserved_code(ctr_frame):
    X, y = ctr_frame
    model = make_pipeline(FieldEncoder(), DeepFMClassifier(random_state=0, **FAST)).fit(X, y)
    new = X.iloc[[0, 0, 0]].copy()
    new["C1"] = ["never-seen-1", "never-seen-2", None]
    assert model[0].transform(new)[:, 0].tolist() == [0, 0, 0]
    proba = model.predict_proba(new)
    # rows that differ only in unseen values share code 0, hence one prediction
    np.testing.assert_allclose(proba, proba[[0, 0, 0]])
    assert not np.allclose(proba[0], model.predict_proba(X.iloc[[0]])[0])


def test_reordered_columns_give_the_same_predictions(ctr_frame):
    X, y = ctr_frame
    model = make_pipeline(FieldEncoder(), DeepFMClassifier(random_state=0, **FAST)).fit(X, y)
    shuffled = X[X.columns[::-1]]
    np.testing.assert_array_equal(model.predict_proba(shuffled), model.predict_proba(X))


def test_a_missing_column_is_named(ctr_frame):
    X, y = ctr_frame
    model = make_pipeline(FieldEncoder(), DeepFMClassifier(random_state=0, **FAST)).fit(X, y)
    with pytest.raises(ValueError, match="C3"):
        model.predict_proba(X.drop(columns="C3"))


def test_pipeline_string_labels_and_clone(ctr_frame):
    X, y = ctr_frame
    labels = np.where(y == 1, "click", "skip")
    pipe = make_pipeline(FieldEncoder(), DeepFMClassifier(random_state=0, **FAST))
    model = clone(pipe).fit(X, labels)
    assert set(model.predict(X)) <= {"click", "skip"}
    np.testing.assert_array_equal(model.classes_, ["click", "skip"])


def test_pipeline_pickle_round_trip(ctr_frame):
    X, y = ctr_frame
    model = make_pipeline(FieldEncoder(), DeepFMClassifier(random_state=0, **FAST)).fit(X, y)
    restored = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(restored.predict_proba(X), model.predict_proba(X))


def test_pipeline_is_reproducible_from_random_state(ctr_frame):
    X, y = ctr_frame
    X_train, X_test, y_train, _ = train_test_split(X, y, random_state=0)

    def fit_predict():
        pipe = make_pipeline(FieldEncoder(), DeepFMClassifier(random_state=7, **FAST))
        return pipe.fit(X_train, y_train).predict_proba(X_test)

    np.testing.assert_array_equal(fit_predict(), fit_predict())
