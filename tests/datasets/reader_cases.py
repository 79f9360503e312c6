"""The shared data files, a Criteo row and the file helpers that the reader tests share."""

import pytest
from conftest import SHARED_DATA

DATA = SHARED_DATA
CRITEO_SAMPLE = DATA / "criteo_sample" / "criteo_sample.txt"


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
