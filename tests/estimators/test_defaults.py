"""Defaults that adapt to the data: batch_size="auto" (both estimators), batch_norm="auto",
precision="auto" (to the CPU) and FieldEncoder's id rule."""

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import SHARED_DATA
from sklearn.datasets import make_regression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline

from sklearn_deepfm import DeepFMClassifier, DeepFMRegressor, FieldEncoder, make_ctr_classification
from sklearn_deepfm.datasets import load_frappe
from sklearn_deepfm.estimators._defaults import (
    auto_batch_norm,
    auto_batch_size,
    batch_size_for,
    precision_for,
)
from sklearn_deepfm.nn import MLP, has_batch_norm


def shared(*parts):
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared data absent: {path}")
    return path


# -- batch_size="auto" -------------------------------------------------------------


@pytest.mark.parametrize(
    "n_train, expected",
    [(1, 1), (10, 10), (200, 16), (512, 16), (6_400, 200), (32_767, 1023), (10**7, 1024)],
)
def test_auto_batch_size_rule(n_train, expected):
    assert auto_batch_size(n_train) == expected


@pytest.mark.parametrize(
    "n_train, expected", [(10, 10), (200, 16), (6_400, 200), (8_192, 256), (72_000, 256)]
)
def test_the_regressors_auto_batch_stops_at_256(n_train, expected):
    # MovieLens 100K's 72,000 training rows keep the batch of 256 that rating regression
    # did better with than 1024
    assert auto_batch_size(n_train, max_batch=DeepFMRegressor._auto_batch_max) == expected


@pytest.mark.parametrize(
    "batch_size, n_train, expected",
    [("auto", 6_400, 200), ("auto", 181_825, 2 * 1024), (256, 181_825, 256), (4096, 3000, 3000)],
)
def test_data_parallel_auto_batch_is_per_process(batch_size, n_train, expected):
    # two ranks: "auto" gives each its share's batch (one process's steps on small data,
    # twice the rows per step on large); an int stays the global batch of one process
    assert batch_size_for(batch_size, n_train, processes=2) == expected


@pytest.mark.parametrize("batch_size, expected", [("auto", 16), (64, 64), (5000, 540)])
def test_fit_records_the_batch_size_used(one_thread, batch_size, expected):
    # under 2,000 rows no validation split: all 540 rows train; 5000 is capped at 540
    X, y = make_ctr_classification(n_samples=540, random_state=0)
    clf = DeepFMClassifier(batch_size=batch_size, max_epochs=1, random_state=0).fit(X, y)
    assert clf.batch_size_ == expected
    assert isinstance(clf.batch_size_, int)
    assert clf.get_params()["batch_size"] == batch_size  # the parameter stays as given


@pytest.mark.parametrize("params, expected", [({}, 16), ({"batch_size": 64}, 64)])
def test_the_regressors_default_batch_follows_the_rows(one_thread, params, expected):
    # the 200 rows of scikit-learn's check_regressors_train: 13 steps an epoch, not one
    X, y = make_regression(n_samples=200, n_features=10, random_state=0)
    reg = DeepFMRegressor(max_epochs=1, random_state=0, **params).fit(X, y)
    assert reg.batch_size_ == expected


def test_three_epoch_grid_search_on_a_few_thousand_frappe_rows(one_thread):
    # With batches of 1024, the 3,600 training rows of a fold made 4 steps an epoch:
    # CV AUC about 0.71, where one-hot logistic regression reaches 0.84.
    X, y = load_frappe(shared("frappe", "frappe.train.libfm"), return_X_y=True)
    rows = np.random.default_rng(0).permutation(len(y))[:6000]
    pipe = make_pipeline(FieldEncoder(), DeepFMClassifier(max_epochs=3, random_state=0))
    search = GridSearchCV(pipe, {"deepfmclassifier__dropout": [0.2, 0.5]}, cv=3, scoring="roc_auc")
    search.fit(X.iloc[rows], y[rows])
    assert search.best_score_ > 0.8, search.cv_results_["mean_test_score"]


# -- batch_norm="auto" ----------------------------------------------------------------


@pytest.mark.parametrize(
    "class_counts, expected",
    [
        ([4_515, 1_245], False),  # the Criteo slice's training split
        ([59_864, 136], False),  # TalkingData: many rows, few downloads
        ([23_079, 11_553], True),  # Frappe
        ([5_000, 5_000], True),
        ([100_000, 4_999], False),
        ([1_000], False),  # one class (a first partial_fit chunk)
    ],
)
def test_auto_batch_norm_rule(class_counts, expected):
    assert auto_batch_norm(class_counts) is expected


@pytest.mark.parametrize(
    "batch_norm, n_samples, rate, expected",
    [
        ("auto", 3_000, 0.5, False),
        ("auto", 12_000, 0.5, True),  # 5,400 of each class after the 10% validation split
        ("auto", 12_000, 0.2, False),
        (True, 3_000, 0.5, True),
        (False, 12_000, 0.5, False),
    ],
)
def test_fit_records_the_batch_norm_used(one_thread, batch_norm, n_samples, rate, expected):
    X, _ = make_ctr_classification(n_samples=n_samples, random_state=0)
    y = np.random.default_rng(0).permutation(np.arange(n_samples) < rate * n_samples)
    clf = DeepFMClassifier(batch_norm=batch_norm, max_epochs=1, random_state=0).fit(X, y)
    assert clf.batch_norm_ is expected
    assert has_batch_norm(clf.net_.module_) is expected
    assert clf.get_params()["batch_norm"] == batch_norm  # the parameter stays as given


