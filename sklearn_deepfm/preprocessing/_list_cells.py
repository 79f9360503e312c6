"""Cells of lists, or of strings joined by a separator, to the values of all lists.

The input side of multi-valued fields (see ``_multi_valued``): ``split_cells``
returns the values of every row's list, flattened in row order, and each row's list
length, with no Python loop over rows. Strings are split by Arrow
(``pyarrow.compute.split_pattern``), whatever pandas stores them in; Arrow lists are
flattened by Arrow; lists, tuples and arrays held as Python objects by ``map`` and
``itertools.chain``, which loop in C.
"""

from itertools import chain

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from . import _arrow

# What a cell of lists given as Python objects may be: its values, in order.
_LIST_LIKES = (list, tuple, np.ndarray)


def split_cells(values, separator, label):
    """Return the values of every row's list, flattened in row order, and each list's length.

    Parameters
    ----------
    values : Series, pandas array or ndarray
        One column.
    separator : str or None
        Cells are strings split at every ``separator`` (values kept as written, so
        ``"a||b"`` holds ``""``), or None: cells are lists, tuples, 1-d arrays or
        Arrow lists. A missing cell, an empty string and an empty list are empty lists.
    label : str
        How errors name the column.

    Returns
    -------
    flat : ArrowStringArray or ndarray of object
        The values: Arrow strings where the lists hold strings (``_encode``'s
        vocabulary kernels then count and code them in Arrow), else Python objects.
    lengths : ndarray of int64
        Each row's number of values.
    """
    array = values.array if isinstance(values, pd.Series) else values
    if separator is not None:
        strings = _arrow_strings(array, separator, label)
        # an empty string is an empty list, not a list holding the value ""
        strings = pc.if_else(pc.equal(strings, ""), pa.scalar(None, strings.type), strings)
        return _flatten_arrow(pc.split_pattern(strings, separator))
    lists = _arrow_of(array)
    if lists is not None and _arrow.is_list_type(lists.type):
        return _flatten_arrow(lists)
    return _flatten_objects(np.asarray(array, dtype=object), label)


def _arrow_of(array):
    """Return the Arrow array behind a pandas array held in (or convertible to) Arrow, or None."""
    if isinstance(array, pd.Categorical) or not hasattr(array, "__arrow_array__"):
        return None
    return pa.array(array)


def _arrow_strings(array, separator, label):
    """Return the cells as an Arrow string array, or raise naming a cell that is no string."""
    error = None
    try:
        strings = _arrow_of(array)
        if strings is None:  # numpy, categories: one conversion in C
            objects = np.asarray(array, dtype=object)
            strings = pa.array(objects, type=pa.large_string(), from_pandas=True)
    except (pa.ArrowTypeError, pa.ArrowInvalid) as exc:
        strings, error = None, exc
    if strings is not None and (
        pa.types.is_string(strings.type) or pa.types.is_large_string(strings.type)
    ):
        return strings
    cells = np.asarray(array, dtype=object)
    value = next((v for v in cells[~pd.isna(cells)] if not isinstance(v, str)), None)
    if value is None:  # pragma: no cover - strings that Arrow cannot hold
        raise ValueError(f"FieldEncoder: column {label} cannot be read as strings.") from error
    raise ValueError(
        f"FieldEncoder: column {label} is multi-valued with the separator {separator!r}, "
        f"so its cells must be strings or missing; it holds {value!r} of type "
        f"{type(value).__name__}. Convert the column to strings, or declare list cells "
        f"with multi_valued={{{label}: None}}."
    )


def _flatten_arrow(lists):
    lengths = pc.fill_null(pc.list_value_length(lists), 0)
    lengths = np.asarray(lengths.to_numpy(zero_copy_only=False), dtype=np.int64)
    flat = pc.list_flatten(lists)
    if pa.types.is_string(flat.type) or pa.types.is_large_string(flat.type):
        return pd.arrays.ArrowStringArray(flat), lengths
    return np.fromiter(flat.to_pylist(), dtype=object, count=len(flat)), lengths


def _flatten_objects(cells, label):
    """Flatten list-like Python cells (C loops: ``map``, ``chain``); missing cells are empty."""
    lengths = np.zeros(len(cells), dtype=np.int64)
    present = np.flatnonzero(~pd.isna(cells))
    listed = cells[present]
    if not all(issubclass(kind, _LIST_LIKES) for kind in set(map(type, listed))):
        listed = _as_lists(listed, label)
    try:
        lengths[present] = np.fromiter(map(len, listed), dtype=np.int64, count=len(listed))
    except TypeError:  # a 0-d array has no length
        _as_lists(listed, label)  # raises, naming it
        raise
    flat = np.fromiter(chain.from_iterable(listed), dtype=object, count=int(lengths.sum()))
    nested = [kind for kind in set(map(type, flat)) if issubclass(kind, list | np.ndarray)]
    if nested:
        value = next(v for v in flat if isinstance(v, nested[0]))
        raise TypeError(
            f"FieldEncoder: the lists of column {label} must hold hashable scalars such as "
            f"strings or numbers; one holds the {type(value).__name__} {value!r}. Flatten "
            "nested lists, or turn the inner ones into tuples."
        )
    return flat, lengths


def _as_lists(cells, label):
    """Return Arrow list scalars as Python lists; raise naming a cell that is no list."""
    out = np.empty(len(cells), dtype=object)
    for i, cell in enumerate(cells):  # only where a cell is not a list, tuple or array
        if isinstance(cell, pa.ListScalar):
            cell = cell.as_py() or []
        elif not isinstance(cell, _LIST_LIKES) or np.ndim(cell) != 1:
            fix = (
                f"For strings such as 'Action|Comedy', name the separator: "
                f"multi_valued={{{label}: '|'}}."
                if isinstance(cell, str)
                else "Convert such cells to lists."
            )
            raise ValueError(
                f"FieldEncoder: column {label} is multi-valued with list cells, so each cell "
                f"must be a list, tuple or 1-d array, or missing; it holds {cell!r} of type "
                f"{type(cell).__name__}. {fix}"
            )
        out[i] = cell
    return out
