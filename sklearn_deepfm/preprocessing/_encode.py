"""Vectorised column kernels behind :class:`~sklearn_deepfm.FieldEncoder`'s fields.

Every function works on one column at a time and never loops over rows in Python:
vocabularies go through pandas' hash tables (``value_counts``, ``Index.get_indexer``),
or Arrow's for Arrow strings (``_arrow``), bins through one sort and vectorised
comparisons.
"""

from numbers import Integral

import numpy as np
import pandas as pd
from pandas.api import types as pdt

from . import _arrow
from ._columns import is_categorical_dtype


class ListCellError(TypeError, ValueError):
    """A cell holds a list where FieldEncoder expects one value.

    A TypeError, as for any unhashable cell, and a ValueError, as the form of the data
    (a list where a scalar belongs) is wrong rather than its type: either catch works.
    """


def as_float(values, label: str) -> np.ndarray:
    """Return a numeric column as float64 with NaN for missing; reject what is not numeric."""
    dtype = values.dtype
    if pdt.is_complex_dtype(dtype) or not (
        pdt.is_numeric_dtype(dtype) or pdt.is_bool_dtype(dtype) or is_categorical_dtype(dtype)
    ):
        if _arrow.is_list_type(dtype):
            raise ListCellError(
                f"FieldEncoder: column {label} has dtype {dtype}, a list of values per row. "
                f"Declare it multi-valued: FieldEncoder(multi_valued={{{label}: None}})."
            )
        raise TypeError(
            f"FieldEncoder: column {label} has dtype {dtype}, which is neither categorical "
            "nor numeric. Convert it (for example a datetime to its hour or weekday), list "
            "it in categorical_features, or drop it."
        )
    if pdt.is_numeric_dtype(dtype) or pdt.is_bool_dtype(dtype):
        if isinstance(values, pd.Series):
            x = values.to_numpy(dtype=np.float64, na_value=np.nan)
        else:
            x = np.asarray(values, dtype=np.float64)
    else:
        objects = np.asarray(values, dtype=object)
        x = np.asarray(pd.to_numeric(objects, errors="coerce"), dtype=np.float64)
        bad = np.isnan(x) & ~pd.isna(objects)
        if bad.any():
            raise ValueError(
                f"FieldEncoder: column {label} is numeric but holds the non-numeric value "
                f"{objects[bad][0]!r}. Clean the column, or list it in categorical_features "
                "and refit."
            )
    infinite = np.isinf(x)
    if infinite.any():
        raise ValueError(
            f"FieldEncoder: numeric column {label} must be finite but holds "
            f"{x[infinite][0]} (row {np.flatnonzero(infinite)[0]}). Replace infinities with "
            "NaN (a missing value) or a finite number."
        )
    return x


def count_values(values, label: str) -> tuple[pd.Index, np.ndarray, int, np.ndarray | None]:
    """Count the distinct values of one column.

    Returns the distinct non-missing values, their counts, the number of missing
    values (NaN, None, ``pd.NA`` and ``NaT`` alike), and the permutation that sorts
    the distinct values when it came for free (Arrow strings), else None.
    """
    strings = _arrow.string_array(values)
    if strings is not None:
        return _arrow.count_strings(strings)
    if not isinstance(values, pd.Series):
        values = pd.Series(values, dtype=values.dtype, copy=False)  # no dtype inference
    counts = values.value_counts(dropna=False, sort=False)
    uniques = counts.index
    if isinstance(uniques.dtype, pd.CategoricalDtype):
        uniques = pd.Index(np.asarray(uniques))
    if uniques.dtype == object:
        check_hashable(uniques, label)
    missing = np.asarray(uniques.isna())
    counts = counts.to_numpy()
    return uniques[~missing], counts[~missing], int(counts[missing].sum()), None


def check_hashable(uniques, label):
    """Raise naming the first value of ``uniques`` that cannot be hashed (a list cell)."""
    for value in uniques:  # the distinct values, not the rows
        try:
            hash(value)
        except TypeError:
            _raise_unhashable(value, label)


def _raise_unhashable(value, label):
    message = (
        f"FieldEncoder: column {label} holds the unhashable value {value!r} of type "
        f"{type(value).__name__}, but a categorical argument must be a hashable scalar "
        "such as a string or a number."
    )
    if isinstance(value, list | np.ndarray):
        raise ListCellError(
            f"{message} If the column holds a list of values per row (a movie's genres), "
            f"declare it multi-valued and refit: FieldEncoder(multi_valued={{{label}: None}}). "
            "Else convert such cells (for example to tuples or strings) or drop the column."
        )
    raise TypeError(
        f"{message} Convert such cells (for example lists to tuples or to strings) or drop "
        "the column."
    )


