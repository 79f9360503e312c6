"""FieldEncoder's codes: categories, missing values, numeric encodings and their inverse."""

import math

import numpy as np
import pandas as pd
import pytest
from conftest import SHARED_DATA
from encoder_cases import NUMERIC_ENCODINGS, make_frame

from sklearn_deepfm.preprocessing._encoder import FieldEncoder

CRITEO_SAMPLE = SHARED_DATA / "criteo_sample" / "criteo_sample.txt"


def assert_valid_codes(encoder, out):
    out = np.asarray(out)
    codes = out[:, ~encoder.value_fields_]
    assert np.array_equal(codes, np.round(codes))
    assert (codes >= 0).all()
    assert (codes < encoder.cardinalities_[~encoder.value_fields_]).all()


# codes -------------------------------------------------------------------------------


@pytest.mark.parametrize("numeric_encoding", NUMERIC_ENCODINGS)
@pytest.mark.parametrize("min_frequency, max_categories", [(None, None), (5, None), (None, 2)])
def test_codes_lie_in_each_fields_range(numeric_encoding, min_frequency, max_categories):
    X = make_frame()
    encoder = FieldEncoder(
        numeric_encoding=numeric_encoding,
        min_frequency=min_frequency,
        max_categories=max_categories,
    )
    out = encoder.fit_transform(X)
    assert out.shape == X.shape
    assert out.dtype == (np.float64 if numeric_encoding == "value" else np.int64)
    assert_valid_codes(encoder, out)
    assert_valid_codes(encoder, encoder.transform(make_frame(seed=1)))
    assert encoder.cardinalities_.dtype == np.int64
    assert len(encoder.categories_) == X.shape[1]


@pytest.mark.parametrize(
    "fit_values, new_values, expected",
    [
        (["a", "b", "a"], ["b", "zz", "a"], [2, 0, 1]),
        ([3, 1, 2], [2, 7, 1], [2, 0, 1]),
        ([True, False, True], [False, True], [1, 2]),
    ],
)
def test_known_values_get_sorted_codes_and_unseen_values_get_zero(fit_values, new_values, expected):
    encoder = FieldEncoder(categorical_features=["c"]).fit(pd.DataFrame({"c": fit_values}))
    out = encoder.transform(pd.DataFrame({"c": new_values}))
    assert out[:, 0].tolist() == expected


@pytest.mark.parametrize(
    "column, categorical_features",
    [
        (pd.Series(["a", None, "b", "a"], dtype="str"), "auto"),
        (pd.Series(["a", None, "b", "a"], dtype=object), "auto"),
        (pd.Series(["a", pd.NA, "b", "a"], dtype="string"), "auto"),
        (pd.Series(["a", np.nan, "b", "a"], dtype="category"), "auto"),
        (pd.Series([True, None, False, True], dtype="boolean"), "auto"),
        (pd.Series([1.5, None, 2.5, 1.5], dtype="Float64"), ["c"]),
        (pd.Series([1.5, None, 2.5, 1.5]), ["c"]),
    ],
    ids=["str", "object", "string", "category", "boolean", "Float64", "float64"],
)
def test_missing_seen_in_fit_gets_its_own_last_code(column, categorical_features):
    X = pd.DataFrame({"c": column})
    encoder = FieldEncoder(categorical_features=categorical_features).fit(X)
    assert encoder.cardinalities_[0] == 4  # reserved, two categories, missing
    assert pd.isna(encoder.categories_[0][-1])
    out = encoder.transform(X)[:, 0]
    assert out[1] == 3
    assert sorted(set(out[[0, 2]])) == [1, 2]


@pytest.mark.parametrize("missing", [None, np.nan, pd.NA, pd.NaT])
def test_any_missing_marker_maps_to_the_missing_code(missing):
    encoder = FieldEncoder().fit(pd.DataFrame({"c": ["a", None, "b"]}))
    X = pd.DataFrame({"c": pd.Series(["b", missing], dtype=object)})
    assert encoder.transform(X)[:, 0].tolist() == [2, 3]


