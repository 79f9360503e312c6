"""FieldEncoder gives the same codes whatever the storage of the strings and the batch size.

The reference is the vectorised pandas path (``Index.get_indexer``) on object columns,
the implementation before the Arrow kernels and the dict look-ups of small batches.
"""

import pickle

import numpy as np
import pandas as pd
import pytest
from conftest import STRING_STORAGES
from sklearn.base import clone

from sklearn_deepfm.preprocessing import _lookup
from sklearn_deepfm.preprocessing._encoder import FieldEncoder

SITES = ["a", "b", "c", "é", "10", "9", "Z", ""]


def make_frame(n=400, seed=0):
    """Strings with every missing marker, numbers with missing values, and an int column."""
    rng = np.random.default_rng(seed)
    site = rng.choice(np.array(SITES, dtype=object), size=n)
    markers = np.array([None, np.nan, pd.NA], dtype=object)
    missing = rng.random(n) < 0.15
    site[missing] = markers[rng.integers(0, 3, missing.sum())]
    clicks = np.floor(rng.lognormal(1.0, 1.5, n))
    clicks[rng.random(n) < 0.1] = np.nan
    return pd.DataFrame(
        {
            "site": site,
            "app": rng.choice(np.array(["x", "y", "zz", "w"], dtype=object), size=n),
            "clicks": clicks,
            "user_id": rng.integers(0, 20, size=n),
        }
    )


def stored(frame, storage):
    return frame.astype({"site": STRING_STORAGES[storage], "app": STRING_STORAGES[storage]})


def unseen_rows():
    """Rows with values never seen in fit, and missing values in every column."""
    return pd.DataFrame(
        {
            "site": np.array(["never", None, "a", np.nan, pd.NA, "Z"], dtype=object),
            "app": np.array(["x", "new", None, "w", "y", "zz"], dtype=object),
            "clicks": [1.0, np.nan, 1e6, -3.0, 2.0, np.nan],
            "user_id": [3, 99, 0, 19, 5, 7],
        }
    )


def reference_transform(encoder, X, monkeypatch):
    """``encoder.transform`` by the vectorised pandas kernels alone."""
    with monkeypatch.context() as patch:
        patch.setattr(_lookup, "MAX_ROWS", -1)
        return encoder.transform(X)


def assert_matches_reference(encoder, X, monkeypatch):
    """The one-row path gives the reference's codes, or raises the reference's error."""
    try:
        expected = reference_transform(encoder, X, monkeypatch)
    except (TypeError, ValueError) as error:
        with pytest.raises(type(error)):
            encoder.transform(X)
        return
    np.testing.assert_array_equal(encoder.transform(X), expected)


@pytest.mark.parametrize("numeric_encoding", ["quantile", "log_square", "value"])
@pytest.mark.parametrize("min_frequency, max_categories", [(None, None), (30, None), (None, 3)])
@pytest.mark.parametrize("storage", list(STRING_STORAGES))
def test_codes_match_the_object_reference_in_every_storage(
    storage, numeric_encoding, min_frequency, max_categories, monkeypatch
):
    params = dict(
        numeric_encoding=numeric_encoding,
        min_frequency=min_frequency,
        max_categories=max_categories,
    )
    fit_frame, new_frame = make_frame(), pd.concat([make_frame(seed=1), unseen_rows()])
    reference = FieldEncoder(**params).fit(fit_frame.astype({"site": object}))
    encoder = FieldEncoder(**params).fit(stored(fit_frame, storage))
    assert encoder._get_fitted_state() == reference._get_fitted_state()
    for a, b in zip(encoder.categories_, reference.categories_, strict=True):
        assert (a is None and b is None) or pd.Series(a).equals(pd.Series(b))

    X_new = stored(new_frame, storage)
    expected = reference_transform(reference, new_frame.astype({"site": object}), monkeypatch)
    np.testing.assert_array_equal(encoder.transform(X_new), expected)  # the batch path
    one_row = [encoder.transform(X_new.iloc[[i]]) for i in range(len(X_new))]
    np.testing.assert_array_equal(np.concatenate(one_row), expected)  # the dict path
    inverse, reference_inverse = (e.inverse_transform(expected) for e in (encoder, reference))
    assert pd.DataFrame(inverse).equals(pd.DataFrame(reference_inverse))


