import gzip
import hashlib
from itertools import pairwise

import numpy as np
import pandas as pd
import pytest
from conftest import SHARED_DATA

from sklearn_deepfm.datasets import (
    CRITEO_CAT_COLUMNS,
    CRITEO_COLUMNS,
    CRITEO_INT_COLUMNS,
    FRAPPE_FIELDS,
    MOVIELENS_FIELDS,
    MOVIELENS_GENRES,
    _fetch,
    fetch_criteo_sample,
    get_data_home,
    iter_criteo,
    load_criteo,
    load_frappe,
    load_libfm,
    load_movielens_100k,
)

DATA = SHARED_DATA
CRITEO_8K = DATA / "criteo_8k" / "criteo_8k.txt"
CRITEO_SAMPLE = DATA / "criteo_sample" / "criteo_sample.txt"
FRAPPE = DATA / "frappe" / "frappe.train.libfm"
MOVIELENS = DATA / "movielens_100k"
CRITEO_SAMPLE_SHA256 = "08b84f12a22438fb534e989a5e4fa245726b2bda001983556bc2aea2f094f724"


def shared(path):
    if not path.exists():
        pytest.skip(f"shared data file {path} absent")
    return path


# --- small Criteo files written by the tests -------------------------------------------------

INTS = ["1", "", "-1", "5.0", "", "0", "7", "", "2", "3", "", "4", "9"]
CATS = ["68fd1e64", ""] + ["a73ee510"] * 23 + [""]
ROW = ["1", *INTS, *CATS]


def write_lines(tmp_path, lines, name="data.txt"):
    path = tmp_path / name
    path.write_text("".join(line + "\n" for line in lines))
    return path


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


# --- libFM -----------------------------------------------------------------------------------


def test_frappe_shape_rate_and_disjoint_fields():
    frame = load_frappe(shared(FRAPPE))
    assert frame.shape == (57722, 11)
    assert list(frame.columns) == ["label", *FRAPPE_FIELDS]
    assert frame["label"].dtype == np.int8
    assert frame["label"].mean() == pytest.approx(0.3303, abs=1e-4)
    assert (frame[FRAPPE_FIELDS].dtypes == "category").all()
    assert all(frame[f].cat.categories.dtype == np.int64 for f in FRAPPE_FIELDS)
    assert frame.loc[0, ["label", "user", "city"]].tolist() == [1, 266, 5149]
    categories = [frame[f].cat.categories for f in FRAPPE_FIELDS]
    ranges = sorted((c.min(), c.max()) for c in categories)
    assert all(high < next_low for (_, high), (next_low, _) in pairwise(ranges))
    assert frame["item"].nunique() == 4082


def test_frappe_return_X_y():
    X, y = load_frappe(shared(FRAPPE), return_X_y=True)
    assert list(X.columns) == FRAPPE_FIELDS
    assert y.dtype == np.int8 and y.shape == (57722,) and set(np.unique(y)) == {0, 1}


@pytest.mark.parametrize(
    "kwargs, columns",
    [
        ({}, ["label", "f0", "f1", "f2"]),
        ({"n_fields": 3}, ["label", "f0", "f1", "f2"]),
        ({"field_names": ["a", "b", "c"]}, ["label", "a", "b", "c"]),
    ],
)
def test_libfm_field_names(tmp_path, kwargs, columns):
    path = write_lines(tmp_path, ["1 0:1 5:1 9:1", "-1 2:1 6:1 8:1", "0 1:1 7:1 8:1"])
    frame = load_libfm(path, **kwargs)
    assert list(frame.columns) == columns
    assert frame["label"].tolist() == [1, 0, 0]
    assert frame.iloc[:, 1].tolist() == [0, 2, 1]
    assert frame.iloc[:, 3].tolist() == [9, 8, 8]


