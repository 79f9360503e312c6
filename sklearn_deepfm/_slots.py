"""How a multi-valued field's slot columns are named, coded and grouped back into fields.

A multi-valued field (a movie's genres, an ad's keywords) holds a list of values per
row. ``FieldEncoder`` writes it as ``width`` adjacent columns, its *slots*, named
``name[0]``, ``name[1]``, ...: slot ``i`` holds the code of the list's ``i``-th
value, and slots past the list's end hold ``PADDING_CODE``. Its codes follow Keras'
``StringLookup`` with a mask token: 0 pads, 1 stands for values not known from fit,
known values start at 2. So padding and unknown values differ, and no code is negative.

The models read the slot names to know which columns make one field: a run of
adjacent columns named ``base[0]``, ``base[1]``, ..., ``base[width - 1]`` is one
multi-valued field; any other column is a field of its own.

This module is the contract between the encoder's output and the models, so it
imports nothing but numpy: ``preprocessing``, ``nn`` and the estimators all read it.
"""

import re

import numpy as np

# Codes of a multi-valued field's slots.
PADDING_CODE, UNKNOWN_CODE = 0, 1
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
