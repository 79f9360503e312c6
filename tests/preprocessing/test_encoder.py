import math

import numpy as np
import pandas as pd
import pytest
from conftest import SHARED_DATA
from sklearn.preprocessing import OrdinalEncoder
from sklearn.utils import estimator_checks
from sklearn.utils.estimator_checks import parametrize_with_checks

from sklearn_deepfm.preprocessing._encoder import FieldEncoder

CRITEO_SAMPLE = SHARED_DATA / "criteo_sample" / "criteo_sample.txt"

NUMERIC_ENCODINGS = ["quantile", "log_square", "value"]


def make_frame(n=300, seed=0):
    """A small CTR-like frame: str, object, category, bool, int and float columns."""
    rng = np.random.default_rng(seed)
    site = rng.choice(["a", "b", "c", "d"], size=n).astype(object)
    site[rng.random(n) < 0.1] = None
    clicks = np.floor(rng.lognormal(1.0, 1.5, n))
    clicks[rng.random(n) < 0.1] = np.nan
    return pd.DataFrame(
        {
            "site": pd.Series(site, dtype="str"),
            "app": pd.Series(rng.choice(["x", "y", "z"], size=n), dtype=object),
            "device": pd.Categorical(rng.choice(["ios", "android"], size=n)),
            "is_new": rng.random(n) < 0.3,
            "user_id": rng.integers(0, 20, size=n),
            "clicks": clicks,
            "price": rng.normal(10.0, 3.0, size=n),
        }
    )


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


# agreement with OrdinalEncoder --------------------------------------------------------


def repeated_column(counts, seed=0):
    """Categories 'c00', 'c01', ... repeated counts[i] times, shuffled."""
    labels = np.array([f"c{i:02d}" for i in range(len(counts))], dtype=object)
    return np.random.default_rng(seed).permutation(np.repeat(labels, counts))[:, None]


def ours_from_ordinal(ordinal_codes, n_frequent):
    """Map OrdinalEncoder codes to ours: frequent c -> c + 1, the infrequent bucket -> 0."""
    return np.where(ordinal_codes < n_frequent, ordinal_codes + 1, 0).astype(np.int64)


@pytest.mark.parametrize("min_frequency", [None, 2, 5, 0.1])
def test_min_frequency_matches_ordinal_encoder(min_frequency):
    X = repeated_column([9, 1, 5, 2, 7, 4, 3, 6])
    ordinal = OrdinalEncoder(min_frequency=min_frequency).fit(X)
    ours = FieldEncoder(min_frequency=min_frequency).fit(X)
    infrequent = getattr(ordinal, "infrequent_categories_", [None])[0]
    infrequent = [] if infrequent is None else list(infrequent)
    frequent = [c for c in ordinal.categories_[0] if c not in infrequent]
    assert ours.categories_[0].tolist() == frequent
    expected = ours_from_ordinal(ordinal.transform(X)[:, 0], len(frequent))
    np.testing.assert_array_equal(ours.transform(X)[:, 0], expected)


@pytest.mark.parametrize("max_categories", [1, 3, 7, 8, 20])
def test_max_categories_keeps_the_most_frequent_like_ordinal_encoder(max_categories):
    X = repeated_column([9, 1, 5, 2, 7, 4, 3, 6])  # no ties
    # OrdinalEncoder counts its infrequent bucket among max_categories
    ordinal = OrdinalEncoder(max_categories=max_categories + 1).fit(X)
    ours = FieldEncoder(max_categories=max_categories).fit(X)
    n_kept = min(max_categories, 8)
    assert ours.cardinalities_[0] == n_kept + 1
    expected = ours_from_ordinal(ordinal.transform(X)[:, 0], n_kept)
    np.testing.assert_array_equal(ours.transform(X)[:, 0], expected)


def test_max_categories_ties_go_to_the_value_that_sorts_first():
    X = repeated_column([3, 2, 3, 2, 3])  # c00, c02 and c04 tie
    encoder = FieldEncoder(max_categories=2).fit(X)
    assert encoder.categories_[0].tolist() == ["c00", "c02"]


