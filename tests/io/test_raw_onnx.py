"""export_onnx(raw=True): one graph from the raw columns, matching transform and predict_proba.

The encoder's nodes alone (``encoder_model``) are checked code for code against
``FieldEncoder.transform``, cheaply, on every storage and edge case; whole graphs against
``predict_proba``/``predict`` on real Criteo, Avazu and MovieLens rows and for every model.
"""

import ast
import importlib.util
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
import torch
from conftest import MODEL_NAMES, SHARED_DATA, TINY, raw_inputs
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_deepfm import DeepFMClassifier, DeepFMRegressor, FieldEncoder, export_onnx
from sklearn_deepfm.datasets import load_movielens_100k
from sklearn_deepfm.datasets._criteo import load_criteo
from sklearn_deepfm.io._raw_onnx import encoder_model
from sklearn_deepfm.preprocessing._encode import log_square_bins

ort = pytest.importorskip("onnxruntime")
pytest.importorskip("onnxscript")

pytestmark = pytest.mark.usefixtures("one_thread")

CRITEO = SHARED_DATA / "criteo_8k" / "criteo_8k.txt"
AVAZU = SHARED_DATA / "avazu_9k" / "avazu_9k.csv"
MOVIELENS = SHARED_DATA / "movielens_100k"
FAST = dict(TINY, max_epochs=2, random_state=0)
# Every way of storing a string column (conftest's STRING_STORAGES, and Arrow's own dtype).
STORAGES = {
    "object": object,
    "arrow": pd.ArrowDtype(pa.string()),
    "string_pyarrow": "string[pyarrow]",
    "string_python": "string[python]",
    "str": "str",
    "category": "category",
}
CATEGORICAL = ["site", "user_id", "ratio", "is_new"]  # of rows_with_edge_cases: ratio holds inf


# -- helpers ------------------------------------------------------------------------------


def session_of(model):
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    return ort.InferenceSession(
        model.SerializeToString(), options, providers=["CPUExecutionProvider"]
    )


def exported(pipeline, tmp_path):
    path = tmp_path / "raw.onnx"
    export_onnx(pipeline, path, raw=True)
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    return ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])


def shaken(pipeline):
    """2 epochs barely move the weights: shake them so that every input matters."""
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for parameter in pipeline[-1].net_.module_.parameters():
            parameter.add_(0.3 * torch.randn(parameter.shape, generator=generator))
    if isinstance(pipeline[-1], DeepFMClassifier):
        pipeline[-1].calibration_ = (1.3, -0.2)
    return pipeline


def assert_same_predictions(session, pipeline, X):
    """The graph's outputs equal predict_proba (or predict) to float32 precision."""
    outputs = session.run(None, raw_inputs(session, X))
    if isinstance(pipeline[-1], DeepFMClassifier):
        expected = pipeline.predict_proba(X)[:, 1]
        np.testing.assert_allclose(outputs[0], pipeline.decision_function(X), rtol=1e-4, atol=1e-4)
        tolerance = dict(rtol=0, atol=2e-6)
    else:  # float32 precision of the network's largest sums, in the units of y
        expected = pipeline.predict(X)
        tolerance = dict(rtol=1e-5, atol=1e-6 * np.abs(expected).max())
    assert outputs[-1].dtype == np.float32 and outputs[-1].shape == (len(X),)
    np.testing.assert_allclose(outputs[-1], expected, **tolerance)
    return expected


def assert_same_codes(encoder, X):
    """The encoder's nodes give transform's codes exactly, and its values to float32."""
    session = session_of(encoder_model(encoder))
    outputs = dict(
        zip(
            [o.name for o in session.get_outputs()],
            session.run(None, raw_inputs(session, X)),
            strict=True,
        )
    )
    expected = np.asarray(encoder.transform(X), dtype=np.float64)
    values = np.array(
        [
            f
            for f, s in zip(encoder.value_fields_, encoder.field_slices_, strict=True)
            for _ in range(s.stop - s.start)
        ]
    )
    np.testing.assert_array_equal(outputs["codes"][:, ~values], expected[:, ~values])
    if values.any():
        np.testing.assert_array_equal(
            outputs["values"][:, values], expected[:, values].astype(np.float32)
        )
    return outputs


