"""save and load: a loaded model is the saved one, and predicts and trains on as it would."""

import io
import pickle
import warnings
import zipfile

import joblib
import numpy as np
import pandas as pd
import pytest
import torch
from conftest import MODEL_NAMES
from io_cases import FAST, ctr_rows, frame_of_every_kind, saved_pipeline
from sklearn.base import clone
from sklearn.pipeline import Pipeline, make_pipeline

from sklearn_deepfm import DeepFMClassifier, FieldEncoder
from sklearn_deepfm.io._persistence import load, save

pytest.importorskip("safetensors")

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def ctr_frame():
    return ctr_rows()


def round_trip(obj, device="cpu", **kwargs):
    buffer = io.BytesIO()
    save(obj, buffer, **kwargs)
    buffer.seek(0)
    return load(buffer, device=device)


def assert_same_value(a, b, where):
    assert type(a) is type(b), where
    if isinstance(a, torch.Tensor):
        assert a.dtype == b.dtype and torch.equal(a, b), where
    elif isinstance(a, pd.Index):
        assert a.dtype == b.dtype and a.equals(b), where
        assert [type(v) for v in a] == [type(v) for v in b], where
    elif isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and a.shape == b.shape, where
        if a.dtype == object:
            assert [type(v) for v in a] == [type(v) for v in b], where
        np.testing.assert_array_equal(pd.isna(a), pd.isna(b), err_msg=where)
        np.testing.assert_array_equal(a[~pd.isna(a)], b[~pd.isna(b)], err_msg=where)
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_same_value(x, y, f"{where}[{i}]")
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for key in a:
            assert_same_value(a[key], b[key], f"{where}[{key!r}]")
    else:
        assert a == b or (pd.isna(a) and pd.isna(b)), where


def assert_same_state(loaded, original):
    """Every attribute, fitted and private, is restored; the net is compared by weights."""
    assert vars(loaded).keys() == vars(original).keys()
    for key, value in vars(original).items():
        if key != "net_":
            assert_same_value(vars(loaded)[key], value, key)
    if hasattr(original, "net_"):
        module, expected = loaded.net_.module_, original.net_.module_
        assert type(module) is type(expected) and not module.training
        for (key, a), (_, b) in zip(
            module.state_dict().items(), expected.state_dict().items(), strict=True
        ):
            assert torch.equal(a, b), key


@pytest.mark.parametrize(
    "params",
    [
        dict(categorical_features=["site", "app", "device", "is_new", "mixed", "user_id", "ratio"]),
        dict(numeric_encoding="log_square", min_frequency=5),
        dict(
            numeric_encoding="value",
            max_categories=2,
            categorical_features=["site", "app", "device", "is_new", "mixed"],
        ),
    ],
)
def test_encoder_round_trip_restores_its_state_and_codes(params):
    train, test = frame_of_every_kind(200, 0), frame_of_every_kind(60, 1, unseen=True)
    if "ratio" not in params.get("categorical_features", []):
        train, test = train.drop(columns="ratio"), test.drop(columns="ratio")
    encoder = FieldEncoder(**params).fit(train)
    loaded = round_trip(encoder)
    assert_same_state(loaded, encoder)
    np.testing.assert_array_equal(loaded.transform(test), encoder.transform(test))
    assert loaded.get_params() == encoder.get_params()


@pytest.mark.parametrize("model", MODEL_NAMES)
def test_classifier_round_trip_predicts_identically(model, ctr_frame):
    X, y, X_test = ctr_frame
    encoder = FieldEncoder().fit(X)
    classifier = DeepFMClassifier(model=model, random_state=0, **FAST)
    classifier.fit(encoder.transform(X), y)
    loaded = round_trip(classifier)
    assert_same_state(loaded, classifier)
    codes = encoder.transform(X_test)
    np.testing.assert_array_equal(loaded.predict_proba(codes), classifier.predict_proba(codes))


def test_string_labels_value_fields_and_calibration_round_trip(ctr_frame):
    X, y, X_test = ctr_frame
    pipeline, saved = saved_pipeline()
    loaded = load(io.BytesIO(saved))
    assert pipeline[-1].value_fields_.any() and pipeline[-1].calibration_ != (1.0, 0.0)
    assert_same_state(loaded[0], pipeline[0])
    assert_same_state(loaded[-1], pipeline[-1])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # e.g. no "X does not have valid feature names"
        np.testing.assert_array_equal(loaded.predict(X_test), pipeline.predict(X_test))
        np.testing.assert_array_equal(
            loaded.decision_function(X_test), pipeline.decision_function(X_test)
        )
        np.testing.assert_array_equal(loaded.predict_proba(X_test), pipeline.predict_proba(X_test))
    assert loaded.predict(X_test).dtype == pipeline.predict(X_test).dtype
    assert loaded[-1].net_.history[-1, "train_loss"] == pipeline[-1].net_.history[-1, "train_loss"]
    history = pipeline[-1].early_stopping_history_  # refitted: the early-stopped fit's epochs
    assert loaded[-1].early_stopping_history_ == history and "valid_loss" in history[-1]
    assert loaded.get_params(deep=True).keys() == pipeline.get_params(deep=True).keys()
    refit = clone(loaded).fit(X, np.where(y == 1, "click", "skip"))
    np.testing.assert_array_equal(refit.predict_proba(X_test), pipeline.predict_proba(X_test))


