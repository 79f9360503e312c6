"""Input checks of the DeepFM estimators, with errors that name the column, row and value at fault.

``validate_input`` is scikit-learn's ``validate_data`` with such errors;
``learn_fields`` and ``group_fields`` read the fields of validated arrays. Each
check takes ``names``, the fitted ``feature_names_in_`` or None, to name a column
by its position and, where known, its DataFrame name.
"""

import os
from numbers import Integral, Number

import numpy as np
import pandas as pd
import torch
from sklearn.utils.validation import validate_data

from .. import _slots

# The network computes in float32: larger numbers would become infinite.
FLOAT32_MAX = float(np.finfo(np.float32).max)
# Integer and float input keep their dtype; anything else (lists, object arrays)
# becomes float64, which never truncates a continuous value.
_DTYPES = [np.float64, np.float32, np.int64, np.int32]


def validate_input(estimator, X, y="no_validation", *, reset):
    """``validate_data``, with errors that name the column of a non-number, NaN or inf.

    The column names are those ``validate_data`` has just fitted or checked.
    """
    try:
        out = validate_data(estimator, X, y, reset=reset, dtype=_DTYPES, ensure_all_finite=False)
    except (TypeError, ValueError) as error:
        cell = first_non_number(X)
        if cell is None:
            raise
        column, row, value = cell
        raise type(error)(  # TypeError for cells of a non-number type, as numpy says
            f"{type(estimator).__name__} needs numbers (field codes or values), but column "
            f"{column_label(column, names_of(estimator))} holds {value!r} at row {row} "
            f"({error}). Encode raw columns with FieldEncoder first, for example in a "
            "Pipeline."
        ) from error
    X_checked = out[0] if isinstance(out, tuple) else out
    check_finite(X_checked, names_of(estimator), type(estimator).__name__)
    return out


def names_of(estimator):
    """``feature_names_in_`` where fitted on a DataFrame, else None: to name columns in errors."""
    return getattr(estimator, "feature_names_in_", None)


def learn_fields(X, embedding_dim, device, names):
    """Decide which columns of validated ``X`` are codes and which continuous values.

    Returns
    -------
    value_fields : ndarray of bool of shape (n_columns,)
        True for the columns holding a non-integer.
    cardinalities : ndarray of int64 of shape (n_columns,)
        The largest code of each code column plus one; 1 for a value column.
    """
    if X.dtype.kind in "iu":  # integer columns are all codes; no rounding copy
        value_fields = np.zeros(X.shape[1], dtype=bool)
    else:
        value_fields = np.any(X != np.round(X), axis=0)
    codes = X[:, ~value_fields] if value_fields.any() else X
    check_non_negative(X, codes, value_fields, names)
    cardinalities = np.ones(X.shape[1], dtype=np.int64)
    if codes.size:
        largest = codes.max(axis=0)
        check_table_size(largest, value_fields, embedding_dim, device, names)
        cardinalities[~value_fields] = largest.astype(np.int64) + 1
    return value_fields, cardinalities


def group_fields(names, value_fields, cardinalities):
    """Group the columns into the network's fields, by their names.

    A run of slot columns ``name[0]``, ``name[1]``, ... is one multi-valued field,
    whose slots share one vocabulary, so the largest cardinality among them.

    Returns
    -------
    field_slices : list of slice
        The columns of each field.
    cardinalities : ndarray of int64
        ``cardinalities``, each multi-valued field's slots at their largest.
    """
    n_columns = len(cardinalities)
    field_slices = _slots.field_slices(names) or [slice(j, j + 1) for j in range(n_columns)]
    cardinalities = cardinalities.copy()
    for columns in field_slices:
        if not _slots.is_multi_valued(names, columns):
            continue
        if value_fields[columns].any():
            column = columns.start + int(np.argmax(value_fields[columns]))
            raise ValueError(
                f"Column {column_label(column, names)} is a slot of a multi-valued field "
                "(its name ends in [i]), so it must hold integer codes, not continuous "
                "values. Encode the field with FieldEncoder(multi_valued=...)."
            )
        cardinalities[columns] = cardinalities[columns].max()
    return field_slices, cardinalities


def column_label(column, names):
    """``"3 ('price')"`` for a named column, ``"3"`` otherwise."""
    return f"{column} ({names[column]!r})" if names is not None else str(column)


def first_non_number(X):
    """Return ``(column, row, cell)`` of the first cell of ``X`` that is not a number, or None."""
    if not isinstance(X, pd.DataFrame):
        try:
            X = np.asarray(X)
        except (TypeError, ValueError):
            return None
        if X.ndim != 2 or X.dtype.kind in "biufc":  # numbers only: no copy, no search
            return None
        X = pd.DataFrame(X)
    for column in range(X.shape[1]):
        cells = X.iloc[:, column]
        if pd.api.types.is_numeric_dtype(cells.dtype):
            continue
        try:
            np.asarray(cells, dtype=np.float64)
            continue
        except (TypeError, ValueError):
            pass
        for row, cell in enumerate(cells):  # error path only, one column
            if isinstance(cell, Number):  # complex numbers keep scikit-learn's error
                continue
            try:
                float(cell)
            except (TypeError, ValueError):
                return column, row, cell
    return None


