"""FieldEncoder(hash_buckets=...): codes from a hash that no process, platform or storage moves.

The reference is an independent SipHash-2-4 in pure Python, checked against the
algorithm's published test vector, followed by pandas' 64-bit finaliser: if the hash
the encoder uses ever changes, these tests fail.
"""

import io
import json
import os
import pickle
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from conftest import SHARED_DATA, STRING_STORAGES

from sklearn_deepfm import FieldEncoder, export_vocabularies, load, save

CRITEO = SHARED_DATA / "criteo_8k" / "criteo_8k.txt"
KEY = b"sklearn-deepfm/1"
_MASK = 2**64 - 1


def _rotate(x, bits):
    return ((x << bits) | (x >> (64 - bits))) & _MASK


def siphash24(key, data):
    """SipHash-2-4 of ``data`` (bytes) with a 16-byte ``key`` (Aumasson and Bernstein, 2012)."""
    k0, k1 = int.from_bytes(key[:8], "little"), int.from_bytes(key[8:], "little")
    v = [k0 ^ 0x736F6D6570736575, k1 ^ 0x646F72616E646F6D]
    v += [k0 ^ 0x6C7967656E657261, k1 ^ 0x7465646279746573]

    def rounds(n):
        for _ in range(n):
            v[0] = (v[0] + v[1]) & _MASK
            v[1] = _rotate(v[1], 13) ^ v[0]
            v[0] = _rotate(v[0], 32)
            v[2] = (v[2] + v[3]) & _MASK
            v[3] = _rotate(v[3], 16) ^ v[2]
            v[0] = (v[0] + v[3]) & _MASK
            v[3] = _rotate(v[3], 21) ^ v[0]
            v[2] = (v[2] + v[1]) & _MASK
            v[1] = _rotate(v[1], 17) ^ v[2]
            v[2] = _rotate(v[2], 32)

    end = len(data) - len(data) % 8
    for start in range(0, end, 8):
        m = int.from_bytes(data[start : start + 8], "little")
        v[3] ^= m
        rounds(2)
        v[0] ^= m
    last = (len(data) & 0xFF) << 56 | int.from_bytes(data[end:], "little")
    v[3] ^= last
    rounds(2)
    v[0] ^= last
    v[2] ^= 0xFF
    rounds(4)
    return v[0] ^ v[1] ^ v[2] ^ v[3]


def reference_code(text, n_buckets):
    """The documented code of a value whose string is ``text``."""
    h = siphash24(KEY, text.encode("utf-8"))
    h ^= h >> 30
    h = (h * 0xBF58476D1CE4E5B9) & _MASK
    h ^= h >> 27
    h = (h * 0x94D049BB133111EB) & _MASK
    h ^= h >> 31
    return 1 + h % n_buckets


SITES = ["a", "b", "", "é", "10", "news.example.com", "Z"]


def sites_frame(storage="object"):
    sites = np.array(SITES + [None, "a", np.nan], dtype=object)
    frame = pd.DataFrame({"site": sites, "clicks": np.arange(len(sites), dtype=float)})
    return frame.astype({"site": STRING_STORAGES[storage]})


def test_the_reference_siphash_is_siphash():
    # the test vector of the SipHash paper (appendix A): key 00..0f, message 00..0e
    assert siphash24(bytes(range(16)), bytes(range(15))) == 0xA129CA6149BE45E5


def test_codes_are_the_documented_hash_and_stay_what_they_are():
    encoder = FieldEncoder(hash_buckets={"site": 1_000_003}).fit(sites_frame())
    codes = encoder.transform(sites_frame())[:, 0]
    expected = [reference_code(site, 1_000_003) for site in SITES]
    np.testing.assert_array_equal(codes[: len(SITES)], expected)
    assert codes[len(SITES) :].tolist() == [0, codes[0], 0]  # missing: 0
    # golden values, so that the reference and the encoder cannot drift together
    assert [reference_code("a", 2**32), reference_code("criteo", 1000)] == [3896837604, 460]
    golden = pd.DataFrame({"site": ["a", "criteo"]})
    for n_buckets, expected in ((2**32, 3896837604), (1000, 460)):
        encoder = FieldEncoder(hash_buckets=n_buckets).fit(golden)
        assert encoder.transform(golden)[int(n_buckets == 1000), 0] == expected