def test_nested_pipelines_and_passthrough_round_trip(ctr_frame):
    X, y, X_test = ctr_frame
    model = Pipeline(
        [
            ("encode", make_pipeline(FieldEncoder(), "passthrough")),
            ("nothing", None),
            ("classify", DeepFMClassifier(random_state=0, **FAST)),
        ]
    ).fit(X, y)
    loaded = round_trip(model)
    assert loaded.steps[1] == ("nothing", None) and loaded[0].steps[1][1] == "passthrough"
    np.testing.assert_array_equal(loaded.predict_proba(X_test), model.predict_proba(X_test))


def test_loading_maps_the_network_to_the_device_asked(ctr_frame):
    X, y, X_test = ctr_frame
    codes = FieldEncoder().fit_transform(X)
    classifier = DeepFMClassifier(random_state=0, **FAST).fit(codes, y)
    classifier.set_params(device="cuda:3")  # as if trained on a GPU: weights are saved on CPU
    loaded = round_trip(classifier, device=torch.device("cpu"))
    assert loaded.device == torch.device("cpu")
    assert all(t.device.type == "cpu" for t in loaded.net_.module_.state_dict().values())
    np.testing.assert_array_equal(loaded.predict_proba(codes), classifier.predict_proba(codes))


def test_random_state_instance_and_tuple_parameters_round_trip(ctr_frame):
    X, y, _ = ctr_frame
    codes = FieldEncoder().fit_transform(X)
    random_state = np.random.RandomState(3)
    classifier = DeepFMClassifier(random_state=random_state, **FAST).fit(codes, y)
    loaded = round_trip(classifier)
    assert loaded.hidden_layer_sizes == (16,)
    assert loaded.random_state.randint(10**9) == classifier.random_state.randint(10**9)


@pytest.mark.skipif(not hasattr(DeepFMClassifier, "partial_fit"), reason="needs continued training")
@pytest.mark.parametrize("model", ["deepfm", "ipnn"])
def test_continued_training_after_loading_goes_on_as_without_saving(model, ctr_frame):
    X, y, X_test = ctr_frame
    encoder = FieldEncoder().fit(X)
    codes, test_codes = encoder.transform(X), encoder.transform(X_test)
    classifier = DeepFMClassifier(model=model, dropout=0.5, random_state=0, **FAST)
    classifier.fit(codes, y)
    loaded = round_trip(classifier, include_optimizer=True)
    without_optimizer = round_trip(classifier)
    for each in (classifier, loaded, without_optimizer):
        each.partial_fit(codes, y)
        each.set_params(warm_start=True).fit(codes, y)
    expected = classifier.predict_proba(test_codes)
    np.testing.assert_array_equal(loaded.predict_proba(test_codes), expected)
    assert not np.array_equal(without_optimizer.predict_proba(test_codes), expected)
    assert len(loaded.net_.history) == len(classifier.net_.history)


def test_pickle_and_joblib_still_round_trip(ctr_frame, tmp_path):
    _, _, X_test = ctr_frame
    pipeline, _ = saved_pipeline()
    expected = pipeline.predict_proba(X_test)
    np.testing.assert_array_equal(
        pickle.loads(pickle.dumps(pipeline)).predict_proba(X_test), expected
    )
    joblib.dump(pipeline, tmp_path / "model.joblib")
    np.testing.assert_array_equal(
        joblib.load(tmp_path / "model.joblib").predict_proba(X_test), expected
    )


def test_a_crash_while_saving_leaves_the_previous_file_whole(ctr_frame, tmp_path, monkeypatch):
    X, y, X_test = ctr_frame
    model = make_pipeline(FieldEncoder(), DeepFMClassifier(random_state=0, **FAST)).fit(X, y)
    path = tmp_path / "model.deepfm"
    save(model, path)
    before = path.read_bytes()

    def crash(*args, **kwargs):
        raise OSError("disk full")

    with monkeypatch.context() as patch:
        patch.setattr(zipfile.ZipFile, "writestr", crash)
        with pytest.raises(OSError, match="disk full"):
            save(model, path)
    assert path.read_bytes() == before
    np.testing.assert_array_equal(load(path).predict_proba(X_test), model.predict_proba(X_test))
