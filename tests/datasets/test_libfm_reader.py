"""load_libfm and load_frappe on the shared Frappe file and on small libFM files."""

from itertools import pairwise

import numpy as np
import pytest
from reader_cases import DATA, shared, write_lines

from sklearn_deepfm.datasets import FRAPPE_FIELDS, load_frappe, load_libfm

FRAPPE = DATA / "frappe" / "frappe.train.libfm"


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