@pytest.mark.filterwarnings("ignore:The 'future.infer_string' option is deprecated")
def test_codes_match_without_inferred_strings(monkeypatch):
    """With ``future.infer_string`` off, pandas keeps strings in Python objects."""
    with pd.option_context("future.infer_string", False):
        X = make_frame()
        encoder = FieldEncoder().fit(X)
        new = pd.concat([make_frame(seed=1), unseen_rows()], ignore_index=True)
        expected = reference_transform(encoder, new, monkeypatch)
        one_row = [encoder.transform(new.iloc[[i]]) for i in range(len(new))]
    reference = FieldEncoder().fit(X.astype({"site": object}))
    np.testing.assert_array_equal(expected, reference_transform(reference, new, monkeypatch))
    np.testing.assert_array_equal(np.concatenate(one_row), expected)


# Values of every type a cell may hold, and where a dict could disagree with pandas:
# True == 1 == 1.0 in Python, a string never equals a number, NaN != NaN.
ODD_VALUES = [
    1, 1.0, 2, 2.5, True, False, "1", "a", None, np.nan, pd.NA, pd.NaT, np.int64(3),
    np.float64(2.0), np.bool_(True), np.str_("a"), 2**60, 2**60 + 1, float(2**60), -0.0,
    (1, 2), pd.Timestamp("2024-01-01"), b"a",
]  # fmt: skip


@pytest.mark.parametrize(
    "fit_values",
    [
        ["a", "b", None],
        [1, 2, 3, np.nan],
        [1.0, 2.5, -0.0],
        [True, False],
        [1, "a", 2.5, None],
        [True, "a"],
        [2**60, 2**60 + 1, 5],
        [(1, 2), "a"],
    ],
    ids=["str", "int", "float", "bool", "int-str", "bool-str", "large-int", "tuple"],
)
def test_one_value_at_a_time_matches_the_vectorised_kernels(fit_values, monkeypatch):
    encoder = FieldEncoder(categorical_features=["c"]).fit(
        pd.DataFrame({"c": pd.Series(fit_values * 3, dtype=object)})
    )
    for value in ODD_VALUES:
        X = pd.DataFrame({"c": pd.Series([value], dtype=object)})
        assert_matches_reference(encoder, X, monkeypatch)


@pytest.mark.parametrize("numeric_encoding", ["quantile", "log_square", "value"])
@pytest.mark.parametrize(
    "value", [3, 7.5, None, np.nan, pd.NA, "4", "x", True, np.inf, 2**60 + 1, -1.5]
)
def test_numeric_cells_match_the_vectorised_kernels(numeric_encoding, value, monkeypatch):
    encoder = FieldEncoder(numeric_encoding=numeric_encoding).fit(
        pd.DataFrame({"n": [1.0, 2.0, 5.0, 40.0, np.nan, 3.0, 9.0]})
    )
    X = pd.DataFrame({"n": pd.Series([value], dtype=object)})
    assert_matches_reference(encoder, X, monkeypatch)


@pytest.mark.parametrize("make_row", [pd.DataFrame, pd.DataFrame.from_records])
def test_a_json_record_encodes_like_the_frame_row(make_row):
    X = make_frame()
    encoder = FieldEncoder().fit(X)
    for i in range(20):
        record = {k: (None if pd.isna(v) else v) for k, v in X.iloc[i].to_dict().items()}
        np.testing.assert_array_equal(
            encoder.transform(make_row([record])), encoder.transform(X.iloc[[i]])
        )


def cached_tables(encoder):
    """The dict look-up tables that the fields have built (see VocabularyField.table)."""
    return [vars(field)["_table"] for field in encoder._fields if "_table" in vars(field)]


def test_the_lookup_cache_is_dropped_by_pickle_and_rebuilt():
    X = make_frame()
    encoder = FieldEncoder().fit(X)
    expected = encoder.transform(X.iloc[:3])
    assert cached_tables(encoder)  # built by the small batch
    restored = pickle.loads(pickle.dumps(encoder))
    assert not cached_tables(restored)
    np.testing.assert_array_equal(restored.transform(X.iloc[:3]), expected)
    assert cached_tables(encoder)  # pickling did not empty the live cache
    clone(encoder).fit(X)


def test_set_fitted_state_rebuilds_the_lookup_tables():
    encoder = FieldEncoder().fit(make_frame())
    encoder.transform(make_frame().iloc[:2])
    other = FieldEncoder().fit(make_frame(seed=3).assign(site="only"))
    encoder._set_fitted_state(other._get_fitted_state())
    row = make_frame().iloc[:4]
    np.testing.assert_array_equal(encoder.transform(row), other.transform(row))