@pytest.mark.parametrize(
    "numeric_encoding, categorical_features, fit_values",
    [
        (None, "auto", ["a", "b"]),
        ("quantile", "auto", [1.0, 2.0, 3.0]),
        ("log_square", "auto", [1.0, 2.0, 30.0]),
        (None, ["c"], [1, 2]),
    ],
)
def test_missing_unseen_in_fit_gets_zero(numeric_encoding, categorical_features, fit_values):
    params = {"numeric_encoding": numeric_encoding} if numeric_encoding else {}
    encoder = FieldEncoder(categorical_features=categorical_features, **params)
    encoder.fit(pd.DataFrame({"c": fit_values}))
    X = pd.DataFrame({"c": pd.Series([fit_values[0], None], dtype=object)})
    if numeric_encoding:
        X = X.astype(float)
    out = encoder.transform(X)[:, 0]
    assert out[0] > 0
    assert out[1] == 0


@pytest.mark.parametrize("numeric_encoding", ["quantile", "log_square"])
def test_missing_numbers_seen_in_fit_get_their_own_code(numeric_encoding):
    x = np.array([1.0, 5.0, np.nan, 40.0, 3.0])
    encoder = FieldEncoder(numeric_encoding=numeric_encoding, n_bins=2).fit(x[:, None])
    out = encoder.transform(np.array([[np.nan], [1.0]]))[:, 0]
    assert out[0] == encoder.cardinalities_[0] - 1
    assert 0 < out[1] < out[0]


# numeric encodings --------------------------------------------------------------------


def log_square_reference(v):
    """The Criteo winners' rule, one value at a time."""
    return int(math.floor(math.log(v) ** 2)) if v > 2 else int(v)


def test_log_square_matches_a_python_loop():
    rng = np.random.default_rng(0)
    values = np.concatenate(
        [
            [-3.7, -1.0, -0.5, 0.0, 0.5, 1.0, 1.9, 2.0, 2.1, 2.718, 3.0, 1e9],
            rng.lognormal(2, 3, 500),
        ]
    )
    encoder = FieldEncoder(numeric_encoding="log_square").fit(values[:, None])
    expected_bins = [log_square_reference(v) for v in values]
    assert encoder.categories_[0].tolist() == sorted(set(expected_bins))
    codes = encoder.transform(values[:, None])[:, 0]
    np.testing.assert_array_equal(encoder.categories_[0][codes - 1], expected_bins)


@pytest.mark.parametrize("n_bins", [2, 4, 16])
def test_quantile_codes_are_monotone_in_the_value(n_bins):
    x = np.sort(np.random.default_rng(0).lognormal(0.0, 2.0, 1000))
    encoder = FieldEncoder(n_bins=n_bins).fit(x[:, None])
    edges = encoder.categories_[0]
    np.testing.assert_allclose(edges, np.quantile(x, np.linspace(0, 1, n_bins + 1)))
    codes = encoder.transform(x[:, None])[:, 0]
    assert (np.diff(codes) >= 0).all()
    assert codes[0] == 1
    assert codes[-1] == n_bins == encoder.cardinalities_[0] - 1
    beyond = encoder.transform(np.array([[x.min() - 1.0], [x.max() + 1.0]]))[:, 0]
    assert beyond.tolist() == [1, n_bins]


@pytest.mark.parametrize(
    "x, n_codes",
    [
        ([0.0, 0.0, 0.0, 0.0, 1.0, 2.0], 3),  # duplicate edges merge: 2 bins + reserved
        ([5.0, 5.0, 5.0], 2),  # constant: 1 bin + reserved
        ([np.nan, np.nan], 2),  # all missing: no bin, reserved + missing
    ],
)
def test_quantile_merges_duplicate_edges(x, n_codes):
    encoder = FieldEncoder(n_bins=4).fit(np.array(x)[:, None])
    assert encoder.cardinalities_[0] == n_codes
    assert_valid_codes(encoder, encoder.transform(np.array(x)[:, None]))


