"""Multi-valued fields: the encoder's kernels that cut lists and scatter codes into slots.

After ``_list_cells`` has turned a column into the values of all its lists and each
row's list length, ``_encode``'s vocabulary kernels count and code the flat values as
they do a categorical column (its code 0, "unknown", becomes ``UNKNOWN_CODE``: every
code moves up by one), ``keep_first`` cuts long lists and ``scatter_slots`` writes the
codes into the slots. How slots are named and coded is ``sklearn_deepfm._slots``.
"""

import sys
import warnings

import numpy as np
import pandas as pd

from .._slots import PADDING_CODE, UNKNOWN_CODE
from . import _encode, _lookup

# Modules whose frames a warning skips to reach the user's code.
_OWN_MODULES = ("sklearn_deepfm.", "sklearn.")


# -- the multi_valued parameter ----------------------------------------------------------


def declared_columns(multi_valued, names, n_features):
    """Resolve ``FieldEncoder``'s ``multi_valued``: a dict from column position to separator.

    ``names`` are X's column names (empty when it has none). A list declares
    columns of list-like cells (separator None).

    Examples
    --------
    >>> declared_columns({"genres": "|", 0: None}, ["tags", "genres"], 2)
    {1: '|', 0: None}
    """
    if multi_valued is None:
        return {}
    if isinstance(multi_valued, dict):
        entries = multi_valued.items()
    else:
        entries = [(entry, None) for entry in multi_valued]
    declared = {}
    for entry, separator in entries:
        j = _encode.column_position(entry, names, n_features, "multi_valued")
        if separator is not None and not (isinstance(separator, str) and separator):
            raise ValueError(
                f"multi_valued maps the column {entry!r} to {separator!r}, but a separator "
                "must be a non-empty str (cells are strings split at it) or None (cells are "
                "lists, tuples or arrays). Pass e.g. {'genres': '|'}."
            )
        if j in declared:
            raise ValueError(
                f"multi_valued names column {j} twice (as {entry!r} and another key). "
                "Name each column once."
            )
        declared[j] = separator
    return declared


# -- flat codes to slots, and back ------------------------------------------------------


def keep_first(flat, lengths, width):
    """Cut every list to its first ``width`` values.

    Returns the kept flat values, the kept lengths and the number of rows cut.

    Examples
    --------
    >>> import numpy as np
    >>> keep_first(np.array(list("abcdef")), np.array([3, 0, 1, 2]), 2)
    (array(['a', 'b', 'd', 'e', 'f'], dtype='<U1'), array([2, 0, 1, 2]), 1)
    """
    n_truncated = int(np.count_nonzero(lengths > width))
    if not n_truncated:
        return flat, lengths, 0
    keep = _positions(lengths) < width
    return flat[keep], np.minimum(lengths, width), n_truncated


def _positions(lengths):
    """Each flat value's position in its row's list."""
    starts = np.cumsum(lengths) - lengths
    return np.arange(int(lengths.sum())) - np.repeat(starts, lengths)


def scatter_slots(codes, lengths, width):
    """Write each row's codes into its ``width`` slots, padding the rest.

    Examples
    --------
    >>> import numpy as np
    >>> scatter_slots(np.array([2, 3, 4]), np.array([2, 0, 1]), 2)
    array([[2, 3],
           [0, 0],
           [4, 0]])
    """
    slots = np.full((len(lengths), width), PADDING_CODE, dtype=np.int64)
    # the i-th value of row r goes to r * width + i: one repeat gives every value's place
    starts = np.cumsum(lengths) - lengths
    places = np.repeat(np.arange(len(lengths)) * width - starts, lengths)
    places += np.arange(len(places))
    np.put(slots, places, codes)
    return slots