def sort_order(uniques: pd.Index) -> np.ndarray:
    """Return the permutation that sorts ``uniques`` by value, deterministically.

    Numbers, booleans and datetimes sort natively; strings and other Python objects
    with :func:`sorted` (faster than numpy on objects). Mixed types (e.g. ints and
    strings in an object column) sort by type name first, then by value, then by
    ``repr`` if the values of one type cannot be compared.
    """
    if uniques.dtype.kind in "iufbmM":
        return np.asarray(uniques.argsort(), dtype=np.intp)
    values = uniques.tolist()
    key_makers = [
        lambda: values,
        lambda: [(type(value).__name__, value) for value in values],
        lambda: [(type(value).__name__, repr(value)) for value in values],
    ]
    if len({type(value) for value in values}) > 1:
        key_makers = key_makers[1:]
    for make_keys in key_makers:
        keys = make_keys()
        try:
            return np.array(sorted(range(len(values)), key=keys.__getitem__), dtype=np.intp)
        except TypeError:
            continue
    raise AssertionError("unreachable: repr keys always compare")  # pragma: no cover


def frequent_mask(counts, n_samples, min_frequency, max_categories) -> np.ndarray:
    """Mark which candidates (in code order) are kept as known categories.

    A candidate is dropped when rarer than ``min_frequency`` (a count, or a fraction of
    ``n_samples``) or when it falls outside the ``max_categories`` most frequent ones;
    ties go to the candidate that comes first in code order.
    """
    keep = counts > 0
    if min_frequency is not None:
        if isinstance(min_frequency, Integral):
            keep &= counts >= min_frequency
        else:
            keep &= counts >= min_frequency * n_samples
    if max_categories is not None and keep.sum() > max_categories:
        candidates = np.flatnonzero(keep)
        ranked = candidates[np.argsort(-counts[candidates], kind="stable")]
        keep[:] = False
        keep[ranked[:max_categories]] = True
    return keep


def fit_vocabulary(
    uniques, counts, n_missing, order=None, *, min_frequency, max_categories, n_samples=None
):
    """Choose the known categories of one column from its value counts.

    Parameters
    ----------
    uniques : pandas.Index
        The distinct non-missing values.
    counts : ndarray of shape (len(uniques),)
        How often each of them occurs.
    n_missing : int
        How many values are missing.
    order : ndarray or None, default=None
        The permutation that sorts ``uniques``; None sorts them with ``sort_order``.
    min_frequency, max_categories
        As in :class:`~sklearn_deepfm.FieldEncoder`.
    n_samples : int or None, default=None
        The rows that a float ``min_frequency`` is a fraction of; None: the values
        counted, one per row in a column of scalars (a multi-valued field's rows hold
        any number of values).

    Returns
    -------
    known : pandas.Index
        The kept non-missing values in code order (codes ``1..len(known)``).
    missing_code : int
        Code of missing values: ``len(known) + 1`` if they are kept, else 0.
    """
    order = sort_order(uniques) if order is None else order
    candidate_counts = np.append(counts[order], n_missing)  # missing comes last
    n_samples = candidate_counts.sum() if n_samples is None else n_samples
    keep = frequent_mask(candidate_counts, n_samples, min_frequency, max_categories)
    missing_code = int(keep.sum()) if keep[-1] else 0
    return uniques.take(order[keep[:-1]]), missing_code


def encode_vocabulary(values, known: pd.Index, missing_code: int, label: str) -> np.ndarray:
    """Encode one column: ``known[i]`` gets code ``i + 1``, skipping ``missing_code``; others 0.

    Missing values get ``missing_code``, which is 0 when none were seen in fit, and
    ``len(known) + 1`` unless a warm start appended values after it (see ``known_codes``).
    """
    n_known = len(known)
    if missing_code in (0, n_known + 1):
        return _encode_positions(values, known, missing_code, label)
    # the missing code lies among the known values' codes: those after it move up one
    codes = _encode_positions(values, known, n_known + 1, label)
    return np.where(codes == n_known + 1, missing_code, codes + (codes >= missing_code))


def _encode_positions(values, known, missing_code, label):
    """``known[i]`` gets code ``i + 1``, missing values ``missing_code``, other values 0."""
    codes = _arrow.encode_strings(values, known, missing_code)
    if codes is not None:
        return codes
    if isinstance(values, np.ndarray) and values.dtype == object:
        values = pd.Index(values, dtype=object, copy=False)  # no dtype inference
    try:
        codes = known.get_indexer(values) + 1
    except TypeError as exc:
        if "unhashable" not in str(exc):
            raise
        check_hashable(np.asarray(values, dtype=object), label)  # error path only
        raise  # pragma: no cover - check_hashable raised
    unmatched = np.flatnonzero(codes == 0) if missing_code else ()  # usually few rows
    if len(unmatched):  # a pandas take and isna cost more than a one-row lookup
        codes[unmatched[np.asarray(pd.isna(values.take(unmatched)))]] = missing_code
    return codes