# -- precision="auto" ----------------------------------------------------------------


@pytest.mark.parametrize(
    "avx512_bf16, amx, device, expected",
    [
        (True, False, "cpu", "bfloat16"),
        (False, True, "cpu", "bfloat16"),
        (False, False, "cpu", "float32"),  # emulated bfloat16 is slower than float32
        (True, True, "cuda", "float32"),  # GPUs: not measured
        (True, True, torch.device("cuda:1"), "float32"),
    ],
)
def test_auto_precision_rule(monkeypatch, avx512_bf16, amx, device, expected):
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: avx512_bf16)
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: amx)
    assert precision_for("auto", device) == expected
    assert precision_for("float32", device) == "float32"
    assert precision_for("bfloat16", device) == "bfloat16"


def test_fit_records_the_precision_and_trains_its_deep_part_in_it(one_thread):
    X, y = make_ctr_classification(n_samples=4_000, random_state=0)
    train, test = slice(0, 3_000), slice(3_000, None)
    auc, proba = {}, {}
    for precision in ("float32", "bfloat16"):
        clf = DeepFMClassifier(precision=precision, max_epochs=3, random_state=0)
        clf.fit(X[train], y[train])
        assert clf.precision_ == precision
        mlp = next(m for m in clf.net_.module_.modules() if isinstance(m, MLP))
        assert mlp.training_dtype == (torch.bfloat16 if precision == "bfloat16" else None)
        proba[precision] = clf.predict_proba(X[test])[:, 1]
        auc[precision] = roc_auc_score(y[test], proba[precision])
    assert not np.array_equal(proba["float32"], proba["bfloat16"])  # each trained its own way
    assert abs(auc["bfloat16"] - auc["float32"]) < 0.01, auc
    auto = DeepFMClassifier(max_epochs=1, random_state=0).fit(X[train], y[train])
    assert auto.precision_ == precision_for("auto", "cpu")
    assert auto.get_params()["precision"] == "auto"  # the parameter stays as given


def test_bad_precision_is_refused_by_name():
    X, y = make_ctr_classification(n_samples=100, random_state=0)
    with pytest.raises(ValueError, match="'precision' parameter"):
        DeepFMRegressor(precision="float16").fit(X, y.astype(float))


# -- integer ids under categorical_features="auto" ---------------------------------


def categorical_columns(X, **params):
    encoder = FieldEncoder(**params).fit(X)
    return [
        name for name, f in zip(X.columns, encoder._fields, strict=True) if f.kind == "categorical"
    ]


def test_movielens_user_and_item_ids_are_categorical():
    ratings = pd.read_csv(
        shared("movielens_100k", "u.data"), sep="\t", names=["user_id", "item_id", "rating", "ts"]
    )
    users = pd.read_csv(
        shared("movielens_100k", "u.user"),
        sep="|",
        names=["user_id", "age", "gender", "job", "zip"],
    )
    X = ratings.merge(users, on="user_id").drop(columns=["rating", "ts"])
    # user_id and item_id are int64: before the rule they fell into 16 quantile bins
    assert categorical_columns(X) == ["user_id", "item_id", "gender", "job", "zip"]
    encoder = FieldEncoder().fit(X)
    assert encoder.cardinalities_[0] == 943 + 1 and encoder.cardinalities_[1] == 1682 + 1
    # an explicit list overrides the rule: the ids left out are binned
    listed = ["gender", "job", "zip"]
    assert categorical_columns(X, categorical_features=listed) == listed


def test_avazu_integer_columns():
    X = pd.read_csv(shared("avazu_9k", "avazu_9k.csv")).drop(columns=["click", "id"])
    integers = [c for c in X.columns if pd.api.types.is_integer_dtype(X[c])]
    categorical = set(categorical_columns(X))
    # the names say ids or codes; the anonymised C1, C14..C21 and banner_pos do not,
    # so they stay binned unless listed (quality.py lists every Avazu column)
    assert sorted(categorical & set(integers)) == ["device_conn_type", "device_type"]
    assert set(X.columns) - set(integers) <= categorical  # the hex ids: strings


def test_talkingdata_ids_are_categorical():
    X = pd.read_csv(shared("talkingdata_100k", "train_sample.csv"), nrows=5000)
    X = X.rename(columns={"..ip": "ip"}).drop(columns=["attributed_time", "is_attributed"])
    assert categorical_columns(X) == ["ip", "app", "device", "os", "channel", "click_time"]


def test_criteo_counts_stay_binned():
    X = pd.DataFrame({f"I{i}": np.arange(100) * i for i in range(1, 4)} | {"user_age": 1})
    assert categorical_columns(X) == []
