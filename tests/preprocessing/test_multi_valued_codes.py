"""FieldEncoder's multi-valued codes against a pure-Python reference, in every input kind."""

import warnings

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from conftest import STRING_STORAGES
from multi_valued_cases import (
    VALUES,
    joined,
    list_cells,
    no_small_batches,
    random_lists,
    reference_lists,
    reference_slots,
    reference_vocabulary,
)

from sklearn_deepfm import FieldEncoder

# -- codes -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "params",
    [{}, {"max_len": 2}, {"min_frequency": 40}, {"min_frequency": 0.3}, {"max_categories": 3}],
    ids=["default", "max_len", "min_count", "min_fraction", "max_categories"],
)
@pytest.mark.parametrize("storage", list(STRING_STORAGES))
def test_joined_strings_match_the_reference_in_every_storage(storage, params):
    fit_cells = joined(random_lists(300, 0, missing_elements=False))
    new_cells = joined(random_lists(80, 1, values=[*VALUES, "new"], missing_elements=False))
    new_cells[:3] = ["", "a||b", "|a|"]
    dtype = STRING_STORAGES[storage]
    X = pd.DataFrame({"tags": pd.Series(fit_cells, dtype=dtype), "n": np.arange(300.0)})
    X_new = pd.DataFrame({"tags": pd.Series(new_cells, dtype=dtype), "n": np.arange(80.0)})
    encoder = FieldEncoder(multi_valued={"tags": "|"}, **params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # max_len cuts lists
        encoder.fit(X)
        batch = encoder.transform(X_new)
        one_row = pd.concat([encoder.transform(X_new.iloc[[i]]) for i in range(80)])

    fit_lists = reference_lists(fit_cells, "|")
    width = params.get("max_len") or max(map(len, fit_lists))
    min_frequency, max_categories = params.get("min_frequency"), params.get("max_categories")
    known, has_missing = reference_vocabulary(fit_lists, width, min_frequency, max_categories)
    assert encoder.categories_[0].tolist() == known
    assert encoder.cardinalities_[0] == len(known) + 2 + has_missing
    expected = reference_slots(reference_lists(new_cells, "|"), known, has_missing, width)
    np.testing.assert_array_equal(batch.iloc[:, :width].to_numpy(), expected)
    np.testing.assert_array_equal(one_row.to_numpy(), batch.to_numpy())


@pytest.mark.parametrize(
    "params", [{}, {"max_len": 3}, {"min_frequency": 30}, {"max_categories": 4}]
)
@pytest.mark.parametrize("container", ["list", "mixed", "arrow"])
def test_list_cells_match_the_reference(container, params, monkeypatch):
    fit_lists = random_lists(300, 0)
    new_lists = random_lists(80, 1, values=[*VALUES, "new"])
    new_lists[:2] = [[], [None, None]]
    if container == "arrow":
        dtype = pd.ArrowDtype(pa.list_(pa.string()))
        X, X_new = (
            pd.DataFrame({"tags": pd.Series(v, dtype=dtype)}) for v in (fit_lists, new_lists)
        )
    else:
        X, X_new = (
            pd.DataFrame({"tags": list_cells(v, container)}) for v in (fit_lists, new_lists)
        )
    encoder = FieldEncoder(multi_valued=["tags"], **params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        encoder.fit(X)
        one_row = pd.concat([encoder.transform(X_new.iloc[[i]]) for i in range(80)])
        no_small_batches(monkeypatch)
        batch = encoder.transform(X_new)

    fit_lists = reference_lists(fit_lists, None)
    width = params.get("max_len") or max(map(len, fit_lists))
    known, has_missing = reference_vocabulary(
        fit_lists, width, params.get("min_frequency"), params.get("max_categories")
    )
    categories = pd.Series(known + [np.nan] * has_missing, dtype=object)
    assert pd.Series(encoder.categories_[0], dtype=object).equals(categories)
    expected = reference_slots(reference_lists(new_lists, None), known, has_missing, width)
    np.testing.assert_array_equal(batch.to_numpy(), expected)
    np.testing.assert_array_equal(one_row.to_numpy(), expected)


# Values a list may hold, and where a dict could disagree with pandas: True == 1 == 1.0
# in Python, a string never equals a number, NaN != NaN.
ODD_VALUES = [
    1, 1.0, 2, 2.5, True, False, "1", "a", None, np.nan, pd.NA, np.int64(3), np.str_("a"),
    2**60 + 1, (1, 2), b"a",
]  # fmt: skip


@pytest.mark.parametrize(
    "fit_values",
    [["a", "b", None], [1, 2, 3], [True, False], [1, "a", 2.5, None], [(1, 2), "a"]],
    ids=["str", "int", "bool", "mixed", "tuple"],
)
def test_one_row_lists_match_the_vectorised_kernels(fit_values, monkeypatch):
    X = pd.DataFrame({"c": pd.Series([list(fit_values), fit_values[:1]] * 3, dtype=object)})
    encoder = FieldEncoder(multi_valued=["c"]).fit(X)
    rows = [
        pd.DataFrame({"c": pd.Series([[value, fit_values[0]]], dtype=object)})
        for value in ODD_VALUES
    ]
    one_row = [encoder.transform(row) for row in rows]
    no_small_batches(monkeypatch)
    for row, got in zip(rows, one_row, strict=True):
        pd.testing.assert_frame_equal(got, encoder.transform(row))


def test_arrow_lists_of_numbers_encode_like_python_lists():
    lists = [[3, 1], None, [2, None, 3], []]
    arrow = pd.DataFrame({"n": pd.Series(lists, dtype=pd.ArrowDtype(pa.list_(pa.int64())))})
    python = pd.DataFrame({"n": pd.Series(lists, dtype=object)})
    encoder = FieldEncoder(multi_valued=["n"]).fit(arrow)
    assert encoder.categories_[0][:3].tolist() == [1, 2, 3]
    reference = FieldEncoder(multi_valued=["n"]).fit(python)
    pd.testing.assert_frame_equal(encoder.transform(arrow), reference.transform(python))
    assert encoder.transform(arrow).to_numpy().tolist() == [
        [4, 2, 0],
        [0, 0, 0],
        [3, 5, 4],
        [0, 0, 0],
    ]


@pytest.mark.filterwarnings("ignore:The 'future.infer_string' option is deprecated")
def test_joined_strings_without_inferred_strings():
    cells = joined(random_lists(200, 0, missing_elements=False))
    with pd.option_context("future.infer_string", False):
        X = pd.DataFrame({"tags": cells})
        assert X["tags"].dtype == object
        encoder = FieldEncoder(multi_valued={"tags": "|"}).fit(X)
        out = encoder.transform(X)
        one_row = pd.concat([encoder.transform(X.iloc[[i]]) for i in range(20)])
    lists = reference_lists(cells, "|")
    known, has_missing = reference_vocabulary(lists, out.shape[1])
    np.testing.assert_array_equal(out, reference_slots(lists, known, has_missing, out.shape[1]))
    np.testing.assert_array_equal(one_row, out.iloc[:20])


@pytest.mark.parametrize(
    "cells, separator",
    [
        ([None, np.nan, pd.NA, "", "a"], "|"),
        ([None, np.nan, pd.NA, [], ["a"]], None),
        ([None, np.nan, pd.NA, (), np.array([], dtype=object)], None),
    ],
)
def test_missing_cells_empty_lists_and_empty_strings_are_all_padding(cells, separator):
    X = pd.DataFrame({"tags": pd.Series(cells, dtype=object)})
    encoder = FieldEncoder(multi_valued={"tags": separator}).fit(X)
    assert encoder.field_slices_ == [slice(0, 1)]  # at least one slot
    out = encoder.transform(X).to_numpy()
    assert out[:4].tolist() == [[0]] * 4
    assert out[4, 0] in (0, 2)  # padding when fit saw no value
    assert encoder.n_truncated_.tolist() == [0]


def test_missing_values_inside_lists_get_their_own_code_if_fit_saw_them():
    fit = pd.DataFrame({"tags": [["a", None], ["b"], ["a", np.nan, pd.NA]]})
    encoder = FieldEncoder(multi_valued=["tags"]).fit(fit)
    assert encoder.cardinalities_.tolist() == [5]  # padding, unknown, a, b, missing
    assert encoder.categories_[0][:2].tolist() == ["a", "b"]
    out = encoder.transform(pd.DataFrame({"tags": [[None, "zz", "b"], ["a"]]}))
    assert out.to_numpy().tolist() == [[4, 1, 3], [2, 0, 0]]
    without = FieldEncoder(multi_valued=["tags"]).fit(pd.DataFrame({"tags": [["a", "b"], []]}))
    assert without.transform(pd.DataFrame({"tags": [[None, "b"]]})).to_numpy().tolist() == [[1, 3]]


def test_values_are_used_as_written_and_duplicates_kept():
    X = pd.DataFrame({"tags": ["a| a|a", "a|a"]})
    encoder = FieldEncoder(multi_valued={"tags": "|"}).fit(X)
    assert encoder.categories_[0].tolist() == [" a", "a"]
    assert encoder.transform(X).to_numpy().tolist() == [[3, 2, 3], [3, 3, 0]]


def test_a_permuted_list_gives_the_same_multiset_of_codes():
    rng = np.random.default_rng(0)
    lists = [list(rng.choice(VALUES, size=rng.integers(1, 6))) for _ in range(100)]
    encoder = FieldEncoder(multi_valued=["tags"]).fit(pd.DataFrame({"tags": lists}))
    permuted = [list(rng.permutation(values)) for values in lists]
    a = encoder.transform(pd.DataFrame({"tags": lists})).to_numpy()
    b = encoder.transform(pd.DataFrame({"tags": permuted})).to_numpy()
    np.testing.assert_array_equal(np.sort(a, axis=1), np.sort(b, axis=1))


@pytest.mark.parametrize(
    "params, categories",
    [
        ({}, ["a", "b", "c"]),
        ({"min_frequency": 3}, ["a", "b"]),  # occurrences: a 4 (twice in one list), b 3, c 1
        ({"min_frequency": 0.5}, ["a", "b"]),  # at least 0.5 * 4 rows = 2 occurrences
        ({"min_frequency": 0.9}, ["a"]),
        ({"max_categories": 1}, ["a"]),
        ({"max_categories": 2, "min_frequency": 2}, ["a", "b"]),
    ],
)
def test_min_frequency_and_max_categories_count_occurrences(params, categories):
    X = pd.DataFrame({"tags": ["a|a|b", "a|b", "b|c", "a"]})
    encoder = FieldEncoder(multi_valued={"tags": "|"}, **params).fit(X)
    assert encoder.categories_[0].tolist() == categories
    codes = encoder.transform(pd.DataFrame({"tags": ["c|a"]})).to_numpy()[0]
    assert codes.tolist() == [categories.index("c") + 2 if "c" in categories else 1, 2, 0]
