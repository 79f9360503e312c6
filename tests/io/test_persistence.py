"""save and load: identical predictions, no pickle, and refusal of files we cannot trust."""

import io
import json
import pickle
import sys
import warnings
import zipfile

import joblib
import numpy as np
import pandas as pd
import pytest
import torch
from conftest import MODEL_NAMES
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_deepfm import DeepFMClassifier, FieldEncoder, make_ctr_classification
from sklearn_deepfm.io._persistence import FORMAT_VERSION, load, save

pytest.importorskip("safetensors")

FAST = dict(embedding_dim=4, hidden_layer_sizes=(16,), max_epochs=2, batch_size=64)


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def ctr_frame():
    X, y = make_ctr_classification(n_samples=300, n_numeric=2, as_frame=True, random_state=0)
    return X.iloc[:200], y.iloc[:200], X.iloc[200:]


@pytest.fixture(scope="module")
def pipeline(ctr_frame):
    X, y, _ = ctr_frame
    model = make_pipeline(
        FieldEncoder(numeric_encoding="value"),
        DeepFMClassifier(early_stopping=True, random_state=0, **FAST),
    ).set_output(transform="pandas")
    return model.fit(X, np.where(y == 1, "click", "skip"))


@pytest.fixture(scope="module")
def saved(pipeline):
    buffer = io.BytesIO()
    save(pipeline, buffer)
    return buffer.getvalue()


def round_trip(obj, device="cpu", **kwargs):
    buffer = io.BytesIO()
    save(obj, buffer, **kwargs)
    buffer.seek(0)
    return load(buffer, device=device)


