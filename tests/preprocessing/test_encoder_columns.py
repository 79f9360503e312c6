"""FieldEncoder's columns: matched by name, and which column types are categorical."""

import numpy as np
import pandas as pd
import pytest
from encoder_cases import NUMERIC_ENCODINGS, make_frame

from sklearn_deepfm.preprocessing._encoder import FieldEncoder

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
