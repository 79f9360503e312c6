"""Exports for serving: ONNX and torch.export match predict_proba; vocabularies reproduce codes."""

import json
import math
import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from io_cases import FAST, ctr_rows, frame_of_every_kind
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_deepfm import DeepFMClassifier, FieldEncoder
from sklearn_deepfm.io._export import export_onnx, export_torch, export_vocabularies

# (numeric_encoding, model): value fields reach the network as values, PNN's products export
CASES = [("quantile", "deepfm"), ("value", "deepfm"), ("value", "ipnn")]


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def ctr_frame():
    X, y, X_test = ctr_rows()
    X_test = X_test.copy()
    X_test.iloc[::4, 0] = "never-seen"
    X_test.iloc[1::4, [1, 6]] = None
    return X, y, X_test


@pytest.fixture(scope="module", params=CASES, ids=["-".join(case) for case in CASES])
def fitted(request, ctr_frame):
    """A fitted pipeline whose network depends strongly on its input, and calibrated."""
    numeric_encoding, model = request.param
    X, y, _ = ctr_frame
    pipeline = make_pipeline(
        FieldEncoder(numeric_encoding=numeric_encoding),
        DeepFMClassifier(model=model, random_state=0, **FAST),
    ).fit(X, y)
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():  # 2 epochs barely move the weights: shake them so that all matter
        for parameter in pipeline[-1].net_.module_.parameters():
            parameter.add_(0.5 * torch.randn(parameter.shape, generator=generator))
    pipeline[-1].calibration_ = (1.3, -0.2)
    return pipeline


def model_inputs(pipeline, X):
    encoded = pipeline[0].transform(X)
    inputs = {"codes": encoded.astype(np.int64)}
    if pipeline[-1].value_fields_.any():
        inputs["values"] = encoded.astype(np.float32)
    return inputs


def test_onnx_matches_predict_proba_for_any_batch_size(fitted, ctr_frame, tmp_path):
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnxscript")
    _, _, X_test = ctr_frame
    export_onnx(fitted, tmp_path / "model.onnx")
    session = ort.InferenceSession(tmp_path / "model.onnx", providers=["CPUExecutionProvider"])
    inputs = model_inputs(fitted, X_test)
    assert [i.name for i in session.get_inputs()] == list(inputs)
    assert [o.name for o in session.get_outputs()] == ["logit", "probability"]
    assert session.get_inputs()[0].shape == ["batch", X_test.shape[1]]

    expected = fitted.predict_proba(X_test)[:, 1]
    assert expected.std() > 0.05, "the test needs predictions that differ"
    logit, probability = session.run(None, inputs)
    np.testing.assert_allclose(probability, expected, rtol=0, atol=1e-5)
    np.testing.assert_allclose(logit, fitted.decision_function(X_test), rtol=1e-5, atol=1e-4)
    one_row = {name: array[:1] for name, array in inputs.items()}
    np.testing.assert_allclose(session.run(None, one_row)[1], expected[:1], rtol=0, atol=1e-5)

    metadata = session.get_modelmeta().custom_metadata_map
    assert json.loads(metadata["sklearn_deepfm.field_names"]) == list(X_test.columns)
    assert json.loads(metadata["sklearn_deepfm.calibration"]) == [1.3, -0.2]
    assert json.loads(metadata["sklearn_deepfm.classes"]) == [0, 1]


def test_exported_networks_ignore_the_entries_of_the_other_kind(fitted, ctr_frame, tmp_path):
    """Codes of value fields and values of code fields may hold anything."""
    if not fitted[-1].value_fields_.any():
        pytest.skip("no value fields")
    _, _, X_test = ctr_frame
    export_torch(fitted, tmp_path / "model.pt2")
    network = torch.export.load(tmp_path / "model.pt2").module()
    inputs = {k: torch.from_numpy(v) for k, v in model_inputs(fitted, X_test).items()}
    noisy = {k: v.clone() for k, v in inputs.items()}
    noisy["codes"][:, fitted[-1].value_fields_] = 7
    noisy["values"][:, ~fitted[-1].value_fields_] = -3.5
    torch.testing.assert_close(network(**noisy), network(**inputs), rtol=0, atol=0)


def test_torch_export_matches_predict_proba(fitted, ctr_frame, tmp_path):
    _, _, X_test = ctr_frame
    export_torch(fitted[-1], tmp_path / "model.pt2")
    extra = {"sklearn_deepfm.json": ""}
    program = torch.export.load(tmp_path / "model.pt2", extra_files=extra)
    inputs = {k: torch.from_numpy(v) for k, v in model_inputs(fitted, X_test).items()}
    with torch.no_grad():
        logit, probability = program.module()(**inputs)
        one_row = program.module()(**{k: v[:1] for k, v in inputs.items()})[1]
    expected = fitted.predict_proba(X_test)[:, 1]
    np.testing.assert_allclose(probability.numpy(), expected, rtol=0, atol=1e-5)
    np.testing.assert_allclose(one_row.numpy(), expected[:1], rtol=0, atol=1e-5)
    np.testing.assert_allclose(logit.numpy(), fitted.decision_function(X_test), atol=1e-4)
    assert json.loads(extra["sklearn_deepfm.json"])["value_fields"] == (
        fitted[-1].value_fields_.tolist()
    )


# -- vocabularies ----------------------------------------------------------------------


def exported_vocabularies(encoder, tmp_path):
    """Export the vocabularies of ``encoder`` and read them back as strict JSON (no NaN)."""
    export_vocabularies(encoder, tmp_path / "vocabularies.json")
    with open(tmp_path / "vocabularies.json", encoding="utf-8") as file:
        return json.load(file, parse_constant=pytest.fail)


