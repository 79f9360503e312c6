"""FieldEncoder's multi-valued fields against a pure-Python reference of the codes.

A multi-valued field writes ``width`` slots per row: the codes of the list's first
``width`` values, then padding (0); unknown values code 1, known values 2.., a
missing value inside a list the code after them (see ``sklearn_deepfm._slots``).
"""

import io
import math
import pickle
import warnings
from collections import Counter

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from conftest import SHARED_DATA, STRING_STORAGES
from sklearn.base import clone
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer

from sklearn_deepfm import FieldEncoder
from sklearn_deepfm._slots import field_slices
from sklearn_deepfm.datasets import MOVIELENS_GENRES, load_movielens_100k
from sklearn_deepfm.io._persistence import load, save
from sklearn_deepfm.preprocessing import _lookup

MOVIELENS = SHARED_DATA / "movielens_100k"
VALUES = ["a", "b", "c", "é", "10", "9", "Z", "a b"]


# -- the reference ---------------------------------------------------------------------


def is_missing(value):
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def reference_lists(cells, separator):
    """Each cell's list of values, one cell at a time."""
    lists = []
    for cell in cells:
        if is_missing(cell):
            lists.append([])
        elif separator is not None:
            lists.append(cell.split(separator) if cell else [])
        else:
            lists.append(list(cell))
    return lists


def reference_vocabulary(lists, width, min_frequency=None, max_categories=None):
    """The known values in code order and whether missing values get a code."""
    kept = [value for values in lists for value in values[:width]]
    counts = Counter(value for value in kept if not is_missing(value))
    candidates = sorted(counts) + [None]  # missing last
    n_of = {**counts, None: sum(map(is_missing, kept))}
    keep = [c for c in candidates if n_of[c] > 0]
    if isinstance(min_frequency, int):
        keep = [c for c in keep if n_of[c] >= min_frequency]
    elif min_frequency is not None:  # a fraction of the rows
        keep = [c for c in keep if n_of[c] >= min_frequency * len(lists)]
    if max_categories is not None:
        ranked = sorted(keep, key=lambda c: -n_of[c])  # stable: ties keep code order
        keep = [c for c in keep if c in ranked[:max_categories]]
    return [c for c in keep if c is not None], None in keep


def reference_slots(lists, known, has_missing, width):
    codes = {value: i + 2 for i, value in enumerate(known)}
    missing_code = len(known) + 2 if has_missing else 1
    rows = []
    for values in lists:
        row = [missing_code if is_missing(v) else codes.get(v, 1) for v in values[:width]]
        rows.append(row + [0] * (width - len(row)))
    return np.array(rows, dtype=np.int64).reshape(len(lists), width)