@pytest.mark.parametrize("storage", list(STRING_STORAGES))
def test_codes_are_the_same_in_every_storage_and_range(storage):
    reference = FieldEncoder(hash_buckets=97).fit(sites_frame()).transform(sites_frame())
    encoder = FieldEncoder(hash_buckets=97).fit(sites_frame(storage))
    assert encoder.cardinalities_.tolist()[0] == 98 and encoder.categories_[0] is None
    codes = encoder.transform(sites_frame(storage))
    np.testing.assert_array_equal(codes, reference)
    for i in range(len(codes)):  # one row at a time: the few-rows path
        np.testing.assert_array_equal(encoder.transform(sites_frame(storage).iloc[[i]]), codes[[i]])
    assert ((codes[:, 0] >= 1) & (codes[:, 0] <= 97)).sum() == len(SITES) + 1


def test_numbers_hash_as_their_decimal_string():
    frames = {
        "int": pd.Series([5, 7, 12345678901234], dtype="int64"),
        "float": pd.Series([5.0, 7.0, 12345678901234.0]),
        "nullable": pd.Series([5, 7, 12345678901234], dtype="Int64"),
        "object": pd.Series([5, 7.0, "12345678901234"], dtype=object),
        "category": pd.Series([5, 7, 12345678901234]).astype("category"),
    }
    expected = [reference_code(text, 1000) for text in ("5", "7", "12345678901234")]
    for name, column in frames.items():
        encoder = FieldEncoder(categorical_features=["x"], hash_buckets=1000)
        codes = encoder.fit_transform(pd.DataFrame({"x": column}))[:, 0]
        assert codes.tolist() == expected, name
    half = FieldEncoder(categorical_features=["x"], hash_buckets=1000)
    half = half.fit_transform(pd.DataFrame({"x": [0.5, True, False]}))[:, 0]
    assert half.tolist() == [reference_code(text, 1000) for text in ("0.5", "1", "0")]


def test_codes_are_the_same_in_other_processes():
    script = (
        "import json, pandas as pd\n"
        "from sklearn_deepfm import FieldEncoder\n"
        f"X = pd.DataFrame({{'site': {SITES!r}}})\n"
        "codes = FieldEncoder(hash_buckets=50).fit(X).transform(X)[:, 0]\n"
        "print(json.dumps(codes.tolist()))\n"
    )
    answers = []
    for seed in ("1", "2"):
        env = dict(os.environ, PYTHONHASHSEED=seed, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
        done = subprocess.run(
            [sys.executable, "-c", script],
            capture_output=True,
            text=True,
            timeout=60,
            env=env,
            check=True,
        )
        answers.append(json.loads(done.stdout))
    here = FieldEncoder(hash_buckets=50).fit(pd.DataFrame({"site": SITES}))
    assert answers[0] == answers[1] == here.transform(pd.DataFrame({"site": SITES}))[:, 0].tolist()


def test_criteo_categories_hash_alike_as_strings_or_categories():
    if not CRITEO.exists():
        pytest.skip(f"{CRITEO} is absent: the shared data lives outside the repository")
    from sklearn_deepfm.datasets import load_criteo

    strings = load_criteo(CRITEO, n_rows=2_000).drop(columns="label")
    categories = load_criteo(CRITEO, n_rows=2_000, categorical_dtype="category")
    categories = categories.drop(columns="label")
    encoder = FieldEncoder(hash_buckets=1 << 20, numeric_encoding="log_square")
    codes = encoder.fit(strings).transform(strings)
    np.testing.assert_array_equal(encoder.transform(categories), codes)
    c3 = strings.columns.get_loc("C3")
    value = strings["C3"].dropna().iloc[0]
    assert codes[strings["C3"].notna().to_numpy().argmax(), c3] == reference_code(value, 1 << 20)
    assert encoder.cardinalities_[c3] == (1 << 20) + 1


# -- the rest of the API ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "params, match",
    [
        ({"hash_buckets": {"clicks": 8}}, "column 'clicks', which is numeric and encoded as quan"),
        (
            {"hash_buckets": {"clicks": 8}, "numeric_encoding": "value"},
            "column 'clicks', which is numeric and encoded as its standardized value",
        ),
        (
            {"hash_buckets": {"genres": 8}, "multi_valued": {"genres": "|"}},
            "column 'genres', which is multi-valued",
        ),
        ({"hash_buckets": {"site": 0}}, r"maps the column 'site' to 0, but a number of buckets"),
        ({"hash_buckets": {"nope": 8}}, "hash_buckets names the column 'nope', which X does not"),
    ],
)
def test_hash_buckets_refuses_what_it_cannot_hash(params, match):
    X = pd.DataFrame({"site": ["a", "b"], "clicks": [1.0, 2.0], "genres": ["x|y", "y"]})
    with pytest.raises(ValueError, match=match):
        FieldEncoder(**params).fit(X)


