"""``embedding_learning_rate`` and ``embedding_epsilon``: the tables' own Adam settings."""

import numpy as np
import pandas as pd
import pytest
from conftest import TINY
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.utils._param_validation import InvalidParameterError

import sklearn_deepfm
from sklearn_deepfm import DeepFMClassifier, DeepFMRegressor, FieldEncoder, make_ctr_classification

FAST = dict(TINY, max_epochs=2)


@pytest.fixture(scope="module")
def ctr_data():
    return make_ctr_classification(n_samples=400, random_state=0)


def _groups_of(clf):
    """Map each parameter name to the (lr, eps) of the optimizer group holding it."""
    names = {id(p): name for name, p in clf.net_.module_.named_parameters()}
    found = {}
    for optimizer in clf.net_.optimizers().values():
        for group in optimizer.param_groups:
            for p in group["params"]:
                found[names[id(p)]] = (group["lr"], group["eps"])
    return found


@pytest.mark.parametrize("estimator", [DeepFMClassifier, DeepFMRegressor])
@pytest.mark.parametrize("sparse", [True, False])
def test_tables_get_their_own_step_size_and_epsilon(ctr_data, estimator, sparse):
    X, y = ctr_data
    model = estimator(
        learning_rate=2e-3,
        embedding_learning_rate=5e-3,
        embedding_epsilon=1e-4,
        sparse_embeddings=sparse,
        random_state=0,
        **FAST,
    ).fit(X, y)
    groups = _groups_of(model)
    tables = {name for name in groups if name.endswith("embedding.weight")}
    assert tables == {"embedding.embedding.weight", "first_order.embedding.weight"}
    for name, setting in groups.items():
        assert setting == ((5e-3, 1e-4) if name in tables else (2e-3, 1e-8)), name


@pytest.mark.parametrize("sparse", [True, False])
def test_no_embedding_learning_rate_means_learning_rate(ctr_data, sparse):
    X, y = ctr_data
    params = dict(learning_rate=3e-3, sparse_embeddings=sparse, random_state=0, **FAST)
    default = DeepFMClassifier(**params).fit(X, y)
    explicit = DeepFMClassifier(embedding_learning_rate=3e-3, **params).fit(X, y)
    np.testing.assert_array_equal(default.predict_proba(X), explicit.predict_proba(X))
    assert _groups_of(default)["embedding.embedding.weight"] == (3e-3, 1e-8)


def _order1_moves(epsilon):
    """How far one epoch moves the order-1 weight of a code seen once, and of a frequent one."""
    rng = np.random.default_rng(0)
    X = rng.integers(1, 4, size=(2000, 3))
    X[0, 0] = 9  # field 0's code 9: one row only
    y = rng.integers(0, 2, size=2000)
    clf = DeepFMClassifier(
        embedding_epsilon=epsilon,
        early_stopping=False,
        max_epochs=1,
        random_state=0,
        **{k: v for k, v in FAST.items() if k != "max_epochs"},
    ).fit(X, y)
    weights = clf.net_.module_.first_order.embedding.weight.detach().numpy().ravel()
    return abs(weights[9]), abs(weights[1])  # order-1 rows start at zero


def test_a_large_epsilon_damps_a_rare_code_more_than_a_frequent_one():
    """Adam moves a code seen once about as far as a frequent one; epsilon stops that."""
    rare_adam, frequent_adam = _order1_moves(1e-8)
    rare_damped, frequent_damped = _order1_moves(1e-2)
    assert rare_adam > 0.3 * frequent_adam  # Adam: the single row moves a comparable step
    assert rare_damped < 0.3 * rare_adam  # epsilon: the single row barely moves
    assert frequent_damped > 0.5 * frequent_adam  # while a frequent row keeps most of its step


@pytest.mark.parametrize(
    "params, name",
    [
        ({"embedding_epsilon": 0.0}, "embedding_epsilon"),
        ({"embedding_epsilon": -1e-3}, "embedding_epsilon"),
        ({"embedding_learning_rate": 0.0}, "embedding_learning_rate"),
        ({"embedding_learning_rate": "fast"}, "embedding_learning_rate"),
    ],
)
@pytest.mark.parametrize("estimator", [DeepFMClassifier, DeepFMRegressor])
def test_invalid_settings_name_the_parameter(ctr_data, estimator, params, name):
    X, y = ctr_data
    with pytest.raises(InvalidParameterError, match=f"'{name}' parameter"):
        estimator(**params, **FAST).fit(X, y)


def test_grid_search_over_the_table_settings_in_a_pipeline(ctr_data, tmp_path):
    codes, y = ctr_data
    X = pd.DataFrame(codes, columns=[f"field{i}" for i in range(codes.shape[1])]).astype(str)
    pipe = make_pipeline(FieldEncoder(), DeepFMClassifier(random_state=0, **FAST))
    grid = {
        "deepfmclassifier__embedding_epsilon": [1e-8, 1e-3],
        "deepfmclassifier__embedding_learning_rate": [None, 3e-3],
    }
    search = GridSearchCV(pipe, grid, cv=2, scoring="roc_auc").fit(X, y)
    assert len(search.cv_results_["params"]) == 4
    best = search.best_estimator_
    settings = clone(best).get_params()
    for name, value in search.best_params_.items():
        assert settings[name] == value

    sklearn_deepfm.save(best, tmp_path / "best.deepfm")
    loaded = sklearn_deepfm.load(tmp_path / "best.deepfm")
    assert (
        loaded.get_params()["deepfmclassifier__embedding_epsilon"]
        == (search.best_params_["deepfmclassifier__embedding_epsilon"])
    )
    np.testing.assert_allclose(loaded.predict_proba(X), best.predict_proba(X), rtol=1e-6)