def test_min_frequency_can_drop_the_missing_category():
    X = pd.DataFrame({"c": ["a", "a", "b", "b", None]})
    encoder = FieldEncoder(min_frequency=2).fit(X)
    assert encoder.categories_[0].tolist() == ["a", "b"]
    assert encoder.transform(X)[:, 0].tolist() == [1, 1, 2, 2, 0]


# columns by name ----------------------------------------------------------------------


def test_reordered_and_extra_columns_give_identical_output():
    X = make_frame()
    encoder = FieldEncoder().fit(X)
    shuffled = X[X.columns[::-1]].assign(extra=1.0)
    np.testing.assert_array_equal(encoder.transform(shuffled), encoder.transform(X))


def test_missing_column_error_names_it():
    X = make_frame()
    encoder = FieldEncoder().fit(X)
    with pytest.raises(ValueError, match=r"lacks the column\(s\) \['clicks'\]"):
        encoder.transform(X.drop(columns="clicks"))


def test_get_feature_names_out_returns_the_input_names():
    X = make_frame()
    encoder = FieldEncoder().fit(X)
    assert encoder.get_feature_names_out().tolist() == X.columns.tolist()


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


# output containers --------------------------------------------------------------------


@pytest.mark.parametrize("numeric_encoding", NUMERIC_ENCODINGS)
def test_pandas_output_keeps_int_codes_and_float_values(numeric_encoding):
    X = make_frame().set_index(pd.RangeIndex(1000, 1300))
    encoder = FieldEncoder(numeric_encoding=numeric_encoding).set_output(transform="pandas")
    for out in (encoder.fit_transform(X), encoder.transform(X)):
        assert isinstance(out, pd.DataFrame)
        assert out.columns.tolist() == X.columns.tolist()
        assert out.index.equals(X.index)
        for name, is_value in zip(X.columns, encoder.value_fields_, strict=True):
            assert out[name].dtype == (np.float64 if is_value else np.int64), name
        np.testing.assert_array_equal(
            out.to_numpy(), FieldEncoder(numeric_encoding=numeric_encoding).fit_transform(X)
        )


@pytest.mark.parametrize(
    "check",
    [
        estimator_checks.check_set_output_transform_pandas,
        estimator_checks.check_global_output_transform_pandas,
        estimator_checks.check_transformer_get_feature_names_out,
        estimator_checks.check_transformer_get_feature_names_out_pandas,
    ],
)
@pytest.mark.parametrize("numeric_encoding", NUMERIC_ENCODINGS)
@pytest.mark.filterwarnings("ignore:X (does not have valid|has) feature names")
def test_sklearn_output_checks(check, numeric_encoding):
    check("FieldEncoder", FieldEncoder(numeric_encoding=numeric_encoding))


# column types -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "column, categorical_features, categorical",
    [
        (pd.Series(["b", "a", "b"], dtype="str"), "auto", True),
        (pd.Series(["b", "a", "b"], dtype=object), "auto", True),
        (pd.Series(["b", "a", "b"], dtype="category"), "auto", True),
        (pd.Series([True, False, True]), "auto", True),
        (pd.Series([20, 10, 20]), "auto", False),
        (pd.Series([20, 10, 20]), ["c"], True),
        (pd.Series([20, 10, 20]), [0], True),
        (pd.Series([2.5, 1.5, 2.5]), ["c"], True),
        (pd.Series([20, 10, 20], dtype="Int64"), "auto", False),
    ],
)
def test_which_columns_are_categorical(column, categorical_features, categorical):
    encoder = FieldEncoder(categorical_features=categorical_features, n_bins=4)
    out = encoder.fit_transform(pd.DataFrame({"c": column}))
    if categorical:
        assert encoder.categories_[0].dtype == object
        assert encoder.categories_[0].tolist() == sorted(set(column))
        assert out[:, 0].tolist() == [2, 1, 2]
    else:
        assert encoder.categories_[0].dtype == np.float64  # quantile edges
        assert out[0, 0] == out[2, 0] > out[1, 0]


