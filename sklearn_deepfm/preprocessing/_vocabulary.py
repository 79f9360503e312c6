"""Vocabulary fields: categorical and log_square columns, whose codes number known values.

A categorical field's vocabulary is the column's values, a log_square field's the bin
numbers of its values; ``_multi_valued`` builds on the same part for the values of
lists. The counting, choosing and coding are ``_encode``'s kernels; the dict
look-ups of small batches ``_lookup``'s.
"""

import functools
import warnings

import numpy as np
import pandas as pd
import pyarrow as pa

from . import _arrow, _encode, _growth, _lookup
from ._field import CATEGORICAL, LOG_SQUARE, Field, caller_level

# Sum the chunks' Arrow counts every this many chunks, to bound what is kept.
_MERGE_EVERY = 8


class VocabularyCounts:
    """The running counts of a column's values over the chunks of ``partial_fit``.

    Exact, so the vocabulary, ``min_frequency`` and ``max_categories`` are those of
    ``fit`` on all chunks at once. Arrow arrays (Arrow strings, bin numbers) are
    counted by Arrow and summed every few chunks; other values by pandas.

    Examples
    --------
    >>> import numpy as np
    >>> counts = VocabularyCounts()
    >>> counts.add(np.array(["a", "b", None], dtype=object), "'site'")
    >>> counts.add(np.array(["a"], dtype=object), "'site'")
    >>> uniques, counts, n_missing, order = counts.vocabulary()
    >>> list(uniques), counts.tolist(), n_missing
    (['a', 'b'], [2, 1], 1)
    """

    def __init__(self):
        self.counts, self.n_missing = None, 0  # pandas: a Series of counts by value
        self._arrow_counts = []  # Arrow: (values, counts) of each chunk

    def add(self, values, label):
        """Count one chunk: an Arrow array, or a column; ``label`` names it in errors."""
        array = values if isinstance(values, pa.Array) else _arrow.string_array(values)
        if array is not None:  # counted, and later summed, by Arrow
            values, counts, n_missing = _arrow.value_counts(array)
            self._arrow_counts.append((values, counts))
            self.n_missing += n_missing
            if len(self._arrow_counts) >= _MERGE_EVERY:  # bound the chunks' lists
                self._merge_arrow_counts()
            return
        uniques, counts, n_missing, _ = _encode.count_values(values, label)
        self._add_counts(uniques, counts)
        self.n_missing += n_missing

    def vocabulary(self):
        """Return ``(uniques, counts, n_missing, order)`` as ``_encode.count_values`` does."""
        if self._arrow_counts and self.counts is None:  # Arrow all along: summed and sorted in C++
            uniques, counts = _arrow.sorted_counts(*self._merge_arrow_counts())
            return uniques, counts, self.n_missing, np.arange(len(uniques), dtype=np.intp)
        if self._arrow_counts:  # Arrow and other storages mixed: pandas counts them together
            values, counts = self._merge_arrow_counts()
            self._add_counts(pd.Index(values.to_pylist()), counts.to_numpy())
            self._arrow_counts = []
        return self.counts.index, self.counts.to_numpy(), self.n_missing, None

    def _merge_arrow_counts(self):
        """Sum the counts of each value over the chunks seen so far (Arrow's group-by)."""
        if len(self._arrow_counts) > 1:
            table = pa.table(
                {
                    "value": pa.chunked_array([v for v, _ in self._arrow_counts]),
                    "count": pa.chunked_array([c for _, c in self._arrow_counts]),
                }
            )
            summed = table.group_by("value").aggregate([("count", "sum")])
            self._arrow_counts = [
                (summed["value"].combine_chunks(), summed["count_sum"].combine_chunks())
            ]
        return self._arrow_counts[0]

    def _add_counts(self, uniques, counts):
        chunk = pd.Series(counts, index=uniques)
        if self.counts is not None:  # one hash pass over both, no sorting
            chunk = pd.concat([self.counts, chunk]).groupby(level=0, sort=False).sum()
        self.counts = chunk


