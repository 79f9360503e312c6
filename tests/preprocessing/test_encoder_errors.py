"""FieldEncoder's errors on unusable columns, values, data and parameters."""

import numpy as np
import pandas as pd
import pytest
from encoder_cases import NUMERIC_ENCODINGS

from sklearn_deepfm.preprocessing._encoder import FieldEncoder

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
