"""Reader for the libFM text format with one active feature per field (as Frappe)."""

from itertools import chain, pairwise
from pathlib import Path

import numpy as np
import pandas as pd

FRAPPE_FIELDS = [
    "user",
    "item",
    "daytime",
    "weekday",
    "isweekend",
    "homework",
    "cost",
    "weather",
    "country",
    "city",
]

_VALUES = ("binary", "keep")


def load_libfm(path, *, n_fields=None, field_names=None, values="binary", return_X_y=False):
    r"""Load a libFM file with exactly one active feature per field.

    Each line reads ``label idx:val idx:val ...`` with the features of a line in
    field order, all fields sharing one global index space in which each field
    is a contiguous, disjoint range (the layout of Frappe, MovieLens and the
    other data sets preprocessed for the NFM and AFM papers). The field of a
    feature is its position in the line, so every line must hold the same
    number of features, and the indices seen at one position must never
    overlap those seen at another.

    Parameters
    ----------
    path : str or path-like
        The file to read.
    n_fields : int, default=None
        Number of features on every line. ``None`` takes ``len(field_names)``
        or, failing that, the count on line 1.
    field_names : list of str, default=None
        Column name of each field; ``None`` means ``"f0", "f1", ...``.
    values : {"binary", "keep"}, default="binary"
        ``"binary"`` requires every value to be 1 (a one-hot file) and raises a
        ValueError otherwise; ``"keep"`` adds one float64 column
        ``"{field}_value"`` per field, after the index columns.
    return_X_y : bool, default=False
        If True, return ``(X, y)`` instead of one DataFrame.

    Returns
    -------
    frame : pandas.DataFrame of shape (n_samples, 1 + n_fields)
        Column ``label`` (int8; libFM's -1 and 0 become 0, 1 stays 1), then
        one ``category`` column per field holding the feature's global libFM
        index (int64 categories; ``.cat.codes`` gives 0-based codes)
        (then the ``"{field}_value"`` columns if ``values="keep"``). Returned
        when ``return_X_y`` is False.
    (X, y) : tuple of (pandas.DataFrame, numpy.ndarray of int8)
        The field columns and the labels. Returned when ``return_X_y`` is True.

    Raises
    ------
    ValueError
        On the first malformed line, with its 1-based line number: an empty
        line, a feature count different from ``n_fields``, a label other than
        -1, 0 or 1, a token that is not ``idx:val`` with a non-negative integer
        index and a number as value, a value other than 1 when
        ``values="binary"``; and when the index ranges of two positions
        overlap (the file is then not one feature per field in a fixed order).

    Examples
    --------
    >>> import os, tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = os.path.join(tmp, "toy.libfm")
    ...     with open(path, "w") as f:
    ...         _ = f.write("1 0:1 3:1\n-1 2:1 4:1\n")
    ...     frame = load_libfm(path, field_names=["user", "item"])
    >>> frame.to_dict("list")
    {'label': [1, 0], 'user': [0, 2], 'item': [3, 4]}
    """
    if values not in _VALUES:
        raise ValueError(f"values must be one of {_VALUES}, got {values!r}.")
    if field_names is not None:
        field_names = [str(name) for name in field_names]
        if len(set(field_names)) != len(field_names) or "label" in field_names:
            raise ValueError(
                f"field_names must be distinct and must not contain 'label', got {field_names}."
            )
        if n_fields is None:
            n_fields = len(field_names)
    if n_fields is not None and (
        not isinstance(n_fields, (int, np.integer)) or isinstance(n_fields, bool) or n_fields < 1
    ):
        raise ValueError(f"n_fields must be None or a positive integer, got {n_fields!r}.")
    if field_names is not None and len(field_names) != n_fields:
        raise ValueError(
            f"field_names must name n_fields={n_fields} fields, got {len(field_names)}: "
            f"{field_names}."
        )

    name = Path(path).name
    data = Path(path).read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line_no = data.count(b"\n", 0, exc.start) + 1
        raise ValueError(f"{name}, line {line_no}: not valid UTF-8 text.") from exc
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    if not lines:
        raise ValueError(f"{name} is empty: expected libFM lines 'label idx:val idx:val ...'.")
    tokens = [line.split() for line in lines]
    counts = np.fromiter(map(len, tokens), np.int64, count=len(tokens))
    if n_fields is None:
        n_fields = int(counts[0]) - 1
        if n_fields < 1:
            raise ValueError(f"{name}, line 1: expected a label and at least one idx:val feature.")
    bad = np.flatnonzero(counts != n_fields + 1)
    if bad.size:
        i = bad[0]
        raise ValueError(
            f"{name}, line {i + 1}: expected a label and {n_fields} idx:val features (one per "
            f"field), got {max(counts[i] - 1, 0)} features in {lines[i]!r}."
        )
    if field_names is None:
        field_names = [f"f{j}" for j in range(n_fields)]

    table = np.array(list(chain.from_iterable(tokens))).reshape(len(lines), n_fields + 1)
    label = _parse(table[:, 0], np.float64, "label", 1, name)
    bad = np.flatnonzero(~np.isin(label, (-1.0, 0.0, 1.0)))
    if bad.size:
        i = bad[0]
        raise ValueError(
            f"{name}, line {i + 1}: label must be -1, 0 or 1, got {str(table[i, 0])!r}."
        )

    parts = np.char.partition(table[:, 1:], ":")
    index_text, colon, value_text = parts[..., 0], parts[..., 1], parts[..., 2]
    bad = np.flatnonzero((colon != ":").any(axis=1))
    if bad.size:
        i = bad[0]
        token = str(table[i, 1:][colon[i] != ":"][0])
        raise ValueError(f"{name}, line {i + 1}: expected an idx:val feature, got {token!r}.")
    index = _parse(index_text, np.int64, "feature index", n_fields, name)
    bad = np.flatnonzero((index < 0).any(axis=1))
    if bad.size:
        i = bad[0]
        negative = int(index[i].min())
        raise ValueError(
            f"{name}, line {i + 1}: feature indices must be non-negative, got {negative}."
        )
    if (value_text == "1").all():  # the one-hot case, without parsing
        value = np.ones(value_text.shape)
    else:
        value = _parse(value_text, np.float64, "feature value", n_fields, name)
    if values == "binary":
        bad = np.flatnonzero((value != 1).any(axis=1))
        if bad.size:
            i = bad[0]
            token = str(value_text[i][value[i] != 1][0])
            raise ValueError(
                f"{name}, line {i + 1}: values other than 1 are not supported with "
                f"values='binary', got {token!r} in {lines[i]!r}. Pass "
                "values='keep' to get them as '{field}_value' columns."
            )
    _check_disjoint_fields(index, field_names, name)

    # Feature indices are ids, not quantities: the category dtype says so, and
    # FieldEncoder's "auto" then treats the fields as categorical.
    columns = {name_: pd.Categorical(index[:, j]) for j, name_ in enumerate(field_names)}
    if values == "keep":
        columns.update({f"{name_}_value": value[:, j] for j, name_ in enumerate(field_names)})
    X = pd.DataFrame(columns)
    y = (label == 1).astype(np.int8)
    if return_X_y:
        return X, y
    X.insert(0, "label", y)
    return X