class VocabularyField(Field):
    """The part of the vocabulary fields that knows values: fit, codes, state, look-ups.

    A first fit gives the known values codes ``1..n`` sorted by value, missing values
    (when fit saw some and kept them) ``n + 1``, everything else 0, all plus
    ``code_shift``. A warm start (``grow``) appends values after every code, the
    missing code included, so that ``categories[i]`` keeps code ``i + 1``.

    Parameters
    ----------
    label : str
        How errors name the column.
    min_frequency, max_categories : int, float or None, default=None
        As in ``FieldEncoder``.
    keep_counts : bool, default=False
        Keep the counts of the values fit leaves out, for a warm start.
    """

    dtype = object  # of ``categories``
    code_shift = 0  # added to the vocabulary kernels' codes (a multi-valued field's 0 pads)
    keep_counts, _held = False, None  # also for fields pickled before warm starts

    def __init__(self, label, *, min_frequency=None, max_categories=None, keep_counts=False):
        super().__init__(label)
        self.min_frequency, self.max_categories = min_frequency, max_categories
        self.keep_counts = keep_counts
        self.known = None  # the known values as an index, which keeps its hash table
        self._counts = None  # partial_fit's running VocabularyCounts
        self._held = None  # what fits left out, kept for a warm start (HeldCounts)

    @classmethod
    def from_state(cls, state, j, label):
        """Return the field that ``get_state`` described; ``j`` numbers it in errors."""
        known, missing_code = list(state["categories"]), state["missing_code"]
        n_codes = len(known) + 1  # a warm start may have put codes after the missing one
        if missing_code > n_codes or state["cardinality"] != n_codes + bool(missing_code):
            raise cls._inconsistent(j, state)
        field = cls(label)
        field._restore(known, missing_code, state)
        if not field.known.is_unique:
            raise cls._inconsistent(j, state)
        return field

    def finish_partial_fit(self):
        """Choose the vocabulary from the counts of every chunk seen so far."""
        self._set_vocabulary(*self._counts.vocabulary())

    def table(self):
        """Return the dict look-up table of the vocabulary, built at its first use."""
        if "_table" not in vars(self):  # dropped by pickling and by a new vocabulary
            self._table = _lookup.build_table(self.known, self.missing_code)
        return self._table

    def get_state(self):
        """Return the fitted state.

        ``categories[i]`` has code ``i + 1 + code_shift``, or one more from the missing
        code on (``_encode.known_codes``); ``held``, when kept, what fits left out.
        """
        known = _encode.known_values(self.categories, self.missing_code)
        state = {**super().get_state(), "categories": known.tolist()}
        if self._held is not None:
            state["held"] = self._held.get_state()
        return state

    def __getstate__(self):
        # the look-up table is a cache as large as the vocabulary: rebuilt on demand
        return {k: v for k, v in vars(self).items() if k != "_table"}

    def _count(self, values):
        if self._counts is None:
            self._counts = VocabularyCounts()
        self._counts.add(values, self.label)

    def _set_vocabulary(self, uniques, counts, n_missing, order, *, n_samples=None):
        """Keep the values that ``min_frequency`` and ``max_categories`` let through."""
        known, missing_code = _encode.fit_vocabulary(
            uniques,
            counts,
            n_missing,
            order,
            min_frequency=self.min_frequency,
            max_categories=self.max_categories,
            n_samples=n_samples,
        )
        # a list lets pandas infer a dtype (int64, str, ...) that makes lookups fast
        self._set_known(
            pd.Index(known.tolist(), tupleize_cols=False),
            missing_code,
            np.asarray(known, dtype=self.dtype),
        )
        if self.keep_counts:
            n_rows = self._rows_seen(counts, n_missing) if n_samples is None else n_samples
            self._held = _growth.HeldCounts.left_out(
                self.known, missing_code, uniques, counts, n_missing, n_rows
            )

    def _prepare_growth(self, fresh, counted, *, n_samples=None):
        """Return the function that appends the values passing with ``counted`` (``grow``).

        ``counted`` is what ``_encode.count_values`` returns for the new data.
        """
        self.check_growable(fresh)
        return functools.partial(self._grow, fresh, *counted, n_samples=n_samples)

    def _grow(self, fresh, uniques, counts, n_missing, order, *, n_samples=None):
        """Append the values that now pass after every code the field has (a warm start).

        ``fresh`` is the unfitted field of the current parameters: its ``min_frequency``
        and ``max_categories`` apply to the counts of every fit (``_growth``).
        """
        self.min_frequency, self.max_categories = fresh.min_frequency, fresh.max_categories
        n_rows = self._rows_seen(counts, n_missing) if n_samples is None else n_samples
        added, missing_added, self._held = _growth.grow_vocabulary(
            self.known,
            self.missing_code,
            self._held_counts(),
            uniques,
            counts,
            n_missing,
            n_rows,
            min_frequency=self.min_frequency,
            max_categories=self.max_categories,
        )
        self.keep_counts, self._counts = True, None
        known = _encode.known_values(self.categories, self.missing_code)
        values = np.concatenate([known, np.asarray(added, dtype=self.dtype)])
        n_known = len(values)
        missing_code = self.missing_code or (n_known + 1 if missing_added else 0)
        index = pd.Index(self.known.tolist() + added.tolist(), tupleize_cols=False)
        self._set_known(index, missing_code, values)

    def _held_counts(self):
        """Return what earlier fits left out: kept, counted by partial_fit, or nothing."""
        if self._held is not None:
            return self._held
        if self._counts is not None:  # partial_fit counted every value
            uniques, counts, n_missing, _ = self._counts.vocabulary()
            return _growth.HeldCounts.left_out(
                self.known,
                self.missing_code,
                uniques,
                counts,
                n_missing,
                self._rows_seen(counts, n_missing),
            )
        if self.min_frequency is not None or self.max_categories is not None:
            warnings.warn(
                f"FieldEncoder.fit: warm_start=True grows column {self.label}, whose "
                "previous fit was made with warm_start=False and kept no counts of the "
                "values it left out (min_frequency, max_categories): they count from this "
                "fit on. Fit with warm_start=True from the first fit to count them over "
                "every fit.",
                UserWarning,
                stacklevel=caller_level(),
            )
        return _growth.HeldCounts()

    def _rows_seen(self, counts, n_missing):
        """Return the rows behind these counts: one value a row."""
        return int(np.sum(counts)) + int(n_missing)

    def _set_known(self, known, missing_code, values):
        """Set the vocabulary: ``known`` as an index, ``values`` as ``categories`` holds them.

        Both in code order; the NaN of missing values takes ``missing_code``'s place.
        """
        categories = np.empty(len(known) + bool(missing_code), dtype=self.dtype)
        categories[_encode.known_codes(len(known), missing_code) - 1] = values
        if missing_code:
            categories[missing_code - 1] = np.nan
        self.known, self.categories, self.missing_code = known, categories, missing_code
        self.cardinality = len(categories) + 1 + self.code_shift
        vars(self).pop("_table", None)

    def _restore(self, values, missing_code, state):
        """Set a saved vocabulary, ``values`` as the file lists them, and its held counts."""
        self._set_known(pd.Index(values, tupleize_cols=False), missing_code, values)
        if state.get("held") is not None:
            self._held = _growth.HeldCounts.from_state(state["held"])

    def _codes(self, values):
        return _encode.encode_vocabulary(values, self.known, self.missing_code, self.label)

    def _table_codes(self, values):
        table = self.table()
        return table and _lookup.lookup_codes(values, table, self.missing_code)

    def _meanings(self):
        known = _encode.known_values(self.categories, self.missing_code)
        return _encode.code_meanings(known, self.missing_code)


