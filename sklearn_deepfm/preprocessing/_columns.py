"""X's columns for ``FieldEncoder``: reading them, and the rules that tell their kind.

``fit_columns`` and ``transform_columns`` validate X and return its columns as the
fields read them; the rules that decide a column's kind from its dtype, its name and
the parameters ``categorical_features`` and ``multi_valued`` serve ``_fields``;
``output_frame`` writes the codes as a DataFrame.
"""

import re
from numbers import Integral

import numpy as np
import pandas as pd
from pandas.api import types as pdt
from sklearn.utils.validation import check_array, validate_data

from .._sklearn import get_feature_names


def fit_columns(encoder, X, *, reset=True):
    """Validate ``X`` for ``encoder``'s fit (``validate_data``).

    Returns X (a numpy text array as objects) and its columns. ``reset=False``: a warm
    start, whose DataFrame must hold the columns of the first fit, in any order (X
    is returned in fit order).
    """
    if isinstance(X, pd.DataFrame):
        if not reset:
            X = _in_fit_order(encoder, X)
        validate_data(encoder, X, skip_check_array=True, reset=reset)
        if X.shape[0] == 0 or X.shape[1] == 0:
            raise ValueError(
                f"FieldEncoder needs at least 1 row and 1 column to fit; found a "
                f"DataFrame with {X.shape[0]} sample(s) and {X.shape[1]} feature(s) "
                f"(shape={X.shape}) while a minimum of 1 is required."
            )
        return X, [X.iloc[:, j] for j in range(X.shape[1])]
    X = validate_data(encoder, X, dtype=None, ensure_all_finite=False, reset=reset)
    X = as_object_if_text(X)
    return X, [X[:, j] for j in range(X.shape[1])]


def _in_fit_order(encoder, X):
    """Return DataFrame ``X``'s columns in fit order, refusing columns fit did not see."""
    fitted = getattr(encoder, "feature_names_in_", None)
    if fitted is None:  # fitted without names: validate_data compares the widths
        return X
    fitted, names = fitted.tolist(), X.columns.tolist()
    seen, known = set(names), set(fitted)
    problems = []
    if lacks := [name for name in fitted if name not in seen]:
        problems.append(f"lacks {lacks}")
    if extra := [name for name in names if name not in known]:
        problems.append(f"has {extra}, which the first fit did not see")
    if not X.columns.is_unique:
        problems.append(f"repeats {sorted(set(X.columns[X.columns.duplicated()]))}")
    if problems:
        raise ValueError(
            "FieldEncoder.fit: warm_start=True grows the fields of the first fit, so X "
            f"must hold its columns, each once (in any order); X {' and '.join(problems)}. "
            "Pass the columns of the first fit, or refit with warm_start=False."
        )
    return X if names == fitted else X[fitted]


def transform_columns(encoder, X):
    """Return the columns of ``X`` that ``encoder`` was fitted on, in fit order, and X's index."""
    fitted = getattr(encoder, "feature_names_in_", None)
    if isinstance(X, pd.DataFrame) and fitted is not None:
        # the fitted columns in fit order pass sklearn's name checks: skip them
        if X.columns.tolist() == fitted.tolist() or get_feature_names(X) is not None:
            return columns_by_name(X, fitted), X.index
    if isinstance(X, pd.DataFrame):
        validate_data(encoder, X, skip_check_array=True, reset=False)
        return [X.iloc[:, j] for j in range(X.shape[1])], X.index
    X = as_object_if_text(check_array(X, dtype=None, ensure_all_finite=False, ensure_min_samples=0))
    validate_data(encoder, X, skip_check_array=True, reset=False)
    return [X[:, j] for j in range(X.shape[1])], pd.RangeIndex(X.shape[0])


def output_frame(out, index, value_columns):
    """Return the output ``out`` as a DataFrame: code columns int64, value columns float64."""
    if value_columns.all() or not value_columns.any():
        return pd.DataFrame(out, index=index, copy=False)
    data = {
        k: out[:, k] if value_columns[k] else out[:, k].astype(np.int64)
        for k in range(out.shape[1])
    }
    return pd.DataFrame(data, index=index)


def is_categorical_dtype(dtype) -> bool:
    """Tell whether ``categorical_features="auto"`` treats ``dtype`` as categorical."""
    return (
        pdt.is_object_dtype(dtype)
        or pdt.is_string_dtype(dtype)
        or pdt.is_bool_dtype(dtype)
        or isinstance(dtype, pd.CategoricalDtype)
    )


# Last words of a column name that mark integer codes of things (users, apps, device
# types), not quantities: binned into quantiles, unrelated ids would share a code.
ID_WORDS = frozenset(
    {"id", "ids", "uid", "key", "user", "item", "movie", "product", "app", "site", "device"}
    | {"ip", "os", "channel", "campaign", "advertiser", "publisher", "zip", "type", "code"}
    | {"category"}
)