def check_hidden_layer_sizes(hidden_layer_sizes):
    """Refuse layer widths that are not positive integers, before torch sees them."""
    widths = list(hidden_layer_sizes)
    bad = [w for w in widths if isinstance(w, bool) or not isinstance(w, Integral) or w < 1]
    if bad:
        raise ValueError(
            "hidden_layer_sizes must hold positive integers, one width per hidden layer; "
            f"got {bad[0]!r} in {tuple(widths)}. Pass e.g. (128, 128), or () for no hidden layer."
        )


def check_finite(X, names, estimator):
    """Reject NaN, infinities and numbers beyond float32's range, naming their column.

    ``estimator``, the class name of the estimator, opens the message about NaN.
    """
    if X.dtype.kind != "f" or not X.size:
        return
    if -FLOAT32_MAX <= X.min() and X.max() <= FLOAT32_MAX:  # NaN fails both
        return
    row, column = np.argwhere(~(np.abs(X) <= FLOAT32_MAX))[0]
    value = X[row, column]
    shown = "NaN" if np.isnan(value) else f"{value:g}"
    where = f"column {column_label(column, names)} holds {shown} at row {row}"
    if np.isnan(value):
        raise ValueError(
            f"{estimator} needs a code or a value in every cell, but {where}. "
            "Encode the raw data with FieldEncoder, which gives missing values a code of "
            "their own, or impute them."
        )
    raise ValueError(
        f"Field codes and values must be finite and within float32's range (about "
        f"{FLOAT32_MAX:.1e}), but {where}. Replace it with a finite number, or with NaN "
        "and encode the raw data with FieldEncoder, which gives missing values a code."
    )


def check_non_negative(X, codes, value_fields, names):
    """Reject negative codes in ``codes``, the code columns of ``X``."""
    if codes.size and codes.min() < 0:
        column = int(np.flatnonzero(~value_fields)[np.argmin(codes.min(axis=0))])
        raise ValueError(
            f"Field codes must be non-negative integers, but column "
            f"{column_label(column, names)} holds {X[:, column].min():g}. Encode the "
            "data with FieldEncoder, or give continuous fields non-integer values."
        )


def check_codes(X, value_fields, cardinalities, names, *, growing=False):
    """Reject codes that are not integers within the range seen in ``fit``.

    ``growing``: continued training, whose larger codes grew ``cardinalities``
    already, so that only negative and fractional codes remain to refuse.
    """
    codes = X[:, ~value_fields] if value_fields.any() else X
    limits = cardinalities[~value_fields]
    if (
        X.dtype.kind in "iu"  # integers: two reductions, no temporary arrays
        and len(codes)
        and codes.min() >= 0
        and (codes.max(axis=0) < limits).all()
    ):
        return
    bad = (codes < 0) | (codes >= limits) | (codes != np.round(codes))
    if bad.any():
        row, position = np.argwhere(bad)[0]
        column = int(np.flatnonzero(~value_fields)[position])
        rule = f"integers in [0, {limits[position]}) as seen in fit"
        if growing:
            rule = "non-negative integers (a larger code grows its field)"
        raise ValueError(
            f"Column {column_label(column, names)} holds {codes[row, position]:g} at row "
            f"{row}, but its codes must be {rule}. Encode new data with the encoder "
            "fitted alongside this model (such as FieldEncoder in the same Pipeline), "
            "which maps unseen values to code 0."
        )


def check_table_size(largest, value_fields, embedding_dim, device, names):
    """Refuse codes so large that the embedding tables cannot fit in the device's memory.

    ``largest`` holds the largest code of each code field.
    """
    rows = float(np.sum(largest, dtype=np.float64)) + len(value_fields)
    # float32 weights of k + 1 columns (embedding, order-1 weight), and Adam's two moments
    needed = rows * (embedding_dim + 1) * 4 * 3
    memory = device_memory(device)
    if memory is None or needed <= memory:
        return
    position = int(np.argmax(largest))
    column = int(np.flatnonzero(~value_fields)[position])
    raise ValueError(
        "Field codes index rows of an embedding table, so they must be small: column "
        f"{column_label(column, names)} holds the code {largest[position]:g}, and the tables "
        f"would need {needed / 2**30:,.0f} GiB, more than the {memory / 2**30:,.0f} GiB of "
        f"device {str(device)!r}. Number each field's values 0..n-1 (FieldEncoder "
        "does) instead of passing raw ids or hashes."
    )


def raise_nan_logit(X, row, value_fields, names):
    """Explain a NaN output: float32 overflow from large values, or diverged weights."""
    if not value_fields.any():
        raise ValueError(
            f"The network's output is NaN for row {row}: its weights are not finite, as "
            "after a diverged training. Refit with a smaller learning_rate."
        )
    position = int(np.argmax(np.abs(X[row, value_fields])))
    column = int(np.flatnonzero(value_fields)[position])
    raise ValueError(
        f"The network's output is NaN for row {row}: its continuous values overflow "
        f"float32 inside the network (column {column_label(column, names)} holds "
        f"{X[row, column]:g}). Keep continuous fields on a moderate scale "
        '(FieldEncoder(numeric_encoding="value") standardizes them).'
    )


def device_memory(device):
    """Total memory in bytes of a CPU or CUDA ``device``; None where unknown."""
    device = torch.device(device)
    if device.type == "cuda" and torch.cuda.is_available():
        return torch.cuda.get_device_properties(device).total_memory
    if device.type == "cpu":
        try:
            return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        except (AttributeError, ValueError, OSError):  # no sysconf (Windows)
            return None
    return None
