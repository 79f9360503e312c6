"""What save and load refuse: files that could run code, were tampered with, come from
another format version or are corrupted, and objects a file cannot hold faithfully."""

import io
import json
import pickle
import sys
import zipfile

import joblib
import pandas as pd
import pytest
import torch
from io_cases import saved_pipeline
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_deepfm import FieldEncoder
from sklearn_deepfm.io._persistence import FORMAT_VERSION, load, save

pytest.importorskip("safetensors")

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def saved():
    _, data = saved_pipeline()
    return data


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


def test_save_refuses_what_it_could_not_load_faithfully():
    with pytest.raises(NotFittedError):
        save(FieldEncoder(), io.BytesIO())
    with pytest.raises(TypeError, match="got StandardScaler. Use pickle or joblib"):
        save(make_pipeline(StandardScaler()), io.BytesIO())
    dates = pd.DataFrame({"day": pd.to_datetime(["2024-01-01", "2024-01-02"])})
    encoder = FieldEncoder(categorical_features=["day"]).fit(dates)
    with pytest.raises(TypeError, match="category .* of column 'day'.* not Timestamp"):
        save(encoder, io.BytesIO())