def is_missing(x):
    return x is None or (isinstance(x, float) and math.isnan(x))


def reference_encode(vocabulary, row):
    """Encode one row (a dict of plain values, None when missing) from the JSON alone."""
    out = []
    for field in vocabulary["fields"]:
        x, kind = row[field["name"]], field["kind"]
        missing = is_missing(x)
        if kind == "multi_valued":
            out.extend(reference_slots(field, x))
        elif kind == "value":
            out.append(0.0 if missing else (x - field["mean"]) / field["std"])
        elif missing:
            out.append(field["missing_code"])
        elif kind == "quantile":
            edges = field["edges"]
            out.append(1 + sum(x >= edge for edge in edges[1:-1]) if edges else 0)
        else:
            if kind == "log_square":
                x = float(math.floor(math.log(x) ** 2) if x > 2 else math.trunc(x))
            codes = {decode(value): code for value, code in field["categories"]}
            out.append(codes.get(x, vocabulary["reserved_code"]))
    return out


def reference_slots(field, cell):
    """A multi-valued field's slots, by the rule in words: split, cut, code, pad."""
    if is_missing(cell):
        values = []
    elif field["separator"] is not None:
        values = cell.split(field["separator"]) if cell else []
    else:
        values = list(cell)
    codes = {decode(value): code for value, code in field["categories"]}
    slots = [
        field["missing_code"] if is_missing(v) else codes.get(v, field["unknown_code"])
        for v in values[: field["width"]]
    ]
    return slots + [field["padding_code"]] * (field["width"] - len(slots))


def decode(value):
    return float(value["$float"]) if isinstance(value, dict) else value


def plain_rows(frame):
    rows = frame.astype(object).to_dict("records")
    return [
        {k: v if isinstance(v, list) or not pd.isna(v) else None for k, v in row.items()}
        for row in rows
    ]


@pytest.mark.parametrize("numeric_encoding", ["quantile", "log_square", "value"])
def test_vocabularies_reproduce_the_codes_of_held_out_rows(numeric_encoding, tmp_path):
    train = frame_of_every_kind(300, 0)
    test = frame_of_every_kind(90, 1, unseen=True)
    encoder = FieldEncoder(
        numeric_encoding=numeric_encoding,
        min_frequency=3,
        categorical_features=["site", "app", "device", "is_new", "mixed", "user_id", "ratio"],
    ).fit(train)
    vocabulary = exported_vocabularies(make_pipeline(encoder), tmp_path)
    assert [f["name"] for f in vocabulary["fields"]] == list(train.columns)
    assert [f["kind"] for f in vocabulary["fields"]][-2:] == [numeric_encoding] * 2
    expected = encoder.transform(test)
    got = np.array([reference_encode(vocabulary, row) for row in plain_rows(test)])
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)
    assert (expected[:, :7] == 0).any() and (got == 0).sum() == (expected == 0).sum()


@pytest.mark.parametrize("max_len", [None, 2])
def test_vocabularies_reproduce_the_slots_of_multi_valued_fields(max_len, tmp_path):
    rng = np.random.default_rng(0)
    genres = np.array(["Action", "Comedy", "Drama", "Film-Noir", "Sci-Fi"], dtype=object)

    def frame(n, extra=()):
        lists = [list(rng.choice([*genres, *extra], size=rng.integers(0, 5))) for _ in range(n)]
        tags = [[*values[:2], None] if i % 5 == 0 else values for i, values in enumerate(lists)]
        tags[1::9] = [None] * len(tags[1::9])
        return pd.DataFrame(
            {
                "genres": ["|".join(values) if i % 7 else None for i, values in enumerate(lists)],
                "site": rng.choice(["a", "b", None], n),
                "tags": tags,
            }
        )

    train, test = frame(300), frame(90, extra=["Western", ""])
    encoder = FieldEncoder(multi_valued={"genres": "|", "tags": None}, max_len=max_len)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # max_len cuts lists
        expected = encoder.fit(train).transform(test).to_numpy()
    vocabulary = exported_vocabularies(encoder, tmp_path)
    genres_field = vocabulary["fields"][0]
    assert genres_field["kind"] == "multi_valued" and genres_field["separator"] == "|"
    assert genres_field["width"] == (max_len or 4)
    assert (genres_field["padding_code"], genres_field["unknown_code"]) == (0, 1)
    assert genres_field["categories"][0] == ["Action", 2]
    assert "n_truncated" not in genres_field
    assert "multi_valued" in vocabulary["rules"]
    # 1.1 added the kind (later versions keep it)
    assert tuple(map(int, vocabulary["format_version"].split("."))) >= (1, 1)
    got = np.array([reference_encode(vocabulary, row) for row in plain_rows(test)])
    np.testing.assert_array_equal(got, expected)
    assert {0, 1}.issubset(set(got.ravel().tolist()))  # padding and unknown both occur


# -- errors ----------------------------------------------------------------------------


def test_exports_refuse_unfitted_or_foreign_models(tmp_path):
    with pytest.raises(NotFittedError):
        export_torch(DeepFMClassifier(), tmp_path / "model.pt2")
    with pytest.raises(TypeError, match="export_onnx takes a fitted DeepFMClassifier"):
        export_onnx(make_pipeline(StandardScaler()), tmp_path / "model.onnx")
    with pytest.raises(TypeError, match="takes a fitted FieldEncoder"):
        export_vocabularies(DeepFMClassifier(), tmp_path / "vocabularies.json")