def test_libfm_values_keep(tmp_path):
    path = write_lines(tmp_path, ["1 0:0.5 5:1", "-1 2:1 6:2e-1"])
    with pytest.raises(ValueError, match=r"line 1: values other than 1.*got '0.5'.*values='keep'"):
        load_libfm(path)
    X, y = load_libfm(path, values="keep", return_X_y=True)
    assert list(X.columns) == ["f0", "f1", "f0_value", "f1_value"]
    assert X["f0_value"].tolist() == [0.5, 1.0] and X["f1_value"].tolist() == [1.0, 0.2]
    assert y.tolist() == [1, 0]


def test_libfm_tolerates_extra_whitespace(tmp_path):
    path = tmp_path / "ws.libfm"
    path.write_text("1  0:1 5:1 \r\n-1\t2:1 6:1")
    assert load_libfm(path)[["f0", "f1"]].to_numpy().tolist() == [[0, 5], [2, 6]]


@pytest.mark.parametrize(
    "bad_line, match",
    [
        ("1 0:1 6:1 9:1 12:1", "line 3: expected a label and 3 idx:val features.*got 4"),
        ("1 0:1 6:1", "line 3: expected a label and 3 idx:val features.*got 2"),
        ("", "line 3: expected a label and 3 idx:val features.*got 0"),
        ("1 0:1 6 9:1", "line 3: expected an idx:val feature, got '6'"),
        ("1 0:1 x:1 9:1", "line 3: the feature index must be an integer, got 'x'"),
        ("1 0:1 6.5:1 9:1", "line 3: the feature index must be an integer, got '6.5'"),
        ("1 0:1 -6:1 9:1", "line 3: feature indices must be non-negative"),
        ("1 0:1 6:one 9:1", "line 3: the feature value must be a number, got 'one'"),
        ("2 0:1 6:1 9:1", "line 3: label must be -1, 0 or 1, got '2'"),
        ("+ 0:1 6:1 9:1", r"line 3: the label must be a number, got '\+'"),
        ("1 0:1 6:0 9:1", "line 3: values other than 1 are not supported"),
        ("1 0:1 3:1 9:1", "'f0' .* and 'f1' .* overlap: .* index 3 at position 2 on line 3"),
    ],
)
def test_libfm_malformed_line_names_line_number(tmp_path, bad_line, match):
    path = write_lines(tmp_path, ["1 0:1 5:1 9:1", "-1 4:1 6:1 8:1", bad_line, "1 2:1 7:1 10:1"])
    with pytest.raises(ValueError, match=f"data.txt[:,] .*{match}"):
        load_libfm(path)


def test_libfm_invalid_utf8_names_line_number(tmp_path):
    path = tmp_path / "data.txt"
    path.write_bytes(b"1 0:1 5:1\n-1 2:1 6:1\n1 0:1 \xff:1\n")
    with pytest.raises(ValueError, match="data.txt, line 3: not valid UTF-8 text"):
        load_libfm(path)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"values": "drop"}, "values must be one of"),
        ({"n_fields": 0}, "n_fields must be None or a positive integer, got 0"),
        ({"n_fields": 3}, "line 1: expected a label and 3 idx:val features.*got 2"),
        ({"n_fields": 3, "field_names": ["a", "b"]}, "field_names must name n_fields=3 fields"),
        ({"field_names": ["a", "a"]}, "field_names must be distinct"),
        ({"field_names": ["label", "a"]}, "must not contain 'label'"),
    ],
)
def test_libfm_invalid_parameters(tmp_path, kwargs, match):
    path = write_lines(tmp_path, ["1 0:1 5:1"])
    with pytest.raises(ValueError, match=match):
        load_libfm(path, **kwargs)


# --- fetch_criteo_sample ---------------------------------------------------------------------


@pytest.fixture
def sample_url(monkeypatch):
    """Point the downloader at the shared sample through a file:// URL."""
    url = shared(CRITEO_SAMPLE).as_uri()
    monkeypatch.setattr(_fetch, "CRITEO_SAMPLE_URL", url)
    return url