@pytest.mark.parametrize("numeric_encoding", NUMERIC_ENCODINGS)
def test_nullable_integers_encode_like_floats_with_nan(numeric_encoding):
    nullable = pd.DataFrame({"n": pd.Series([3, None, 50, 3, 7], dtype="Int64")})
    floats = nullable.astype(float)
    encoder = FieldEncoder(numeric_encoding=numeric_encoding, n_bins=2)
    np.testing.assert_array_equal(encoder.fit_transform(nullable), encoder.fit_transform(floats))


@pytest.mark.parametrize("missing", [None, pd.NA])
def test_large_integer_ids_with_missing_values_stay_exact(missing):
    ids = pd.Series([2**60, 2**60 + 1, missing, 2**60 + 1], dtype="Int64")
    X = pd.DataFrame({"id": ids})
    encoder = FieldEncoder(categorical_features=["id"]).fit(X)
    assert encoder.categories_[0][:2].tolist() == [2**60, 2**60 + 1]
    assert encoder.transform(X)[:, 0].tolist() == [1, 2, 3, 2]


def test_mixed_types_in_an_object_column():
    column = pd.Series([1, "a", 2.5, "b", 1, None, (1, 2)], dtype=object)
    encoder = FieldEncoder().fit(pd.DataFrame({"m": column}))
    # sorted by type name, then value; missing last
    assert encoder.categories_[0][:-1].tolist() == [2.5, 1, "a", "b", (1, 2)]
    out = encoder.transform(pd.DataFrame({"m": column[::-1].to_numpy()}))[:, 0]
    assert out.tolist() == [5, 6, 2, 4, 1, 3, 2]


def test_numpy_input():
    objects = np.array([["a", 1], ["b", 2], ["a", None]], dtype=object)
    encoder = FieldEncoder().fit(objects)
    assert encoder.transform(objects).tolist() == [[1, 1], [2, 2], [1, 3]]
    assert not hasattr(encoder, "feature_names_in_")
    numbers = np.array([[1.0, 10.0], [2.0, 20.0], [3.0, 10.0]])
    encoder = FieldEncoder(categorical_features=[1], n_bins=2).fit(numbers)
    assert encoder.transform(numbers)[:, 1].tolist() == [1, 2, 1]
    assert encoder.categories_[1].tolist() == [10.0, 20.0]
    strings = np.array([["x"], ["y"]])  # numpy str dtype counts as categorical
    assert FieldEncoder().fit_transform(strings).ravel().tolist() == [1, 2]


# errors -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "column, dtype_name",
    [
        (pd.Series(pd.date_range("2024-01-01", periods=3)), "datetime64"),
        (pd.Series(pd.to_timedelta([1, 2, 3], unit="s")), "timedelta64"),
        (pd.Series([1 + 1j, 2, 3]), "complex128"),
    ],
)
def test_columns_neither_categorical_nor_numeric_raise_type_error(column, dtype_name):
    X = pd.DataFrame({"ok": [1, 2, 3], "when": column})
    with pytest.raises(TypeError, match=rf"column 'when' has dtype {dtype_name}.*Convert it"):
        FieldEncoder().fit(X)


def test_a_datetime_column_listed_as_categorical_is_accepted():
    X = pd.DataFrame({"day": pd.to_datetime(["2024-01-02", "2024-01-01", None])})
    out = FieldEncoder(categorical_features=["day"]).fit_transform(X)
    assert out[:, 0].tolist() == [2, 1, 3]


@pytest.mark.parametrize("numeric_encoding", NUMERIC_ENCODINGS)
@pytest.mark.parametrize("bad", [np.inf, -np.inf])
def test_infinity_in_a_numeric_column_raises(numeric_encoding, bad):
    X = pd.DataFrame({"site": ["a", "b", "c"], "clicks": [1.0, bad, 3.0]})
    encoder = FieldEncoder(numeric_encoding=numeric_encoding)
    with pytest.raises(ValueError, match=r"numeric column 'clicks' must be finite.*row 1"):
        encoder.fit(X)
    encoder.fit(X.assign(clicks=[1.0, 2.0, 3.0]))
    with pytest.raises(ValueError, match=r"numeric column 'clicks' must be finite"):
        encoder.transform(X)


