"""FieldEncoder's multi-valued slots: lists cut to the width, partial_fit and MovieLens genres."""

import warnings

import numpy as np
import pandas as pd
import pytest
from conftest import SHARED_DATA, STRING_STORAGES
from multi_valued_cases import joined, list_cells, random_lists, reference_slots
from sklearn.pipeline import make_pipeline

from sklearn_deepfm import FieldEncoder
from sklearn_deepfm.datasets import MOVIELENS_GENRES, load_movielens_100k

MOVIELENS = SHARED_DATA / "movielens_100k"


# -- truncation ------------------------------------------------------------------------


def test_max_len_keeps_the_first_values_and_warns():
    X = pd.DataFrame({"tags": ["a|b|c", "d", "c|b|a|e", None], "n": [1.0, 2.0, 3.0, 4.0]})
    with pytest.warns(UserWarning, match=r"fit: 2 row\(s\) of the multi-valued column 'tags' "):
        encoder = FieldEncoder(multi_valued={"tags": "|"}, max_len=2).fit(X)
    assert encoder.n_truncated_.tolist() == [2, 0]
    assert encoder.categories_[0].tolist() == ["a", "b", "c", "d"]  # e was cut in fit
    with pytest.warns(UserWarning, match=r"transform: 2 row\(s\) .* more than its 2 slots"):
        out = encoder.transform(X)
    assert out.columns.tolist() == ["tags[0]", "tags[1]", "n"]
    assert out.iloc[:, :2].to_numpy().tolist() == [[2, 3], [5, 0], [4, 3], [0, 0]]
    with pytest.warns(UserWarning, match=r"transform: 1 row\(s\)"):
        encoder.transform(X.iloc[[2]])  # the small-batch path counts too


@pytest.mark.parametrize("output", ["default", "pandas"])
def test_fit_transform_reports_the_cut_lists_once(output):
    X = pd.DataFrame({"tags": ["a|b|c", "d", "c|b|a|e"]})
    encoder = FieldEncoder(multi_valued={"tags": "|"}, max_len=2).set_output(transform=output)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = make_pipeline(encoder).fit_transform(X)
    assert [str(w.message).split(":")[0] for w in caught] == ["FieldEncoder.fit"]
    assert out.to_numpy().tolist() == [[2, 3], [5, 0], [4, 3]]
    with pytest.warns(UserWarning, match=r"transform: 2 row\(s\)"):
        encoder.transform(X)  # a later transform still warns


def test_the_default_width_is_the_longest_list_in_fit():
    encoder = FieldEncoder(multi_valued={"tags": "|"}).fit(pd.DataFrame({"tags": ["a|b", "c"]}))
    assert encoder.field_slices_ == [slice(0, 2)]
    with pytest.warns(UserWarning, match=r"transform: 1 row\(s\).*'tags'.*2 slots"):
        out = encoder.transform(pd.DataFrame({"tags": ["c|b|a"]}))
    assert out.to_numpy().tolist() == [[4, 3]]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        encoder.transform(pd.DataFrame({"tags": ["c|b"] * 100}))  # no cut, no warning


# -- partial_fit -----------------------------------------------------------------------


@pytest.mark.parametrize("params", [{}, {"max_len": 2}, {"min_frequency": 0.2}])
@pytest.mark.parametrize("storage", ["str", "object", "lists"])
def test_partial_fit_gives_the_codes_of_fit_on_the_concatenation(storage, params):
    lists = random_lists(600, 3, missing_elements=storage == "lists")
    lists[500] = ["a"] * 9  # the longest list comes in the last chunk
    if storage == "lists":
        column = pd.Series(list_cells(lists, "mixed"))
        multi_valued = ["tags"]
    else:
        column = pd.Series(joined(lists), dtype=STRING_STORAGES[storage])
        multi_valued = {"tags": "|"}
    X = pd.DataFrame({"tags": column, "site": np.resize(["x", "y", None], 600)})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        whole = FieldEncoder(multi_valued=multi_valued, **params).fit(X)
        chunked = FieldEncoder(multi_valued=multi_valued, **params)
        for start in range(0, 600, 250):
            chunked.partial_fit(X.iloc[start : start + 250])
            chunked.transform(X.iloc[:3])  # the state of the chunks so far, replaced by the next
        assert chunked.field_slices_ == whole.field_slices_
        pd.testing.assert_frame_equal(chunked.transform(X), whole.transform(X))
    np.testing.assert_array_equal(chunked.n_truncated_, whole.n_truncated_)
    np.testing.assert_array_equal(chunked.cardinalities_, whole.cardinalities_)
    assert pd.Series(chunked.categories_[0]).equals(pd.Series(whole.categories_[0]))


# -- real data -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def movielens_genres():
    """MovieLens 100k's ratings, each with its movie's genres joined by "|"."""
    if not (MOVIELENS / "u.item").exists():
        pytest.skip(f"MovieLens 100k is not at {MOVIELENS}; see shared/data/README.md")
    return load_movielens_100k(MOVIELENS)[["item_id", "genres"]]


@pytest.mark.parametrize("storage", ["str", "object"])
def test_movielens_genres(movielens_genres, storage):
    X = movielens_genres.astype({"genres": STRING_STORAGES[storage]})
    assert X.shape == (100_000, 2)
    encoder = FieldEncoder(multi_valued={"genres": "|"}).fit(X)
    assert encoder.categories_[1].tolist() == sorted(MOVIELENS_GENRES)
    assert encoder.field_slices_ == [slice(0, 1), slice(1, 7)]  # at most 6 genres a movie
    assert encoder.cardinalities_[1] == 19 + 2
    out = encoder.transform(X)
    assert out.columns.tolist() == ["item_id", *[f"genres[{i}]" for i in range(6)]]
    lists = [cell.split("|") for cell in movielens_genres["genres"]]
    expected = reference_slots(lists, sorted(MOVIELENS_GENRES), False, 6)
    np.testing.assert_array_equal(out.iloc[:, 1:].to_numpy(), expected)
    back = encoder.inverse_transform(out.iloc[:50])[:, 1].tolist()
    assert back == lists[:50]