def random_lists(n, seed, *, values=VALUES, missing_elements=True):
    """Lists of 0 to 5 values, duplicates included; a tenth missing cells."""
    rng = np.random.default_rng(seed)
    pool = np.array(values, dtype=object)
    lists = [list(rng.choice(pool, size=rng.integers(0, 6))) for _ in range(n)]
    if missing_elements:
        for values_ in lists[::7]:
            values_.insert(len(values_) // 2, None)
    for i in range(3, n, 10):
        lists[i] = None
    return lists


def joined(lists, separator="|"):
    return [None if values is None else separator.join(values) for values in lists]


def no_small_batches(monkeypatch):
    monkeypatch.setattr(_lookup, "MAX_ROWS", -1)


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


def list_cells(lists, container):
    """The same lists as Python lists, tuples or object arrays, one kind after another."""
    kinds = [list, tuple, lambda v: np.array(v, dtype=object)] if container == "mixed" else [list]
    out = np.empty(len(lists), dtype=object)
    for i, values in enumerate(lists):
        out[i] = None if values is None else kinds[i % len(kinds)](values)
    return out


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


# -- output ----------------------------------------------------------------------------


def frame_with_genres():
    return pd.DataFrame(
        {
            "site": ["a", "b", "a", None],
            "genres": ["Comedy|Drama", "Drama", None, "Action|Comedy|Drama"],
            "price": [1.0, 2.5, 4.0, 8.0],
        },
        index=pd.Index([10, 20, 30, 40], name="row"),
    )


@pytest.mark.parametrize("numeric_encoding", ["quantile", "value"])
def test_output_is_a_frame_of_named_slots_with_the_index_of_X(numeric_encoding):
    X = frame_with_genres()
    encoder = FieldEncoder(multi_valued={"genres": "|"}, numeric_encoding=numeric_encoding)
    for out in (encoder.fit_transform(X), encoder.transform(X)):
        assert isinstance(out, pd.DataFrame)
        assert out.columns.tolist() == ["site", "genres[0]", "genres[1]", "genres[2]", "price"]
        assert out.columns.tolist() == encoder.get_feature_names_out().tolist()
        assert out.index.equals(X.index)
        value = numeric_encoding == "value"
        assert out.dtypes.tolist() == [np.int64] * 4 + [np.float64 if value else np.int64]
    assert encoder.field_slices_ == [slice(0, 1), slice(1, 4), slice(4, 5)]
    assert out.iloc[:, 1:4].to_numpy().tolist() == [[3, 4, 0], [4, 0, 0], [0, 0, 0], [2, 3, 4]]
    pandas_out = clone(encoder).set_output(transform="pandas").fit_transform(X)
    pd.testing.assert_frame_equal(pandas_out, out)


def test_numpy_input_gives_positional_slot_names():
    X = np.array([["a", "x|y"], ["b", None]], dtype=object)
    encoder = FieldEncoder(multi_valued={1: "|"}).fit(X)
    out = encoder.transform(X)
    assert out.columns.tolist() == ["x0", "x1[0]", "x1[1]"]
    assert out.index.equals(pd.RangeIndex(2))
    assert encoder.get_feature_names_out(["site", "tags"]).tolist() == [
        "site",
        "tags[0]",
        "tags[1]",
    ]


def test_polars_output_carries_the_slot_names():
    pl = pytest.importorskip("polars")
    encoder = FieldEncoder(multi_valued={"genres": "|"}).set_output(transform="polars")
    out = encoder.fit_transform(frame_with_genres())
    assert isinstance(out, pl.DataFrame)
    assert out.columns == encoder.get_feature_names_out().tolist()


def test_without_multi_valued_fields_the_output_stays_an_array():
    X = frame_with_genres()
    encoder = FieldEncoder().fit(X)
    assert isinstance(encoder.transform(X), np.ndarray)
    assert encoder.field_slices_ == [slice(0, 1), slice(1, 2), slice(2, 3)]
    assert encoder.n_truncated_.tolist() == [0, 0, 0]


def test_the_next_pipeline_step_sees_the_fields_in_the_column_names():
    seen = {}

    def record(X):
        seen["columns"] = list(X.columns)
        return X

    encoder = FieldEncoder(multi_valued={"genres": "|"})
    pipeline = make_pipeline(encoder, FunctionTransformer(record))
    pipeline.fit_transform(frame_with_genres())
    assert field_slices(seen["columns"]) == encoder.field_slices_


def test_inverse_transform_gives_lists():
    X = pd.DataFrame({"tags": [["b", None, "a"], [], None, ["zz", "a"]]})
    encoder = FieldEncoder(multi_valued=["tags"]).fit(X.iloc[:3])
    back = encoder.inverse_transform(encoder.transform(X))[:, 0].tolist()
    assert back[:3] == [["b", back[0][1], "a"], [], []]
    assert math.isnan(back[0][1])
    assert back[3] == [None, "a"]  # unknown values come back as None
    with pytest.raises(ValueError, match=r"expects 3 columns, one per field \(width"):
        encoder.inverse_transform(np.zeros((1, 2)))
    with pytest.raises(ValueError, match=r"codes of column 'tags' must be integers in \[0, 5\)"):
        encoder.inverse_transform(np.array([[5, 0, 0]]))


# -- saving ----------------------------------------------------------------------------


def test_save_load_and_pickle_round_trips(tmp_path):
    X = frame_with_genres().assign(tags=[["x"], [], ["y", None], None])
    multi_valued = {"genres": "|", 3: None}
    encoder = FieldEncoder(multi_valued=multi_valued, max_len=2)
    with pytest.warns(UserWarning, match="'genres'"):
        encoder.fit(X)
    with pytest.warns(UserWarning, match="'genres'"):
        expected = encoder.transform(X)
    buffer = io.BytesIO()
    save(Pipeline([("encoder", encoder), ("model", "passthrough")]), buffer)
    loaded = load(io.BytesIO(buffer.getvalue()))
    for other in (loaded[0], pickle.loads(pickle.dumps(encoder))):
        assert other.get_params() == encoder.get_params()
        assert other.field_slices_ == encoder.field_slices_
        np.testing.assert_array_equal(other.n_truncated_, encoder.n_truncated_)
        with pytest.warns(UserWarning, match="'genres'"):
            pd.testing.assert_frame_equal(other.transform(X), expected)
        with pytest.warns(UserWarning, match="'genres'"):
            pd.testing.assert_frame_equal(other.transform(X.iloc[[3]]), expected.iloc[[3]])


@pytest.mark.parametrize(
    "change, match",
    [
        ({"separator": ","}, "has the separator ','"),
        ({"width": 0}, "multi_valued field 1 .* is inconsistent"),
        ({"missing_code": 2}, "is inconsistent"),
        ({"kind": "categorical"}, "contradicts multi_valued"),
    ],
)
def test_loading_refuses_a_multi_valued_field_that_contradicts_itself(change, match):
    encoder = FieldEncoder(multi_valued={"genres": "|"}).fit(frame_with_genres())
    state = encoder._get_fitted_state()
    state["fields"][1].update(change)
    with pytest.raises(ValueError, match=match):
        clone(encoder)._set_fitted_state(state)


# -- errors ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "params, X, error, match",
    [
        (
            {},
            pd.DataFrame({"tags": [["a", "b"], ["c"]]}),
            ValueError,
            r"column 'tags' holds the unhashable value \['a', 'b'\].*multi_valued=\{'tags': None\}",
        ),
        (
            {"multi_valued": {"genre": "|"}},
            pd.DataFrame({"genres": ["a"]}),
            ValueError,
            r"multi_valued names the column 'genre', which X does not have; X's columns are "
            r"\['genres'\]",
        ),
        (
            {"multi_valued": [3]},
            pd.DataFrame({"genres": ["a"]}),
            ValueError,
            r"multi_valued holds the position 3, but X has only 1 columns",
        ),
        (
            {"multi_valued": {"genres": ""}},
            pd.DataFrame({"genres": ["a"]}),
            ValueError,
            r"multi_valued maps the column 'genres' to '', but a separator must be a non-empty",
        ),
        (
            {"multi_valued": {"genres": 3}},
            pd.DataFrame({"genres": ["a"]}),
            ValueError,
            r"maps the column 'genres' to 3",
        ),
        (
            {"multi_valued": {"genres": "|", 0: None}},
            pd.DataFrame({"genres": ["a"]}),
            ValueError,
            r"names column 0 twice",
        ),
        (
            {"multi_valued": {"genres": "|"}},
            pd.DataFrame({"genres": pd.Series(["a|b", 7], dtype=object)}),
            ValueError,
            r"column 'genres' is multi-valued with the separator '\|', so its cells must be "
            r"strings or missing; it holds 7 of type int",
        ),
        (
            {"multi_valued": ["genres"]},
            pd.DataFrame({"genres": ["Action|Comedy"]}),
            ValueError,
            r"holds 'Action\|Comedy' of type str\. .*name the separator: "
            r"multi_valued=\{'genres': '\|'\}",
        ),
        (
            {"multi_valued": ["genres"]},
            pd.DataFrame({"genres": pd.Series([["a"], 3], dtype=object)}),
            ValueError,
            r"must be a list, tuple or 1-d array, or missing; it holds 3 of type int",
        ),
        (
            {"multi_valued": ["genres"]},
            pd.DataFrame({"genres": pd.Series([["a", ["b"]]], dtype=object)}),
            TypeError,
            r"lists of column 'genres' must hold hashable scalars .* the list \['b'\]",
        ),
        (
            {"multi_valued": {"genres": "|"}},
            np.array([["a"]], dtype=object),
            ValueError,
            r"'genres', which X does not have; X has no column names",
        ),
        ({"max_len": 0}, pd.DataFrame({"genres": ["a"]}), ValueError, "max_len"),
        ({"multi_valued": "genres"}, pd.DataFrame({"genres": ["a"]}), ValueError, "multi_valued"),
    ],
    ids=[
        "undeclared-lists",
        "missing-name",
        "missing-position",
        "empty-separator",
        "separator-not-str",
        "twice",
        "not-a-string",
        "string-without-separator",
        "not-a-list",
        "nested",
        "names-without-names",
        "max_len",
        "not-a-collection",
    ],
)
def test_invalid_multi_valued_input_raises(params, X, error, match):
    with pytest.raises(error, match=match):
        FieldEncoder(**params).fit(X)


def test_a_list_in_a_column_fitted_as_categorical_suggests_multi_valued():
    encoder = FieldEncoder().fit(pd.DataFrame({"tags": ["a", "b"]}))
    with pytest.raises(TypeError, match=r"multi-valued and refit: .*multi_valued=\{'tags': None\}"):
        encoder.transform(pd.DataFrame({"tags": pd.Series([["a"], "b"], dtype=object)}))


def test_an_arrow_list_column_not_declared_suggests_multi_valued():
    X = pd.DataFrame({"tags": pd.Series([["a"]], dtype=pd.ArrowDtype(pa.list_(pa.string())))})
    with pytest.raises(ValueError, match=r"a list of values per row.*multi_valued=\{'tags'"):
        FieldEncoder().fit(X)


def test_a_multi_valued_column_listed_as_categorical_stays_multi_valued():
    X = frame_with_genres()
    encoder = FieldEncoder(categorical_features=["site", "genres"], multi_valued={"genres": "|"})
    assert encoder.fit_transform(X).shape == (4, 5)
    assert encoder.cardinalities_[1] == 3 + 2
