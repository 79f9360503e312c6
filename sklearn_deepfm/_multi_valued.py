"""Multi-valued fields: how their slots are named, coded and grouped back into fields.

A multi-valued field (a movie's genres, an ad's keywords) holds a list of values per
row. ``FieldEncoder`` writes it as ``width`` adjacent columns, its *slots*, named
``name[0]``, ``name[1]``, ...: slot ``i`` holds the code of the list's ``i``-th
value, and slots past the list's end hold ``PADDING_CODE``. Its codes follow Keras'
``StringLookup`` with a mask token: 0 pads, 1 stands for values not known from fit,
known values start at 2. So padding and unknown values differ, and no code is negative.

The models read the slot names to know which columns make one field: a run of
adjacent columns named ``base[0]``, ``base[1]``, ..., ``base[width - 1]`` is one
multi-valued field; any other column is a field of its own.

The encoder's kernels for these fields live here too, after ``_list_cells`` has
turned a column into the values of all its lists and each row's list length:
``_encode``'s vocabulary kernels count and code the flat values as they do a
categorical column (its code 0, "unknown", becomes ``UNKNOWN_CODE``: every code
moves up by one), ``keep_first`` cuts long lists and ``scatter_slots`` writes the
codes into the slots.
"""

import re
import sys
import warnings

import numpy as np
import pandas as pd

from . import _encode, _lookup

# Codes of a multi-valued field's slots.
PADDING_CODE, UNKNOWN_CODE = 0, 1
# Modules whose frames a warning skips to reach the user's code.
_OWN_MODULES = ("sklearn_deepfm.", "sklearn.")
_SLOT = re.compile(r"^(?P<base>.*)\[(?P<position>\d+)\]$", re.DOTALL)


def slot_names(name, width):
    """Return the names of the ``width`` output columns of multi-valued field ``name``.

    Examples
    --------
    >>> slot_names("genres", 3)
    ['genres[0]', 'genres[1]', 'genres[2]']
    """
    return [f"{name}[{i}]" for i in range(width)]


def field_slices(names):
    """Group columns into fields by their names: one slice of columns per field.

    ``names`` is None (no names: every column is a field) or the column names.
    A run of adjacent columns ``base[0]``, ..., ``base[w - 1]`` makes one field; a
    column whose name does not continue such a run is a field of its own.

    Examples
    --------
    >>> field_slices(["age", "genres[0]", "genres[1]", "tags[0]", "x[1]"])
    [slice(0, 1, None), slice(1, 3, None), slice(3, 4, None), slice(4, 5, None)]
    """
    if names is None:
        return None
    slices, start, base = [], 0, None
    for j, name in enumerate(names):
        match = _SLOT.match(str(name))
        position = int(match["position"]) if match else None
        if base is not None and match and match["base"] == base and position == j - start:
            continue  # the next slot of the open multi-valued field
        if j:
            slices.append(slice(start, j))
        start, base = j, (match["base"] if match and position == 0 else None)
    slices.append(slice(start, len(names)))
    return slices


def is_multi_valued(names, field_slice):
    """Tell whether the columns ``field_slice`` of ``names`` are a multi-valued field's slots.

    Examples
    --------
    >>> names = ["age", "genres[0]", "genres[1]", "x[1]"]
    >>> [is_multi_valued(names, s) for s in field_slices(names)]
    [False, True, False]
    """
    match = None if names is None else _SLOT.match(str(names[field_slice.start]))
    return match is not None and match["position"] == "0"


def field_names(names, slices):
    """Name each field: its column's name, or the base name of a multi-valued field's slots.

    Examples
    --------
    >>> names = ["age", "genres[0]", "genres[1]"]
    >>> field_names(names, field_slices(names))
    ['age', 'genres']
    """
    return [
        _SLOT.match(str(names[s.start]))["base"] if is_multi_valued(names, s) else names[s.start]
        for s in slices
    ]


def column_fields(slices, n_columns):
    """Return, for each column, the position of the field it belongs to.

    Examples
    --------
    >>> column_fields([slice(0, 1), slice(1, 3)], 3)
    array([0, 1, 1])
    """
    fields = np.empty(n_columns, dtype=np.int64)
    for f, columns in enumerate(slices):
        fields[columns] = f
    return fields


def slices_of(widths):
    """Return the slice of output columns of each field, from the fields' widths.

    Examples
    --------
    >>> slices_of([1, 3, 1])
    [slice(0, 1, None), slice(1, 4, None), slice(4, 5, None)]
    """
    stops = np.cumsum(widths).tolist()
    return [slice(stop - width, stop) for stop, width in zip(stops, widths, strict=True)]


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