def load_frappe(path, *, return_X_y=False):
    r"""Load the Frappe app-usage data set in libFM format.

    The files of the NFM paper's preprocessing (``frappe.train.libfm`` and
    its siblings): label -1 or 1 and ten one-hot fields, named as in
    :data:`FRAPPE_FIELDS` (user, item, daytime, weekday, isweekend,
    homework, cost, weather, country, city).

    Parameters
    ----------
    path : str or path-like
        The libFM file to read.
    return_X_y : bool, default=False
        If True, return ``(X, y)`` instead of one DataFrame.

    Returns
    -------
    frame : pandas.DataFrame of shape (n_samples, 11)
        ``label`` (int8: 1 when the app was used, 0 for libFM's -1), then one
        ``category`` column per field whose categories are the global libFM
        indices seen in this file (int64; ``.cat.codes`` gives 0-based codes,
        which differ between files holding different indices). Returned when
        ``return_X_y`` is False.
    (X, y) : tuple of (pandas.DataFrame, numpy.ndarray of int8)
        The ten field columns and the labels. Returned when ``return_X_y`` is
        True.

    Raises
    ------
    ValueError
        On the first malformed line; see :func:`load_libfm`.

    Examples
    --------
    A file in Frappe's layout: each field's indices are a range of their own.

    >>> import os, tempfile
    >>> clicked = "1 " + " ".join(f"{10 * f + 1}:1" for f in range(10))
    >>> skipped = "-1 " + " ".join(f"{10 * f + 2}:1" for f in range(10))
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = os.path.join(tmp, "frappe.train.libfm")
    ...     with open(path, "w") as f:
    ...         _ = f.write(clicked + "\n" + skipped + "\n")
    ...     frame = load_frappe(path)
    >>> frame[["label", "user", "item", "city"]].to_dict("list")
    {'label': [1, 0], 'user': [1, 2], 'item': [11, 12], 'city': [91, 92]}
    >>> str(frame["user"].dtype), frame["user"].cat.codes.tolist()
    ('category', [0, 1])
    """
    return load_libfm(path, field_names=FRAPPE_FIELDS, return_X_y=return_X_y)


def _parse(text, dtype, what, width, name):
    """Convert an array of strings, raising with the line of the first bad one."""
    try:
        return text.astype(dtype)
    except (ValueError, OverflowError):
        flat = text.ravel()
        lo, hi = 0, flat.size  # flat[:lo] parses; flat[lo:hi] holds a failure
        while hi - lo > 1:
            mid = (lo + hi) // 2
            try:
                flat[lo:mid].astype(dtype)
                lo = mid
            except (ValueError, OverflowError):
                hi = mid
        kind = "an integer" if dtype is np.int64 else "a number"
        raise ValueError(
            f"{name}, line {lo // width + 1}: the {what} must be {kind}, got {str(flat[lo])!r}."
        ) from None


def _check_disjoint_fields(index, field_names, name):
    """Raise unless the index ranges seen at the positions are pairwise disjoint."""
    low, high = index.min(axis=0).tolist(), index.max(axis=0).tolist()
    order = np.argsort(low, kind="stable")
    for a, b in pairwise(order):
        if high[a] >= low[b]:
            line_a = int(np.flatnonzero(index[:, a] == high[a])[0]) + 1
            line_b = int(np.flatnonzero(index[:, b] == low[b])[0]) + 1
            raise ValueError(
                f"{name}: the index ranges of fields {field_names[a]!r} (position {a + 1}, "
                f"{low[a]}..{high[a]}) and {field_names[b]!r} (position {b + 1}, "
                f"{low[b]}..{high[b]}) overlap: index {high[a]} at position {a + 1} on line "
                f"{line_a}, index {low[b]} at position {b + 1} on line {line_b}. The reader needs "
                "one feature per field, in the same field order on every line."
            )