def test_value_encoding_standardizes_with_the_fit_statistics():
    x = np.array([1.0, 2.0, np.nan, 5.0])
    constant = np.array([7.0, 7.0, 7.0, np.nan])
    encoder = FieldEncoder(numeric_encoding="value").fit(np.column_stack([x, constant]))
    out = encoder.transform(np.array([[3.0, 7.0], [np.nan, 9.0]]))
    observed = x[~np.isnan(x)]
    assert out.dtype == np.float64
    assert out[0, 0] == pytest.approx((3.0 - observed.mean()) / observed.std())
    assert out[1, 0] == 0.0  # missing
    assert out[:, 1].tolist() == [0.0, 2.0]  # zero deviation counts as 1
    assert encoder.value_fields_.tolist() == [True, True]
    assert encoder.cardinalities_.tolist() == [1, 1]
    assert encoder.categories_ == [None, None]


# inverse_transform --------------------------------------------------------------------


def test_inverse_transform_round_trips_categorical_columns():
    X = pd.DataFrame({"a": ["x", "y", None, "x"], "b": pd.Series([3, 1, 2, 3])})
    encoder = FieldEncoder(categorical_features=["a", "b"]).fit(X)
    back = encoder.inverse_transform(encoder.transform(X))
    assert back[:, 0].tolist()[:2] == ["x", "y"]
    assert pd.isna(back[2, 0])
    assert back[:, 1].tolist() == [3, 1, 2, 3]
    unknown = encoder.inverse_transform(encoder.transform(pd.DataFrame({"a": ["q"], "b": [9]})))
    assert unknown.tolist() == [[None, None]]


def test_inverse_transform_of_numeric_fields():
    x = np.random.default_rng(0).normal(size=(200, 1))
    binned = FieldEncoder(n_bins=4).fit(x)
    intervals = binned.inverse_transform(binned.transform(x))[:, 0]
    assert all(x[i, 0] in interval for i, interval in enumerate(intervals))
    scaled = FieldEncoder(numeric_encoding="value").fit(x)
    back = scaled.inverse_transform(scaled.transform(x)).astype(float)
    np.testing.assert_allclose(back, x)


@pytest.mark.parametrize("code", [-1, 99, 1.5])
def test_inverse_transform_rejects_invalid_codes(code):
    encoder = FieldEncoder().fit(pd.DataFrame({"c": ["a", "b"]}))
    with pytest.raises(ValueError, match=r"codes of column 'c' must be integers in \[0, 3\)"):
        encoder.inverse_transform(np.array([[code]]))


# real data ----------------------------------------------------------------------------


@pytest.mark.parametrize("numeric_encoding", NUMERIC_ENCODINGS)
def test_criteo_sample(numeric_encoding):
    if not CRITEO_SAMPLE.exists():
        pytest.skip(f"the Criteo sample is not at {CRITEO_SAMPLE}; see shared/data/README.md")
    data = pd.read_csv(CRITEO_SAMPLE)
    X = data.drop(columns="label")
    assert X.shape == (200, 39)
    encoder = FieldEncoder(numeric_encoding=numeric_encoding, min_frequency=2)
    out = encoder.fit_transform(X)
    assert_valid_codes(encoder, out)
    assert encoder.value_fields_.sum() == (13 if numeric_encoding == "value" else 0)
    assert (encoder.cardinalities_[13:] >= 2).all()
    frame = encoder.set_output(transform="pandas").transform(
        X.sample(frac=1.0, axis=1, random_state=0)
    )
    assert frame.columns.tolist() == X.columns.tolist()
    assert (frame[[f"C{i}" for i in range(1, 27)]].dtypes == np.int64).all()
    np.testing.assert_array_equal(frame.to_numpy(), out)