def known_codes(n_known: int, missing_code: int, first: int = 1) -> np.ndarray:
    """Return the codes of a vocabulary's ``n_known`` known values, in order.

    They count from ``first``, skipping ``missing_code`` when it lies among them: a
    first fit gives missing values the code after the known ones, but a warm start
    appends new values after that code.

    Examples
    --------
    >>> known_codes(3, 4).tolist(), known_codes(3, 2).tolist(), known_codes(2, 1, first=2).tolist()
    ([1, 2, 3], [1, 3, 4], [2, 3])
    """
    codes = np.arange(first, first + n_known, dtype=np.int64)
    if missing_code >= first:
        codes += codes >= missing_code
    return codes


def log_square_bins(x: np.ndarray) -> np.ndarray:
    """Bin numbers as the Criteo winners did: ``floor(log(v)**2)`` if ``v > 2`` else ``int(v)``.

    ``int(v)`` truncates towards zero, so -1.5 gives -1. NaN stays NaN.
    """
    bins = np.trunc(x) + 0.0  # + 0.0 turns -0.0 into 0.0
    large = x > 2
    bins[large] = np.floor(np.log(x[large]) ** 2)
    return bins


def quantile_edges(x: np.ndarray, n_bins: int) -> np.ndarray:
    """Distinct quantile edges of the non-missing values (empty if there are none).

    The same edges as ``np.unique(np.nanquantile(x, np.linspace(0, 1, n_bins + 1)))``
    (linear interpolation), from one sort instead of a many-pivot partition.
    """
    ordered = np.sort(x)  # NaN sorts last
    n_observed = x.size - np.count_nonzero(np.isnan(x))
    if n_observed == 0:
        return np.empty(0)
    positions = np.linspace(0.0, n_observed - 1, n_bins + 1)
    below = np.floor(positions).astype(np.intp)
    above = np.minimum(below + 1, n_observed - 1)
    low, high = ordered[below], ordered[above]
    return np.unique(low + (high - low) * (positions - below))


def n_quantile_bins(edges: np.ndarray) -> int:
    """Count the bins that ``edges`` define; one edge (a constant column) is one bin."""
    return max(edges.size - 1, 1) if edges.size else 0


def encode_quantile(x: np.ndarray, edges: np.ndarray, missing_code: int) -> np.ndarray:
    """Bin codes ``1..n_bins`` for ``[edges[i], edges[i + 1])``; the outer bins are open-ended."""
    inner = edges[1:-1]
    if inner.size <= 32:  # a few vectorised comparisons beat a binary search per row
        codes = np.full(x.shape, 1 if edges.size else 0, dtype=np.int64)
        for edge in inner:
            codes += x >= edge
    else:
        codes = np.searchsorted(inner, x, side="right") + 1
    codes[np.isnan(x)] = missing_code
    return codes


def quantile_intervals(edges: np.ndarray) -> list:
    """Return the bins of ``edges`` as left-closed intervals, the outer ones open-ended."""
    bounds = np.concatenate([[-np.inf], edges[1:-1], [np.inf]])
    n_bins = n_quantile_bins(edges)
    return [pd.Interval(bounds[i], bounds[i + 1], closed="left") for i in range(n_bins)]


def known_values(categories, missing_code):
    """Return a vocabulary field's categories without the NaN of missing values.

    ``categories[i]`` has code ``i + 1``, so the NaN is ``categories[missing_code - 1]``.
    """
    if not missing_code:
        return categories
    return np.delete(categories, missing_code - 1)


def code_meanings(meanings, missing_code):
    """Object array mapping each code of a field to what it stands for (see ``inverse_transform``).

    Code 0 stands for None, the missing code for NaN, the known codes (``known_codes``)
    for ``meanings`` in order: categories (vocabulary fields) or bins as left-closed
    intervals (quantile fields).
    """
    n_meanings = len(meanings)
    lookup = np.full(n_meanings + 1 + bool(missing_code), None, dtype=object)
    if missing_code in (0, n_meanings + 1):
        lookup[1 : n_meanings + 1] = meanings
    else:
        lookup[known_codes(n_meanings, missing_code)] = np.asarray(meanings, dtype=object)
    if missing_code:
        lookup[missing_code] = np.nan
    return lookup
