"""load_criteo and iter_criteo on the shared Criteo files and on small files they write."""

import gzip

import numpy as np
import pandas as pd
import pytest
from reader_cases import CRITEO_SAMPLE, DATA, INTS, ROW, shared, write_lines

from sklearn_deepfm.datasets import (
    CRITEO_CAT_COLUMNS,
    CRITEO_COLUMNS,
    CRITEO_INT_COLUMNS,
    iter_criteo,
    load_criteo,
)

CRITEO_8K = DATA / "criteo_8k" / "criteo_8k.txt"


def criteo_lines(fields, sep="\t", n=4, header=None):
    """``n`` copies of ``fields`` (labels alternating 1, 0), with an optional header."""
    rows = [sep.join(["1" if i % 2 == 0 else "0", *fields[1:]]) for i in range(n)]
    return ([sep.join(header)] if header else []) + rows


def replaced(position, value, fields=ROW):
    return [value if i == position else field for i, field in enumerate(fields)]


# --- Criteo: shared files --------------------------------------------------------------------


def test_criteo_8k_counts_and_dtypes():
    frame = load_criteo(shared(CRITEO_8K))
    assert frame.shape == (8000, 40)
    assert list(frame.columns) == CRITEO_COLUMNS
    assert frame["label"].dtype == np.int8
    assert frame["label"].sum() == 1728
    assert frame["label"].mean() == pytest.approx(0.2160)
    assert (frame[CRITEO_INT_COLUMNS].dtypes == np.float64).all()
    assert all(pd.api.types.is_string_dtype(frame[c]) for c in CRITEO_CAT_COLUMNS)
    missing = frame.isna().sum()
    assert missing[["I1", "I12", "C22", "I2"]].tolist() == [3612, 6214, 6538, 0]
    assert frame.iloc[0, :6].tolist() == [0, 1.0, 1.0, 5.0, 0.0, 1382.0]
    assert frame.loc[0, "C1"] == "68fd1e64"
    assert (frame["I2"] < 0).any()


def test_criteo_sample_csv_with_header():
    frame = load_criteo(shared(CRITEO_SAMPLE))
    assert frame.shape == (200, 40)
    assert list(frame.columns) == CRITEO_COLUMNS
    assert frame["label"].mean() == pytest.approx(0.245)
    assert frame.loc[0, "I3"] == 260.0
    assert pd.isna(frame.loc[0, "I1"])
    assert pd.isna(frame.loc[0, "C26"])