def test_fetch_criteo_sample_downloads_then_uses_the_cache(tmp_path, sample_url, monkeypatch):
    X, y = fetch_criteo_sample(data_home=tmp_path, return_X_y=True)
    assert X.shape == (200, 39) and y.mean() == pytest.approx(0.245)
    cached = tmp_path / "criteo_sample" / "criteo_sample.txt"
    assert hashlib.sha256(cached.read_bytes()).hexdigest() == CRITEO_SAMPLE_SHA256
    assert [p.name for p in cached.parent.iterdir()] == ["criteo_sample.txt"]

    def no_download(*args, **kwargs):
        raise AssertionError("the cached file should have been used")

    monkeypatch.setattr(_fetch.urllib.request, "urlopen", no_download)
    frame = fetch_criteo_sample(data_home=tmp_path, download_if_missing=False)
    assert frame.shape == (200, 40)


def test_fetch_criteo_sample_checksum_mismatch(tmp_path, monkeypatch):
    tampered = tmp_path / "tampered.txt"
    tampered.write_text(",".join(CRITEO_COLUMNS) + "\n" + ",".join(ROW) + "\n")
    monkeypatch.setattr(_fetch, "CRITEO_SAMPLE_URL", tampered.as_uri())
    home = tmp_path / "home"
    with pytest.raises(ValueError, match="SHA-256 [0-9a-f]{64}, expected 08b84f12"):
        fetch_criteo_sample(data_home=home)
    assert list((home / "criteo_sample").iterdir()) == []


def test_fetch_criteo_sample_missing_without_download(tmp_path):
    with pytest.raises(OSError, match="not in the cache.*download_if_missing=False"):
        fetch_criteo_sample(data_home=tmp_path, download_if_missing=False)


def test_fetch_criteo_sample_download_error(tmp_path, monkeypatch):
    monkeypatch.setattr(_fetch, "CRITEO_SAMPLE_URL", (tmp_path / "absent.txt").as_uri())
    with pytest.raises(OSError, match="Could not download file://.*absent.txt"):
        fetch_criteo_sample(data_home=tmp_path / "home")
    assert list((tmp_path / "home" / "criteo_sample").iterdir()) == []


def test_get_data_home_env_var_and_default(tmp_path, monkeypatch):
    monkeypatch.setenv("SKLEARN_DEEPFM_DATA", str(tmp_path / "from_env"))
    assert get_data_home() == tmp_path / "from_env"
    assert get_data_home(tmp_path / "explicit") == tmp_path / "explicit"
    assert (tmp_path / "explicit").is_dir()
    monkeypatch.delenv("SKLEARN_DEEPFM_DATA")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert get_data_home() == tmp_path / "sklearn_deepfm_data"


# --- MovieLens 100K ---------------------------------------------------------------------------


def test_movielens_joins_every_rating_with_its_user_and_movie():
    frame = load_movielens_100k(shared(MOVIELENS))
    assert frame.shape == (100_000, 9)
    assert list(frame.columns) == [*MOVIELENS_FIELDS, "rating"]
    assert frame["rating"].dtype == np.float64 and set(frame["rating"]) == {1, 2, 3, 4, 5}
    assert frame[["user_id", "item_id"]].nunique().tolist() == [943, 1682]
    toy_story = frame[frame["item_id"] == 1].iloc[0]  # u.item's first line
    assert (toy_story["genres"], toy_story["year"]) == ("Animation|Children's|Comedy", 1995)
    genres = {g for cell in frame["genres"] for g in cell.split("|")}
    assert genres == set(MOVIELENS_GENRES)
    X, y = load_movielens_100k(MOVIELENS, return_X_y=True)
    pd.testing.assert_frame_equal(X, frame[MOVIELENS_FIELDS])
    np.testing.assert_array_equal(y, frame["rating"].to_numpy())
