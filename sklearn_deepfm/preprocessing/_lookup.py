"""Python dict look-ups behind :class:`~sklearn_deepfm.FieldEncoder`'s small batches.

A one-row request spends most of its time in per-column pandas calls
(``Index.get_indexer``, dtype casts), whose cost depends on how pandas stores the
strings. For a few rows, plain Python is cheaper and the same for every storage: each
column becomes a list of Python scalars, each vocabulary field a ``dict`` from value to
code. Every function here returns None where it cannot match the vectorised kernels of
``_encode`` exactly (a type it does not know, an infinity, a string in a numeric
column); the caller then uses those kernels, which also raise the errors.
"""

from bisect import bisect_right

import numpy as np
import pandas as pd
import pyarrow as pa

# Up to this many rows the dict path is used. The crossover (benchmarks/README.md,
# results/prediction_criteo.json) is about 200 rows for Arrow strings, 400 for objects, 600 for
# Python strings, 40 for categoricals; 64 keeps each within 1.5x of its faster path.
MAX_ROWS = 64

# Kinds of value a table can hold. A value of one kind never equals a value of
# another, except booleans and numbers, whose equality the tables leave to pandas.
_STR, _BOOL, _NUMBER = "str", "bool", "number"
_EXACT_FLOAT = 2.0**53  # beyond it, an int and the float nearest to it differ


def _kind(value):
    if isinstance(value, str):
        return _STR
    if isinstance(value, bool | np.bool_):
        return _BOOL
    if isinstance(value, int | float | np.integer | np.floating) and abs(value) <= _EXACT_FLOAT:
        return _NUMBER
    return None


def is_missing(value):
    """Tell whether a Python value is missing: None, ``pd.NA``, ``NaT`` or a float NaN."""
    return (
        value is None
        or value is pd.NA
        or value is pd.NaT
        or (isinstance(value, float) and value != value)
    )


def build_table(known, missing_code=0):
    """Return ``(codes, kinds)`` for a vocabulary, or None when a dict cannot serve it.

    ``codes`` maps each known value to its code (``known[i]`` has ``i + 1``, or
    ``i + 2`` from ``missing_code`` on, where a warm start appended values); ``kinds``
    is the set of kinds among the known values. None when a value is of no known
    kind, or booleans and numbers mix (``True == 1`` in a dict).

    Examples
    --------
    >>> import pandas as pd
    >>> from sklearn_deepfm.preprocessing._lookup import build_table
    >>> build_table(pd.Index(["a", "b"]))
    ({'a': 1, 'b': 2}, frozenset({'str'}))
    """
    values = known.tolist()
    kinds = frozenset(_kind(value) for value in values)
    if None in kinds or {_BOOL, _NUMBER} <= kinds:
        return None
    codes = range(1, len(values) + 1)
    if 0 < missing_code <= len(values):  # the codes after the missing code move up one
        codes = [code + (code >= missing_code) for code in codes]
    codes = dict(zip(values, codes, strict=True))
    return (codes, kinds) if len(codes) == len(values) else None


def python_values(column):
    """Return the cells of a pandas or numpy column as a list of Python scalars.

    One call whatever the storage: Arrow arrays convert through pyarrow, categoricals
    through their codes (converting the whole categories would cost more), numpy and
    Python-backed arrays with ``tolist``.
    """
    array = column.array if isinstance(column, pd.Series) else column
    if isinstance(array, pd.Categorical):
        categories = array.categories
        return [None if code < 0 else categories[code] for code in array.codes.tolist()]
    if hasattr(array, "__arrow_array__"):
        return pa.array(array).to_pylist()
    return array.tolist()


def lookup_codes(values, table, missing_code):
    """Codes of ``values`` in a vocabulary ``table`` (see ``build_table``), or None.

    Known values get their code, missing values ``missing_code``, other values 0.
    """
    codes, kinds = table
    out = []
    for value in values:
        if type(value) is str:  # the usual case first
            out.append(codes.get(value, 0))
            continue
        if is_missing(value):
            out.append(missing_code)
            continue
        kind = _kind(value)
        if kind is None or (kind in (_BOOL, _NUMBER) and kinds & {_BOOL, _NUMBER} - {kind}):
            return None
        out.append(codes.get(value, 0))
    return out


def as_floats(values):
    """Return the numbers in ``values`` as float64, NaN for missing; None for anything else."""
    out = np.empty(len(values))
    for i, value in enumerate(values):
        if is_missing(value):
            out[i] = np.nan
        elif _kind(value) != _NUMBER:
            return None
        else:
            out[i] = value
    return None if np.isinf(out).any() else out


def quantile_codes(x, edges, missing_code):
    """Quantile codes of a few floats, as ``_encode.encode_quantile`` gives them.

    A binary search per value: numpy's vectorised comparisons cost more than the
    values for one row.
    """
    inner, first = edges[1:-1].tolist(), 1 if edges.size else 0
    return [
        missing_code if value != value else first + bisect_right(inner, value)
        for value in x.tolist()
    ]
