"""FieldEncoder against scikit-learn: OrdinalEncoder, set_output and the estimator checks."""

import numpy as np
import pandas as pd
import pytest
from encoder_cases import NUMERIC_ENCODINGS, make_frame
from sklearn.base import clone
from sklearn.preprocessing import OrdinalEncoder
from sklearn.utils import estimator_checks
from sklearn.utils.estimator_checks import parametrize_with_checks

from sklearn_deepfm.preprocessing._encoder import FieldEncoder

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


@pytest.mark.parametrize("numeric_encoding", NUMERIC_ENCODINGS)
def test_fields_restored_from_the_fitted_state_equal_the_fitted_fields(numeric_encoding):
    X = make_frame()
    encoder = FieldEncoder(numeric_encoding=numeric_encoding).fit(X)
    restored = clone(encoder)
    restored._set_fitted_state(encoder._get_fitted_state())
    assert restored._fields == encoder._fields
    other = FieldEncoder(numeric_encoding=numeric_encoding).fit(X.iloc[:40])
    assert any(a != b for a, b in zip(other._fields, encoder._fields, strict=True))