def test_an_int_hashes_every_categorical_column_but_lists():
    X = pd.DataFrame({"site": ["a", "b"], "user_id": [3, 4], "genres": ["x|y", "y"], "n": [1, 2]})
    encoder = FieldEncoder(hash_buckets=10, multi_valued={"genres": "|"}, n_bins=2).fit(X)
    state = encoder._get_fitted_state()["fields"]
    assert [field["kind"] for field in state] == ["hashed", "hashed", "multi_valued", "quantile"]
    assert encoder.cardinalities_.tolist() == [11, 11, 4, 3]


def test_inverse_transform_names_no_bucket():
    encoder = FieldEncoder(hash_buckets={"site": 10}).fit(sites_frame())
    back = encoder.inverse_transform(encoder.transform(sites_frame()))
    assert back[: len(SITES), 0].tolist() == [None] * len(SITES)
    assert pd.isna(back[len(SITES), 0]) and back[len(SITES), 0] is not None
    assert all(isinstance(v, pd.Interval) for v in back[:, 1])  # the other fields are named
    with pytest.raises(ValueError, match=r"codes of column 'site' must be integers in \[0, 11\)"):
        encoder.inverse_transform(np.array([[11, 1]]))


def test_a_warm_start_keeps_hashed_fields():
    encoder = FieldEncoder(hash_buckets={"site": 10}, warm_start=True).fit(sites_frame())
    codes = encoder.transform(sites_frame())
    encoder.fit(pd.DataFrame({"site": ["brand new"], "clicks": [1.0]}))
    np.testing.assert_array_equal(encoder.transform(sites_frame()), codes)
    assert encoder.cardinalities_[0] == 11
    with pytest.raises(ValueError, match="'site' was fitted as a hashed field of 10 buckets"):
        encoder.set_params(hash_buckets={"site": 20}).fit(sites_frame())


def test_a_hashed_encoder_round_trips_and_exports_its_rule(tmp_path):
    encoder = FieldEncoder(hash_buckets={"site": 64}).fit(sites_frame())
    X = sites_frame("str")
    buffer = io.BytesIO()
    save(encoder, buffer)
    for other in (load(io.BytesIO(buffer.getvalue())), pickle.loads(pickle.dumps(encoder))):
        np.testing.assert_array_equal(other.transform(X), encoder.transform(X))
        assert other._get_fitted_state() == encoder._get_fitted_state()
    export_vocabularies(encoder, tmp_path / "vocabularies.json")
    document = json.loads((tmp_path / "vocabularies.json").read_text(encoding="utf-8"))
    assert document["fields"][0] == {
        "name": "site",
        "kind": "hashed",
        "cardinality": 65,
        "missing_code": 0,
        "n_buckets": 64,
        "hash_key": "sklearn-deepfm/1",
    }
    assert "SipHash-2-4" in document["rules"]["hashed"] and document["format_version"] == "1.2"


def test_loading_refuses_hashed_fields_that_contradict_the_parameters():
    encoder = FieldEncoder(hash_buckets={"site": 64}).fit(sites_frame())
    state = encoder._get_fitted_state()
    other = FieldEncoder(hash_buckets={"site": 32})
    with pytest.raises(ValueError, match=r"has kind 'hashed', which contradicts hash_buckets"):
        other._set_fitted_state(state)
    state["fields"][0]["hash_key"] = "another key!!!!!"
    with pytest.raises(ValueError, match="hashes with the key 'another key!!!!!'"):
        encoder._set_fitted_state(state)


def test_raw_onnx_refuses_a_hashed_column_naming_it(tmp_path):
    pytest.importorskip("onnx")
    pytest.importorskip("onnxscript")
    from sklearn.pipeline import make_pipeline

    from sklearn_deepfm import DeepFMClassifier, export_onnx

    X = pd.DataFrame({"site": ["a", "b", "c", "d"] * 5, "clicks": np.arange(20.0)})
    pipeline = make_pipeline(
        FieldEncoder(hash_buckets={"site": 16}),
        DeepFMClassifier(embedding_dim=2, hidden_layer_sizes=(4,), max_epochs=1, random_state=0),
    ).fit(X, np.arange(20) % 2)
    with pytest.raises(ValueError, match="the column 'site' is hashed"):
        export_onnx(pipeline, tmp_path / "raw.onnx", raw=True)
    assert not (tmp_path / "raw.onnx").exists()