def looks_like_id(name) -> bool:
    """Tell whether a column name names ids: its last word is in ID_WORDS, or ends in ``id``.

    The name is lower-cased and split into words at anything but letters and
    digits; the last word decides, as the noun of ``user_age`` is an age:
    ``user_id``, ``userId``, ``item``, ``ip`` and ``device_type`` look like ids;
    ``user_age``, ``clicks``, ``I5`` and ``paid`` do not.

    Examples
    --------
    >>> [looks_like_id(name) for name in ("user_id", "movieId", "app", "user_age", "I5")]
    [True, True, True, False, False]
    """
    word = re.split(r"[^0-9a-z]+", str(name).lower())[-1]
    return word in ID_WORDS or (word.endswith("id") and word[:-2] in ID_WORDS)


def is_auto_categorical(name, dtype) -> bool:
    """``categorical_features="auto"``: a categorical dtype, or integers under an id-like name."""
    return is_categorical_dtype(dtype) or (pdt.is_integer_dtype(dtype) and looks_like_id(name))


def categorical_mask(categorical_features, X) -> np.ndarray:
    """Tell which columns of X are categorical, from ``categorical_features`` and dtypes."""
    n_features = X.shape[1]
    if isinstance(categorical_features, str):  # "auto"
        if isinstance(X, pd.DataFrame):
            return np.array([is_auto_categorical(n, d) for n, d in X.dtypes.items()])
        return np.full(n_features, is_categorical_dtype(X.dtype))
    names = list(X.columns) if isinstance(X, pd.DataFrame) else []
    mask = np.zeros(n_features, dtype=bool)
    for entry in categorical_features:
        mask[column_position(entry, names, n_features, "categorical_features")] = True
    return mask


def column_position(entry, names, n_features, parameter) -> int:
    """Return the position of the column that ``entry`` of ``parameter`` names or numbers.

    ``entry`` is a column name (str), looked up in ``names`` (empty when X has no
    column names), or a position (int, negative counting from the end).
    """
    if isinstance(entry, str):
        if entry not in names:
            where = f"X's columns are {names[:10]}" if names else "X has no column names"
            raise ValueError(
                f"{parameter} names the column {entry!r}, which X does not "
                f"have; {where}. Fix the name or pass column positions as integers."
            )
        return names.index(entry)
    if isinstance(entry, Integral) and not isinstance(entry, bool):
        if not -n_features <= entry < n_features:
            raise ValueError(
                f"{parameter} holds the position {entry}, but X has only "
                f"{n_features} columns. Use positions in [0, {n_features})."
            )
        return int(entry) % n_features
    raise TypeError(
        f"{parameter} must hold column names (str) or positions (int); "
        f"got {entry!r} of type {type(entry).__name__}."
    )


def as_object_if_text(X):
    """Numpy text arrays (dtype ``<U``/``S``) become object arrays, which pandas hashes."""
    return X.astype(object) if X.dtype.kind in "US" else X


def columns_by_name(X, names):
    """Return the columns ``names`` of DataFrame ``X`` as arrays, refusing repeated or missing ones.

    Numpy arrays or pandas extension arrays: no Series is built (see ``column_arrays``).
    """
    if not X.columns.is_unique:
        raise ValueError(
            "FieldEncoder matches DataFrame columns by name, so they must be unique; "
            f"X repeats {sorted(set(X.columns[X.columns.duplicated()]))}. Drop or "
            "rename the repeated columns."
        )
    if X.columns.tolist() == names.tolist():  # the usual request: no index look-up
        positions = range(len(names))
    else:
        positions = X.columns.get_indexer(names)
    missing = [name for name, position in zip(names, positions, strict=True) if position < 0]
    if missing:
        raise ValueError(
            f"X lacks the column(s) {missing}, which FieldEncoder was fitted on. "
            "Pass a DataFrame holding every fitted column; extra columns and the "
            "column order do not matter."
        )
    arrays = column_arrays(X)
    return [arrays[position] for position in positions]


def column_arrays(X):
    """Return the columns of DataFrame ``X`` as arrays, in order.

    pandas' ``DataFrame._iter_column_arrays`` (private, in pandas 1.1 to 3) costs
    0.5 µs a column where ``X[name]`` costs 8 µs, a third of a one-row transform of
    39 columns; without it, the columns are taken as Series.
    """
    iterate = getattr(X, "_iter_column_arrays", None)
    if iterate is None:  # pragma: no cover - every supported pandas has it
        return [X.iloc[:, j] for j in range(X.shape[1])]
    return list(iterate())


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
        j = column_position(entry, names, n_features, "multi_valued")
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