class CategoricalField(VocabularyField):
    """A column of categories: each known value its code, sorted by value.

    Examples
    --------
    >>> import pandas as pd
    >>> field = CategoricalField("'site'").fit(pd.Series(["b", "a", None, "a"]))
    >>> field.categories, field.transform(pd.Series(["a", None, "z"]), few=False)
    (array(['a', 'b', nan], dtype=object), array([1, 3, 0]))
    """

    kind = CATEGORICAL

    def fit(self, values):
        """Learn the vocabulary of a whole column."""
        self._set_vocabulary(*_encode.count_values(values, self.label))
        return self

    def partial_fit(self, values):
        """Count the values of one chunk of the column."""
        self._count(values)
        return self

    def grow(self, values, fresh):
        """Count a whole column; return what appends the values that now pass (see ``Field``)."""
        return self._prepare_growth(fresh, _encode.count_values(values, self.label))

    def _encode(self, values):
        return self._codes(values)

    def _lookup(self, cells):
        return self._table_codes(cells)


class LogSquareField(VocabularyField):
    """A numeric column binned as the Criteo winners did, the bin numbers a vocabulary."""

    kind = LOG_SQUARE
    dtype = np.float64

    def fit(self, values):
        """Learn the bin numbers of a whole column."""
        self._set_vocabulary(*_encode.count_values(self._bins(values), self.label))
        return self

    def partial_fit(self, values):
        """Count the bin numbers of one chunk of the column."""
        self._count(pa.array(self._bins(values), from_pandas=True))  # NaN (missing) as null
        return self

    def grow(self, values, fresh):
        """Count a column's bin numbers; return what appends those that now pass (``Field``)."""
        return self._prepare_growth(fresh, _encode.count_values(self._bins(values), self.label))

    def _bins(self, values):
        return _encode.log_square_bins(_encode.as_float(values, self.label))

    def _encode(self, values):
        return self._codes(self._bins(values))

    def _lookup(self, cells):
        x = _lookup.as_floats(cells)
        return None if x is None else self._table_codes(_encode.log_square_bins(x).tolist())