@pytest.mark.parametrize("chunksize", [1000, 3001, 8000, 10_000])
def test_iter_criteo_chunks_concatenate_to_load_criteo(chunksize):
    path = shared(CRITEO_8K)
    chunks = list(iter_criteo(path, chunksize=chunksize))
    assert len(chunks) == -(-8000 // chunksize)
    assert all(len(chunk) <= chunksize for chunk in chunks)
    pd.testing.assert_frame_equal(pd.concat(chunks), load_criteo(path))


@pytest.mark.parametrize("n_rows, chunksize", [(0, None), (1, None), (2500, 1000), (9000, 1000)])
def test_criteo_n_rows_stops_early(n_rows, chunksize):
    path = shared(CRITEO_8K)
    frame = load_criteo(path, n_rows=n_rows, chunksize=chunksize)
    assert frame.shape == (min(n_rows, 8000), 40)
    pd.testing.assert_frame_equal(
        frame, load_criteo(path).iloc[: len(frame)], check_index_type=False
    )


def test_criteo_category_dtype_matches_str():
    path = shared(CRITEO_8K)
    as_str = load_criteo(path)
    as_cat = load_criteo(path, categorical_dtype="category", chunksize=3000)
    for column in CRITEO_CAT_COLUMNS:
        assert isinstance(as_cat[column].dtype, pd.CategoricalDtype)
        assert as_cat[column].cat.categories.is_monotonic_increasing
        assert as_cat[column].isna().equals(as_str[column].isna())
        assert (as_cat[column].astype(object) == as_str[column].astype(object)).sum() == (
            as_str[column].notna().sum()
        )
    # The point is that "category" saves memory over one Python string per cell, the
    # storage pandas falls back to without pyarrow. Arrow strings are already compact
    # (15 bytes a cell on criteo_8k, against 61 as objects and 10 as category), so
    # compare against object strings, whatever storage "str" has here.
    as_object = as_str[CRITEO_CAT_COLUMNS].astype(object)
    cat_bytes = as_cat[CRITEO_CAT_COLUMNS].memory_usage(deep=True).sum()
    assert cat_bytes < as_object.memory_usage(deep=True).sum() / 2


# --- Criteo: small files -------------------------------------------------------------------


@pytest.mark.parametrize(
    "sep, header",
    [("\t", None), (",", None), ("\t", CRITEO_COLUMNS), (",", CRITEO_COLUMNS)],
    ids=["tsv", "csv", "tsv-header", "csv-header"],
)
def test_criteo_variants(tmp_path, sep, header):
    path = write_lines(tmp_path, criteo_lines(ROW, sep=sep, header=header))
    X, y = load_criteo(path, return_X_y=True)
    assert y.dtype == np.int8 and y.tolist() == [1, 0, 1, 0]
    assert list(X.columns) == CRITEO_COLUMNS[1:]
    expected = [np.nan if v == "" else float(v) for v in INTS]
    np.testing.assert_array_equal(X.loc[0, CRITEO_INT_COLUMNS].to_numpy(float), expected)
    assert X.loc[0, "C1"] == "68fd1e64"
    assert X["C2"].isna().all() and X["C26"].isna().all()


def test_criteo_header_in_other_order_is_reordered(tmp_path):
    order = CRITEO_COLUMNS[::-1]
    path = write_lines(tmp_path, [",".join(order), ",".join(ROW[::-1])])
    frame = load_criteo(path)
    assert list(frame.columns) == CRITEO_COLUMNS
    assert frame.loc[0, "I4"] == 5.0 and frame.loc[0, "C1"] == "68fd1e64"


def test_criteo_kaggle_test_variant_without_label(tmp_path):
    path = write_lines(tmp_path, ["\t".join(ROW[1:])] * 3)
    frame = load_criteo(path)
    assert list(frame.columns) == CRITEO_COLUMNS[1:]
    assert frame.shape == (3, 39)
    with pytest.raises(ValueError, match="no label column.*return_X_y=False"):
        load_criteo(path, return_X_y=True)


def test_criteo_gzip_and_crlf(tmp_path):
    path = tmp_path / "train.txt.gz"
    with gzip.open(path, "wt", newline="") as f:
        f.write("".join(line + "\r\n" for line in criteo_lines(ROW)))
    frame = load_criteo(path)
    assert frame.shape == (4, 40)
    assert frame["C26"].isna().all()
    assert frame.loc[3, "C25"] == "a73ee510"


@pytest.mark.parametrize("header", [None, CRITEO_COLUMNS])
def test_criteo_byte_order_mark(tmp_path, header):
    path = tmp_path / "bom.txt"
    path.write_text("\n".join(criteo_lines(ROW, header=header)) + "\n", encoding="utf-8-sig")
    frame = load_criteo(path)
    assert frame.shape == (4, 40)
    assert frame["label"].tolist() == [1, 0, 1, 0]


def test_criteo_header_only_gives_empty_frame(tmp_path):
    path = write_lines(tmp_path, [",".join(CRITEO_COLUMNS)])
    frame = load_criteo(path, categorical_dtype="category")
    assert frame.shape == (0, 40)
    assert frame["label"].dtype == np.int8


@pytest.mark.parametrize(
    "bad_line, line_no, match",
    [
        ("\t".join(ROW[:-1]), 3, "line 3: expected 40 tab-separated fields as on line 1, got 39"),
        ("\t".join([*ROW, "x"]), 3, "line 3: expected 40 tab-separated fields.*got 41"),
        ("", 3, r"line 3: .*got 1 \(an empty line\)"),
        ("\t".join(replaced(0, "2")), 3, "line 3: label must be 0 or 1, got '2'"),
        ("\t".join(replaced(0, "")), 3, "line 3: label must be 0 or 1, got ''"),
        ("\t".join(replaced(0, "yes")), 3, "line 3: label must be 0 or 1, got 'yes'"),
        ("\t".join(replaced(5, "abc")), 3, "line 3: I5 must be an integer or empty, got 'abc'"),
        ("\t".join(replaced(2, "1.5")), 3, "line 3: I2 must be an integer or empty, got '1.5'"),
        ("\t".join(replaced(13, "inf")), 3, "line 3: I13 must be an integer or empty, got 'inf'"),
        ("\t".join(replaced(1, "nan")), 3, "line 3: I1 must be an integer or empty, got 'nan'"),
    ],
    ids=[
        "short",
        "long",
        "empty",
        "label-2",
        "label-missing",
        "label-text",
        "int-text",
        "int-fraction",
        "int-inf",
        "int-nan",
    ],
)
@pytest.mark.parametrize("chunksize", [1, 2, 100])
def test_criteo_malformed_line_names_line_number(tmp_path, bad_line, line_no, match, chunksize):
    good = "\t".join(ROW)
    path = write_lines(tmp_path, [good, good, bad_line, good])
    with pytest.raises(ValueError, match=f"data.txt, {match}"):
        load_criteo(path, chunksize=chunksize)


def test_criteo_invalid_utf8_names_line_number(tmp_path):
    good = "\t".join(ROW).encode() + b"\n"
    path = tmp_path / "data.txt"
    path.write_bytes(good * 4 + good.replace(b"68fd1e64", b"68fd\xff1e6") + good)
    with pytest.raises(ValueError, match="data.txt, line 5: not valid UTF-8 text"):
        load_criteo(path, chunksize=3)


def test_criteo_malformed_line_counts_the_header(tmp_path):
    lines = criteo_lines(ROW, sep=",", header=CRITEO_COLUMNS, n=6)
    lines[5] = ",".join(replaced(7, "x"))
    path = write_lines(tmp_path, lines)
    with pytest.raises(ValueError, match="line 6: I7 must be an integer or empty, got 'x'"):
        load_criteo(path, chunksize=2)


@pytest.mark.parametrize(
    "first_line, kwargs, match",
    [
        ("\t".join(ROW[:30]), {}, "line 1: expected 40 tab-separated fields.*or 39.*got 30"),
        ("label,I1,foo", {}, r"line 1: the header must name.*unknown: \['foo'\]"),
        ("no separator here", {}, "cannot detect the separator"),
        ("\t".join(ROW), {"header": True}, "the header must name"),
    ],
)
def test_criteo_bad_first_line(tmp_path, first_line, kwargs, match):
    path = write_lines(tmp_path, [first_line])
    with pytest.raises(ValueError, match=match):
        load_criteo(path, **kwargs)


def test_criteo_forced_header_false_rejects_a_header(tmp_path):
    path = write_lines(tmp_path, criteo_lines(ROW, sep=",", header=CRITEO_COLUMNS))
    with pytest.raises(ValueError, match="line 1: label must be 0 or 1, got 'label'"):
        load_criteo(path, header=False)


def test_criteo_empty_file(tmp_path):
    path = tmp_path / "empty.txt"
    path.write_text("")
    with pytest.raises(ValueError, match="empty.txt is empty"):
        load_criteo(path)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"chunksize": 0}, "chunksize must be a positive integer, got 0"),
        ({"n_rows": -1}, "n_rows must be None or a non-negative integer, got -1"),
        ({"sep": ";"}, "sep must be None"),
        ({"header": "infer"}, "header must be None, True or False"),
        ({"categorical_dtype": "object"}, "categorical_dtype must be one of"),
    ],
)
def test_criteo_invalid_parameters(tmp_path, kwargs, match):
    path = write_lines(tmp_path, criteo_lines(ROW))
    with pytest.raises(ValueError, match=match):
        iter_criteo(path, **kwargs)
