"""Multi-valued fields: a list of values per row, written as ``width`` slots.

``_list_cells`` turns a column into the values of all its lists and each row's list
length; the vocabulary part (``_vocabulary``) counts and codes the flat values as it
does a categorical column, its code 0, "unknown", becoming ``UNKNOWN_CODE`` (every
code moves up by one); ``keep_first`` cuts long lists and ``scatter_slots`` writes the
codes into the slots. How slots are named and coded is ``sklearn_deepfm._slots``.
"""

import warnings

import numpy as np

from .. import _slots
from .._slots import PADDING_CODE, UNKNOWN_CODE
from . import _encode, _list_cells, _lookup
from ._field import MULTI_VALUED, caller_level
from ._vocabulary import VocabularyField


class MultiValuedField(VocabularyField):
    """A column of lists: each row's first ``width`` values coded into its slots.

    Parameters
    ----------
    label : str
        How errors and warnings name the column.
    separator : str or None, default=None
        Cells are strings split at ``separator``, or (None) list-likes.
    max_len : int or None, default=None
        The width; None: the longest list seen in fit.
    min_frequency, max_categories : int, float or None, default=None
        As in ``FieldEncoder``, counting every occurrence of a value.
    keep_counts : bool, default=False
        Keep the counts of the values fit leaves out, for a warm start.

    Examples
    --------
    >>> import pandas as pd
    >>> field = MultiValuedField("'genres'", separator="|")
    >>> field = field.fit(pd.Series(["Comedy|Drama", "Drama", None]))
    >>> field.width, field.transform(pd.Series(["Drama|Noir"]), few=True)
    (2, array([[3, 1]]))
    """

    kind = MULTI_VALUED
    has_slots = True
    code_shift = UNKNOWN_CODE

    def __init__(
        self,
        label,
        *,
        separator=None,
        max_len=None,
        min_frequency=None,
        max_categories=None,
        keep_counts=False,
    ):
        super().__init__(
            label,
            min_frequency=min_frequency,
            max_categories=max_categories,
            keep_counts=keep_counts,
        )
        self.separator, self.max_len = separator, max_len
        self._n_rows, self._longest = 0, 0  # what partial_fit has seen, with its counts

    @classmethod
    def from_state(cls, state, j, label):
        """Return the field that ``get_state`` described; ``j`` numbers it in errors."""
        known = list(state["categories"])
        separator, width = state["separator"], state["width"]
        missing_code = state["missing_code"]
        # 1 (unknown) when fit saw no missing value; after the known codes, or among
        # them where a warm start appended values
        has_missing = missing_code != UNKNOWN_CODE
        valid = (
            (separator is None or (isinstance(separator, str) and separator != ""))
            and type(width) is int
            and width >= 1
            and UNKNOWN_CODE <= missing_code <= len(known) + 2
            and state["cardinality"] == len(known) + 2 + has_missing
        )
        if not valid:
            raise cls._inconsistent(j, state)
        field = cls(label, separator=separator)
        field._restore(known, missing_code - UNKNOWN_CODE if has_missing else 0, state)
        if not field.known.is_unique:
            raise cls._inconsistent(j, state)
        field.width, field.n_truncated = width, int(state.get("n_truncated", 0))
        return field

    def fit(self, values):
        """Learn the width and the vocabulary of the values of a whole column's lists."""
        flat, lengths = _list_cells.split_cells(values, self.separator, self.label)
        width = self.max_len or max(int(lengths.max(initial=0)), 1)
        flat, lengths, n_truncated = keep_first(flat, lengths, width)
        warn_truncated(self.label, n_truncated, width, "fit")
        self.width, self.n_truncated = int(width), n_truncated
        self._set_vocabulary(*_encode.count_values(flat, self.label), n_samples=len(lengths))
        return self

    def partial_fit(self, values):
        """Count the values of one chunk's lists, its rows and its longest list."""
        flat, lengths = _list_cells.split_cells(values, self.separator, self.label)
        if self.max_len is not None:
            flat, lengths, n_truncated = keep_first(flat, lengths, self.max_len)
            warn_truncated(self.label, n_truncated, self.max_len, "partial_fit")
            self.n_truncated += n_truncated
        self._n_rows += len(lengths)
        self._longest = max(self._longest, int(lengths.max(initial=0)))
        self._count(flat)
        return self

    def grow(self, values, fresh):
        """Count a column's lists; return what appends the values that now pass (``Field``).

        The width stays: longer lists keep their first ``width`` values, with a warning.
        """
        if fresh.max_len not in (None, self.width):
            raise ValueError(
                f"FieldEncoder.fit: warm_start=True keeps the {self.width} slots of the "
                f"multi-valued column {self.label}, but max_len={fresh.max_len}. Set "
                f"max_len to None or {self.width}, or refit with warm_start=False."
            )
        flat, lengths = _list_cells.split_cells(values, self.separator, self.label)
        flat, lengths, n_truncated = keep_first(flat, lengths, self.width)
        warn_truncated(self.label, n_truncated, self.width, "fit")
        counted = _encode.count_values(flat, self.label)
        grow = self._prepare_growth(fresh, counted, n_samples=len(lengths))

        def commit():
            self.n_truncated += n_truncated
            grow()

        return commit

    def describe(self):
        """Return what the parameters made of the column, in words."""
        cells = "list cells" if self.separator is None else f"cells split at {self.separator!r}"
        return f"a multi-valued field of {cells}"

    def finish_partial_fit(self):
        """Set the width and the vocabulary from every chunk seen so far."""
        self.width = int(self.max_len or max(self._longest, 1))
        self._set_vocabulary(*self._counts.vocabulary(), n_samples=self._n_rows)

    def _rows_seen(self, counts, n_missing):
        return self._n_rows  # partial_fit's rows: a row holds any number of values

    def transform(self, values, few):
        """Return the slots of a column, of shape (n_samples, width); warn of cut lists."""
        found = few and lookup_slots(
            _lookup.python_values(values),
            self.separator,
            self.width,
            self.table(),
            self.missing_code,
        )
        if found:
            slots, n_truncated = found
        else:
            flat, lengths = _list_cells.split_cells(values, self.separator, self.label)
            flat, lengths, n_truncated = keep_first(flat, lengths, self.width)
            codes = self._codes(flat)
            slots = scatter_slots(codes + UNKNOWN_CODE, lengths, self.width)
        warn_truncated(self.label, n_truncated, self.width, "transform")
        return slots

    def inverse_transform(self, codes):
        """Return each row's list of values from its slots: no padding, None for unknown."""
        self._check_codes(codes)
        return slot_lists(codes.astype(np.intp), self._meanings())

    def output_index(self, columns):
        """Return the field's slice of output ``columns``: its slots."""
        return columns

    def output_names(self, name):
        """Return the names of the slots, ``name[0]`` to ``name[width - 1]``."""
        return _slots.slot_names(name, self.width)

    def get_state(self):
        """Return the fitted state; ``missing_code`` is the slots' code of a missing value."""
        state = super().get_state()
        state["missing_code"] += UNKNOWN_CODE  # 1, unknown, when fit saw no missing value
        state.update(
            separator=self.separator, width=int(self.width), n_truncated=int(self.n_truncated)
        )
        return state


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
            stacklevel=caller_level(),
        )