def rewrite(data, edit=None, weights=None):
    """Return the model file ``data`` with its JSON edited in place, or other weights."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        document = json.loads(archive.read("model.json"))
        stored = archive.read("weights.safetensors")
    if edit is not None:
        edit(document)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("model.json", json.dumps(document))
        archive.writestr("weights.safetensors", stored if weights is None else weights)
    return out.getvalue()


def classifier_node(document):
    return document["object"]["steps"][1][1]


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


# -- round trips -----------------------------------------------------------------------


def messy_frame(n, seed, unseen=False):
    """Categories of every kind save must handle: str, int, float, bool, mixed, missing."""
    rng = np.random.default_rng(seed)
    mixed = np.array([1, "1", 2.5, "x", None, np.nan, 7], dtype=object)
    frame = pd.DataFrame(
        {
            "site": pd.Series(rng.choice(["a", "b", "c", None], n), dtype="str"),
            "app": pd.Series(rng.choice(["é", "x y", ""], n), dtype=object),
            "device": pd.Categorical(rng.choice(["ios", "android"], n)),
            "is_new": rng.random(n) < 0.3,
            "mixed": mixed[rng.integers(0, len(mixed), n)],
            "user_id": rng.integers(0, 20, n),
            "ratio": rng.choice([0.5, 1.0, np.inf, np.nan], n),
            "clicks": np.where(rng.random(n) < 0.1, np.nan, np.floor(rng.lognormal(1, 1.5, n))),
        }
    )
    if unseen:
        frame.loc[::3, ["site", "app", "mixed"]] = ["zz", "new", 99]
        frame.loc[1::3, ["site", "app", "mixed", "user_id", "ratio", "clicks"]] = None
        frame.loc[2::3, ["user_id", "ratio", "clicks"]] = [-5, 3.0, 1e9]
    return frame


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
    train, test = messy_frame(200, 0), messy_frame(60, 1, unseen=True)
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


def test_string_labels_value_fields_and_calibration_round_trip(pipeline, saved, ctr_frame):
    X, y, X_test = ctr_frame
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


def test_pickle_and_joblib_still_round_trip(pipeline, ctr_frame, tmp_path):
    _, _, X_test = ctr_frame
    expected = pipeline.predict_proba(X_test)
    np.testing.assert_array_equal(
        pickle.loads(pickle.dumps(pipeline)).predict_proba(X_test), expected
    )
    joblib.dump(pipeline, tmp_path / "model.joblib")
    np.testing.assert_array_equal(
        joblib.load(tmp_path / "model.joblib").predict_proba(X_test), expected
    )


# -- a file cannot run code ------------------------------------------------------------


def test_loading_never_unpickles(saved, monkeypatch):
    def forbidden(*args, **kwargs):
        raise AssertionError("load must not unpickle")

    for owner, name in [(pickle, "load"), (pickle, "loads"), (torch, "load"), (joblib, "load")]:
        monkeypatch.setattr(owner, name, forbidden)
    monkeypatch.setattr(pickle, "Unpickler", forbidden)
    load(io.BytesIO(saved))


@pytest.mark.parametrize("name", ["torch.nn.Sequential", "os.system", "evil_module_xyz.Net"])
def test_only_allowed_network_classes_are_built(saved, name):
    def edit(document):
        classifier_node(document)["module"]["class"] = name

    with pytest.raises(ValueError, match=r"may only name \['DeepFM', 'PNN'\]"):
        load(io.BytesIO(rewrite(saved, edit)))
    assert "evil_module_xyz" not in sys.modules


@pytest.mark.parametrize(
    "edit, message",
    [
        (
            lambda d: d["object"].update(type="sklearn.linear_model.LogisticRegression"),
            "object of type 'sklearn.linear_model.LogisticRegression'",
        ),
        (
            lambda d: classifier_node(d)["params"].update(optimizer="torch.optim.SGD"),
            r"parameters \['optimizer'\] that this version does not have",
        ),
        (
            lambda d: classifier_node(d)["module"]["args"].update(act="os.system"),
            r"DeepFM parameters \['act'\]",
        ),
        (
            lambda d: classifier_node(d)["params"].update(random_state={"$pickle": "gASV"}),
            "unknown value",
        ),
        (
            lambda d: d["object"]["steps"][0][1]["fitted"]["fields"][0].update(cardinality=99),
            "categorical field 0 .'C1'. is inconsistent",
        ),
        (
            lambda d: classifier_node(d)["module"]["args"].update(embedding_dim=5),
            "do not fit the DeepFM network",
        ),
        (
            lambda d: classifier_node(d)["fitted"]["$dict"].append(["predict", 1]),
            "sets the attribute 'predict', which it may not",
        ),
        (
            lambda d: classifier_node(d)["fitted"]["$dict"].append(["__class__", "x"]),
            "sets the attribute '__class__'",
        ),
        (
            lambda d: classifier_node(d)["fitted"]["$dict"].append(["x", {"$tensor": "nope"}]),
            "unknown value",
        ),
        (lambda d: d.pop("object"), "not a valid sklearn-deepfm model file"),
    ],
)
def test_tampered_files_are_refused(saved, edit, message):
    with pytest.raises(ValueError, match=message):
        load(io.BytesIO(rewrite(saved, edit)))


# -- versions and foreign or corrupted files -------------------------------------------


def test_a_newer_major_format_version_is_refused_with_advice(saved, tmp_path):
    def edit(document):
        document.update(format_version="3.0", library_version="9.0.0")

    path = tmp_path / "future.deepfm"
    path.write_bytes(rewrite(saved, edit))
    with pytest.raises(
        ValueError,
        match=r"sklearn-deepfm 9.0.0 in file format version 3.0.*reads format 1.x, 2.x\). Upgrade",
    ):
        load(path)


def test_an_older_major_version_is_refused_and_a_newer_minor_loads(saved):
    with pytest.raises(ValueError, match="version 0.3, which sklearn-deepfm .* cannot read"):
        load(io.BytesIO(rewrite(saved, lambda d: d.update(format_version="0.3"))))
    major = FORMAT_VERSION.split(".")[0]
    load(io.BytesIO(rewrite(saved, lambda d: d.update(format_version=f"{major}.99"))))
    load(io.BytesIO(rewrite(saved, lambda d: d.update(format_version="1.0"))))


def zip_of(model_json=None, weights_safetensors=b""):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        if model_json is not None:
            archive.writestr("model.json", model_json)
        archive.writestr("weights.safetensors", weights_safetensors)
    return out.getvalue()


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda data: b"label,C1\n1,a\n", "not a zip archive"),
        (lambda data: b"", "not a zip archive"),
        (lambda data: data[: len(data) // 2], "not a zip archive"),
        (lambda data: zip_of(weights_safetensors=b"x"), "lacks model.json"),
        (lambda data: zip_of(model_json=b'{"format": "onnx"}'), 'does not declare "format"'),
        (lambda data: zip_of(model_json=b"[1, 2"), "may be corrupted"),
        (lambda data: zip_of(model_json=b'{"format_version": NaN}'), "may be corrupted"),
        (
            lambda data: rewrite(data, weights=b"\x08\x00\x00\x00\x00\x00\x00\x00garbage!"),
            "unreadable",
        ),
    ],
)
def test_foreign_and_corrupted_files_are_refused(saved, tmp_path, make, message):
    path = tmp_path / "model.deepfm"
    path.write_bytes(make(saved))
    with pytest.raises(ValueError, match=message):
        load(path)


def test_a_flipped_byte_is_detected(saved):
    with zipfile.ZipFile(io.BytesIO(saved)) as archive:
        info = archive.getinfo("weights.safetensors")
    damaged = bytearray(saved)
    damaged[info.header_offset + 30 + len(info.filename) + info.compress_size // 2] ^= 0xFF
    with pytest.raises(ValueError, match="may be corrupted"):
        load(io.BytesIO(bytes(damaged)))


# -- what save refuses -----------------------------------------------------------------


def test_save_refuses_what_it_could_not_load_faithfully(ctr_frame):
    X, _, _ = ctr_frame
    with pytest.raises(NotFittedError):
        save(FieldEncoder(), io.BytesIO())
    with pytest.raises(TypeError, match="got StandardScaler. Use pickle or joblib"):
        save(make_pipeline(StandardScaler()), io.BytesIO())
    dates = pd.DataFrame({"day": pd.to_datetime(["2024-01-01", "2024-01-02"])})
    encoder = FieldEncoder(categorical_features=["day"]).fit(dates)
    with pytest.raises(TypeError, match="category .* of column 'day'.* not Timestamp"):
        save(encoder, io.BytesIO())