def test_a_string_in_a_numeric_column_at_transform_raises():
    encoder = FieldEncoder().fit(pd.DataFrame({"clicks": [1.0, 2.0, 3.0]}))
    assert encoder.transform(pd.DataFrame({"clicks": ["2", None]})).shape == (2, 1)
    with pytest.raises(ValueError, match=r"column 'clicks' is numeric but holds .*'oops'"):
        encoder.transform(pd.DataFrame({"clicks": ["2", "oops"]}))


@pytest.mark.parametrize(
    "X",
    [
        pd.DataFrame({"a": pd.Series([], dtype=object), "b": pd.Series([], dtype=float)}),
        pd.DataFrame(index=range(3)),
        np.empty((0, 2)),
    ],
    ids=["no-rows", "no-columns", "numpy-no-rows"],
)
def test_fitting_empty_data_raises(X):
    with pytest.raises(ValueError, match=r"minimum of 1 is required"):
        FieldEncoder().fit(X)


@pytest.mark.parametrize(
    "categorical_features, error, match",
    [
        (["site", "nope"], ValueError, r"names the column 'nope', which X does not have"),
        ([7], ValueError, r"position 7, but X has only 2 columns"),
        ([1.5], TypeError, r"column names \(str\) or positions \(int\); got 1.5"),
    ],
)
def test_invalid_categorical_features_raise(categorical_features, error, match):
    X = pd.DataFrame({"site": ["a", "b"], "clicks": [1, 2]})
    with pytest.raises(error, match=match):
        FieldEncoder(categorical_features=categorical_features).fit(X)


def test_column_names_in_categorical_features_need_a_dataframe():
    with pytest.raises(ValueError, match=r"'site', which X does not have; X has no column names"):
        FieldEncoder(categorical_features=["site"]).fit(np.zeros((2, 2)))


@pytest.mark.parametrize("method", ["fit", "transform"])
def test_unhashable_cells_raise_type_error_naming_the_column(method):
    X = pd.DataFrame({"tags": pd.Series(["a", "b", "a"], dtype=object)})
    bad = pd.DataFrame({"tags": pd.Series(["a", ["b", "c"], "a"], dtype=object)})
    encoder = FieldEncoder().fit(X)
    with pytest.raises(TypeError, match=r"column 'tags' holds the unhashable value \['b', 'c'\]"):
        getattr(encoder, method)(bad)


@pytest.mark.parametrize(
    "params, match",
    [
        ({"numeric_encoding": "log"}, "numeric_encoding"),
        ({"n_bins": 1}, "n_bins"),
        ({"min_frequency": 0}, "min_frequency"),
        ({"max_categories": 0}, "max_categories"),
        ({"categorical_features": "all"}, "categorical_features"),
    ],
)
def test_invalid_parameters_raise(params, match):
    with pytest.raises(ValueError, match=match):
        FieldEncoder(**params).fit(pd.DataFrame({"c": ["a"]}))


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


# scikit-learn's estimator contract ----------------------------------------------------

EXPECTED_FAILED_CHECKS = {
    "check_dataframe_column_names_consistency": (
        "FieldEncoder matches DataFrame columns by name, so reordered columns are "
        "accepted rather than rejected"
    ),
}


def test_the_column_order_check_fails_by_design():
    with pytest.raises(AssertionError, match="transform did not raise"):
        estimator_checks.check_dataframe_column_names_consistency("FieldEncoder", FieldEncoder())


@parametrize_with_checks(
    [
        FieldEncoder(),
        FieldEncoder(numeric_encoding="log_square", min_frequency=2),
        FieldEncoder(numeric_encoding="value"),
    ],
    expected_failed_checks=lambda estimator: EXPECTED_FAILED_CHECKS,
)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)