def lookup_slots(cells, separator, width, table, missing_code):
    """Slots of a few rows by dict look-ups (see ``_lookup``), and the number of rows cut.

    ``cells`` are Python values (``_lookup.python_values``); ``table`` and
    ``missing_code`` the field's vocabulary, as the vocabulary kernels code it.
    None where the vectorised kernels must serve (or raise): a cell or a value of a
    kind the dict cannot judge.
    """
    if table is None:
        return None
    slots, n_truncated = np.full((len(cells), width), PADDING_CODE, dtype=np.int64), 0
    for i, cell in enumerate(cells):
        values = _cell_values(cell, separator)
        if values is None:
            return None
        n_truncated += len(values) > width
        codes = _lookup.lookup_codes(values[:width], table, missing_code)
        if codes is None:
            return None
        slots[i, : len(codes)] = [code + UNKNOWN_CODE for code in codes]  # 0 is padding
    return slots, n_truncated


def _cell_values(cell, separator):
    if _lookup.is_missing(cell):
        return []
    if separator is not None:
        return (cell.split(separator) if cell else []) if isinstance(cell, str) else None
    if isinstance(cell, list | tuple) or (isinstance(cell, np.ndarray) and cell.ndim == 1):
        return list(cell)
    return None


def slot_lists(slots, meanings):
    """Each row's values, from its slots: padding skipped, code ``c`` read as ``meanings[c - 1]``.

    ``meanings`` maps the vocabulary kernels' codes (``_encode.code_meanings``).

    Examples
    --------
    >>> import numpy as np
    >>> slot_lists(np.array([[2, 1], [0, 0]]), np.array([None, "a"], dtype=object))
    array([list(['a', None]), list([])], dtype=object)
    """
    present = slots != PADDING_CODE
    values = meanings[slots[present] - UNKNOWN_CODE].tolist()
    counts = present.sum(axis=1).tolist()
    stops = np.cumsum(counts, dtype=np.int64).tolist()
    rows = (values[stop - n : stop] for stop, n in zip(stops, counts, strict=True))
    return np.fromiter(rows, dtype=object, count=len(slots))


def warn_truncated(label, n_truncated, width, method):
    """Warn that ``method`` cut ``n_truncated`` lists of column ``label`` to ``width`` values."""
    if n_truncated:
        warnings.warn(
            f"FieldEncoder.{method}: {n_truncated} row(s) of the multi-valued column {label} "
            f"hold more than its {width} slots; only the first {width} values of each list "
            "are kept. Refit with a larger max_len (None: the longest list in fit) to keep "
            "more.",
            UserWarning,
            stacklevel=_caller_level(),
        )


def _caller_level():
    """Return the stack level of the first caller outside sklearn-deepfm and scikit-learn.

    So that a warning points at the user's ``fit`` or ``transform`` line, however many
    wrappers (``_fit_context``, ``set_output``, a Pipeline) lie in between.
    """
    frame, level = sys._getframe(1), 1
    while frame is not None and frame.f_globals.get("__name__", "").startswith(_OWN_MODULES):
        frame, level = frame.f_back, level + 1
    return level


def field_from_state(field, j):
    """Rebuild multi-valued field ``j`` from its saved description (see ``_get_fitted_state``).

    Returns its ``categories``, ``known`` index, ``width``, ``separator`` and the
    vocabulary kernels' ``missing_code`` (the saved one less one, 0 for none); raises
    ValueError when the description contradicts itself.
    """
    known = pd.Index(list(field["categories"]), tupleize_cols=False)
    separator, width = field["separator"], field["width"]
    missing_code, cardinality = field["missing_code"], field["cardinality"]
    has_missing = missing_code == len(known) + 2
    valid = (
        (separator is None or (isinstance(separator, str) and separator != ""))
        and type(width) is int
        and width >= 1
        and (has_missing or missing_code == UNKNOWN_CODE)
        and cardinality == len(known) + 2 + has_missing
        and known.is_unique
    )
    if not valid:
        raise ValueError(f"the multi_valued field {j} ({field['name']!r}) is inconsistent.")
    categories = np.empty(len(known) + has_missing, dtype=object)
    categories[: len(known)] = known.tolist()
    categories[len(known) :] = np.nan
    return {
        "categories": categories,
        "known": known,
        "width": width,
        "separator": separator,
        "missing_code": missing_code - UNKNOWN_CODE if has_missing else 0,
    }