def serve_example():
    """The example server, which must serve without sklearn_deepfm."""
    path = Path(__file__).resolve().parents[2] / "examples" / "serve_onnx.py"
    tree = ast.parse(path.read_text())
    imported = {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    }
    imported |= {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert imported == {"argparse", "json", "math", "sys", "http.server", "numpy", "onnxruntime"}
    spec = importlib.util.spec_from_file_location("serve_onnx", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def shared(path):
    if not path.exists():
        pytest.skip(f"{path} is absent: the shared data lives outside the repository")
    return path


# -- the encoder's nodes against transform ---------------------------------------------------


def rows_with_edge_cases(n, seed, storage=object):
    """Strings in ``storage``, numbers, a bool, separated lists: with missing, unseen and rare."""
    rng = np.random.default_rng(seed)
    site = rng.choice(["a", "b", "c", "é x", "rare", None], n, p=[0.3, 0.3, 0.2, 0.1, 0.005, 0.095])
    tags = rng.choice(["a|b", "b", "", None, "c|a|b|d", "a||b", "z|a", "b|b"], n)
    frame = pd.DataFrame(
        {
            "site": pd.Series(site, dtype=object).astype(storage),
            "tags": pd.Series(tags, dtype=object).astype(storage),
            "user_id": rng.integers(0, 30, n),
            "ratio": rng.choice([0.5, 1.0, np.inf, np.nan, -0.0], n),
            "is_new": rng.random(n) < 0.3,
            "clicks": np.where(rng.random(n) < 0.1, np.nan, np.floor(rng.lognormal(1, 2, n))),
            "price": rng.normal(0, 5, n),
        }
    )
    return frame


def unseen_rows(storage=object):
    """Rows of values fit never saw, missing everywhere, empty lists, extreme numbers."""
    frame = pd.DataFrame(
        {
            "site": pd.Series(["zz", None, "rare", "a", "b"], dtype=object).astype(storage),
            "tags": pd.Series(["q|r", None, "", "a|rare|a|a", "|"], dtype=object).astype(storage),
            "user_id": [99, -1, 3, 29, 0],
            "ratio": [2.0, np.nan, np.inf, -0.0, 0.0],
            "is_new": [True, False, True, False, True],
            "clicks": [1e12, np.nan, -3.5, 2.0, 2.0000001],
            "price": [-1e9, np.nan, 0.0, 3.25, 1e-300],
        }
    )
    return frame


@pytest.mark.parametrize("numeric_encoding", ["quantile", "log_square", "value"])
@pytest.mark.parametrize("storage", list(STORAGES))
def test_codes_match_transform_for_every_storage(storage, numeric_encoding):
    dtype = STORAGES[storage]
    X = rows_with_edge_cases(2_000, seed=0, storage=dtype)
    encoder = FieldEncoder(
        categorical_features=CATEGORICAL,
        numeric_encoding=numeric_encoding,
        multi_valued={"tags": "|"},
        min_frequency=20,
        max_len=3,
    )
    with pytest.warns(UserWarning, match="'tags'"):
        encoder.fit(X)
    assert "rare" not in encoder.categories_[0].tolist()  # rarer than min_frequency
    test = pd.concat([rows_with_edge_cases(300, seed=1, storage=dtype), unseen_rows(dtype)])
    test = test.astype({"site": dtype, "tags": dtype})
    finite = test[~np.isinf(test["clicks"])]
    with pytest.warns(UserWarning, match="'tags'"):
        assert_same_codes(encoder, finite)
        assert_same_codes(encoder, finite.iloc[-3:-2])  # one row


def test_log_square_bins_match_numpy_on_a_million_numbers():
    """The graph's Log, Pow and Floor against the encoder's numpy kernel, near every boundary."""
    rng = np.random.default_rng(0)
    x = np.concatenate(
        [
            np.arange(-50, 1_000_000, dtype=np.float64),
            np.exp(np.sqrt(np.arange(1, 400))),  # ln(x)^2 at an integer: the bin boundaries
            np.nextafter(np.exp(np.sqrt(np.arange(1, 400))), 0),
            rng.lognormal(2, 3, 100_000),
            [2.0, np.nextafter(2.0, 3), -1.5, -0.0, 1e300],
        ]
    )
    X = pd.DataFrame({"clicks": x})
    encoder = FieldEncoder(numeric_encoding="log_square").fit(X)
    assert len(encoder.categories_[0]) == len(np.unique(log_square_bins(x)))
    assert_same_codes(encoder, X)


def test_quantile_edges_are_compared_as_transform_does():
    x = np.round(np.random.default_rng(0).normal(0, 3, 5_000), 1)
    X = pd.DataFrame({"x": x, "constant": 7.0, "empty": np.nan})
    encoder = FieldEncoder(n_bins=64).fit(X.iloc[:4_000])
    edges = encoder.categories_[0]
    probe = pd.DataFrame({"x": np.concatenate([edges, np.nextafter(edges, -np.inf), x[4_000:]])})
    probe["constant"], probe["empty"] = 7.0, 1.0
    assert_same_codes(encoder, probe)


def test_infinite_numbers_flag_their_rows():
    X = rows_with_edge_cases(500, seed=0)
    encoder = FieldEncoder(categorical_features=CATEGORICAL, multi_valued={"tags": "|"}).fit(X)
    test = unseen_rows()
    session = session_of(encoder_model(encoder))
    infinite = session.run(
        ["infinite"], raw_inputs(session, test.assign(clicks=[1.0, np.inf, -np.inf, 2.0, np.nan]))
    )[0]
    assert infinite.tolist() == [False, True, True, False, False]
    with pytest.raises(ValueError, match="'clicks' must be finite"):
        encoder.transform(test.assign(clicks=np.inf))


# -- whole graphs against predict_proba --------------------------------------------------


def test_criteo_rows(tmp_path):
    X = load_criteo(shared(CRITEO), n_rows=3_000)
    y = X.pop("label")
    pipeline = make_pipeline(
        FieldEncoder(numeric_encoding="log_square", min_frequency=3), DeepFMClassifier(**FAST)
    ).fit(X[:2_500], y[:2_500])
    session = exported(shaken(pipeline), tmp_path)
    assert [i.type for i in session.get_inputs()] == ["tensor(double)"] * 13 + [
        "tensor(string)"
    ] * 26
    expected = assert_same_predictions(session, pipeline, X[2_500:])
    assert expected.std() > 0.05, "the test needs predictions that differ"
    assert_same_predictions(session, pipeline, X[2_999:])  # one row
    serve = serve_example()  # JSON records, null for missing, through the example server
    records = [
        {k: None if pd.isna(v) else v for k, v in row.items()}
        for row in X[2_900:].to_dict("records")
    ]
    answers = serve.RawModel(str(tmp_path / "raw.onnx")).predict(json.loads(json.dumps(records)))
    expected = pipeline.predict_proba(X[2_900:])[:, 1]
    np.testing.assert_allclose(answers["probability"], expected, rtol=0, atol=2e-6)
    metadata = session.get_modelmeta().custom_metadata_map
    assert json.loads(metadata["sklearn_deepfm.raw_inputs"])[0] == {
        "name": "I1",
        "type": "double",
        "kind": "log_square",
    }
    assert json.loads(metadata["sklearn_deepfm.calibration"]) == [1.3, -0.2]


def test_avazu_rows(tmp_path):
    X = pd.read_csv(shared(AVAZU), dtype={"id": str}).drop(columns=["id", "hour"])
    y = X.pop("click")
    strings = [name for name in X if pd.api.types.is_string_dtype(X[name])]
    integers = ["C1", "banner_pos", "device_type", "device_conn_type", "C14", "C15", "C16", "C17"]
    X.loc[::13, "site_id"] = None  # Avazu has no missing values: make some
    pipeline = make_pipeline(
        FieldEncoder(categorical_features=[*strings, *integers], min_frequency=2),
        DeepFMClassifier(**FAST),  # C18..C21 quantile-binned
    ).fit(X[:6_000], y[:6_000])
    session = exported(shaken(pipeline), tmp_path)
    assert session.get_inputs()[0].type == "tensor(double)"  # C1, integer categories
    expected = assert_same_predictions(session, pipeline, X[6_000:])
    assert expected.std() > 0.05
    assert_same_predictions(session, pipeline, X[6_000:6_001])


def test_movielens_regressor_ten_thousand_rows(tmp_path):
    X, rating = load_movielens_100k(shared(MOVIELENS), return_X_y=True)
    X = X[["user_id", "item_id", "age", "gender", "occupation", "genres", "year"]]
    X.loc[X.index[::50], "genres"] = ""  # empty lists
    X.loc[X.index[1::50], "genres"] = "Noir|Comedy|Unknown-genre"  # unseen values
    pipeline = make_pipeline(
        FieldEncoder(
            categorical_features=["user_id", "item_id", "gender", "occupation"],
            numeric_encoding="value",
            multi_valued={"genres": "|"},
            min_frequency=200,  # the rarest genres code as unknown
        ),
        DeepFMRegressor(**FAST),
    ).fit(X[:4_000], rating[:4_000])
    assert pipeline[0].categories_[5].size < 19
    session = exported(shaken(pipeline), tmp_path)
    assert [o.name for o in session.get_outputs()] == ["prediction"]
    test = X[50_000:60_000]
    assert_same_predictions(session, pipeline, test)
    assert_same_predictions(session, pipeline, test[:1])


@pytest.mark.parametrize("model", MODEL_NAMES)
def test_every_model(model, tmp_path):
    encodings = ["quantile", "log_square", "value"]
    encoding = encodings[MODEL_NAMES.index(model) % 3]
    X = rows_with_edge_cases(1_500, seed=0, storage="str")
    y = (X["site"].isin(["a", "b"]) ^ (X["price"] > 0)).astype(int)
    pipeline = make_pipeline(
        FieldEncoder(
            categorical_features=CATEGORICAL,
            numeric_encoding=encoding,
            multi_valued={"tags": "|"},
            min_frequency=20,
        ),
        DeepFMClassifier(model=model, **FAST),
    ).fit(X, y)
    session = exported(shaken(pipeline), tmp_path)
    test = pd.concat([rows_with_edge_cases(200, seed=1, storage="str"), unseen_rows("str")])
    test = test[~np.isinf(test["clicks"])].astype({"site": "str", "tags": "str"})
    expected = assert_same_predictions(session, pipeline, test)
    assert expected.std() > 0.01
    inputs = raw_inputs(session, test[:2])
    inputs["price"] = np.array([np.inf, 1.0])
    logit, probability = session.run(None, inputs)
    assert np.isnan(probability[0]) and not np.isnan(probability[1])


# -- refusals ------------------------------------------------------------------------------


def fitted(X, **encoder):
    y = np.arange(len(X)) % 2
    return make_pipeline(FieldEncoder(**encoder), DeepFMClassifier(**dict(FAST, max_epochs=1))).fit(
        X, y
    )


@pytest.mark.parametrize(
    "X, encoder, match",
    [
        (
            pd.DataFrame({"n": [1.0, 2.0] * 5, "tags": [["a", "b"], ["c"]] * 5}),
            {"multi_valued": ["tags"]},
            "multi-valued column 'tags' has list cells",
        ),
        (
            pd.DataFrame({"n": [1.0, 2.0] * 5, "app": ["", "x"] * 5}),
            {},
            "column 'app' knows the empty string",
        ),
        (
            pd.DataFrame({"n": [1.0, 2.0] * 5, "mixed": np.array([1, "1"] * 5, dtype=object)}),
            {},
            r"column 'mixed' holds categories of kinds \['number', 'string'\]",
        ),
        (
            pd.DataFrame({"n": [1.0, 2.0] * 5, "hash_id": [2**60, 3] * 5}),
            {},
            "column 'hash_id' holds categories of kinds",
        ),
        (
            pd.DataFrame({"n": [1.0, 2.0] * 5, "probability": ["a", "b"] * 5}),
            {},
            "column 'probability' would share its name with an output",
        ),
    ],
    ids=["list-cells", "empty-string", "mixed-kinds", "beyond-2**53", "output-name"],
)
def test_refused_columns_are_named(X, encoder, match, tmp_path):
    with pytest.raises(ValueError, match=match):
        export_onnx(fitted(X, **encoder), tmp_path / "raw.onnx", raw=True)
    assert not (tmp_path / "raw.onnx").exists()


def test_other_steps_are_refused(tmp_path):
    X = pd.DataFrame({"n": [1.0, 2.0] * 5, "site": ["a", "b"] * 5})
    pipeline = fitted(X)
    with pytest.raises(TypeError, match="takes a fitted make_pipeline"):
        export_onnx(pipeline[-1], tmp_path / "raw.onnx", raw=True)
    scaled = make_pipeline(FieldEncoder(), StandardScaler(), DeepFMClassifier(**FAST))
    with pytest.raises(TypeError, match=r"'StandardScaler'"):
        export_onnx(scaled, tmp_path / "raw.onnx", raw=True)
