"""A pure-Python reference of multi-valued codes, and the rows the multi-valued tests share."""

# A multi-valued field writes ``width`` slots per row: the codes of the list's first
# ``width`` values, then padding (0); unknown values code 1, known values 2.., a
# missing value inside a list the code after them (see ``sklearn_deepfm._slots``).

import math
from collections import Counter

import numpy as np
import pandas as pd

from sklearn_deepfm.preprocessing import _lookup

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


# -- the inputs ------------------------------------------------------------------------


def list_cells(lists, container):
    """The same lists as Python lists, tuples or object arrays, one kind after another."""
    kinds = [list, tuple, lambda v: np.array(v, dtype=object)] if container == "mixed" else [list]
    out = np.empty(len(lists), dtype=object)
    for i, values in enumerate(lists):
        out[i] = None if values is None else kinds[i % len(kinds)](values)
    return out


def frame_with_genres():
    return pd.DataFrame(
        {
            "site": ["a", "b", "a", None],
            "genres": ["Comedy|Drama", "Drama", None, "Action|Comedy|Drama"],
            "price": [1.0, 2.5, 4.0, 8.0],
        },
        index=pd.Index([10, 20, 30, 40], name="row"),
    )
