"""Vocabulary fields: categorical and log_square columns, whose codes number known values.

A categorical field's vocabulary is the column's values, a log_square field's the bin
numbers of its values; ``_multi_valued`` builds on the same part for the values of
lists. The counting, choosing and coding are ``_encode``'s kernels; the dict
look-ups of small batches ``_lookup``'s.
"""

import numpy as np
import pandas as pd
import pyarrow as pa

from . import _arrow, _encode, _lookup
from ._field import CATEGORICAL, LOG_SQUARE, Field

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

    Known values get codes ``1..n`` sorted by value, missing values (when fit saw
    some and kept them) ``n + 1``, everything else 0, all plus ``code_shift``.

    Parameters
    ----------
    label : str
        How errors name the column.
    min_frequency, max_categories : int, float or None, default=None
        As in ``FieldEncoder``.
    """

    dtype = object  # of ``categories``
    code_shift = 0  # added to the vocabulary kernels' codes (a multi-valued field's 0 pads)

    def __init__(self, label, *, min_frequency=None, max_categories=None):
        super().__init__(label)
        self.min_frequency, self.max_categories = min_frequency, max_categories
        self.known = None  # the known values as an index, which keeps its hash table
        self._counts = None  # partial_fit's running VocabularyCounts

    @classmethod
    def from_state(cls, state, j, label):
        """Return the field that ``get_state`` described; ``j`` numbers it in errors."""
        known, missing_code = list(state["categories"]), state["missing_code"]
        field = cls(label)
        field._restore(pd.Index(known, tupleize_cols=False), known, missing_code)
        n_codes = len(known) + 1
        valid = field.known.is_unique and missing_code in (0, n_codes)
        if not valid or state["cardinality"] != n_codes + bool(missing_code):
            raise cls._inconsistent(j, state)
        return field

    def finish_partial_fit(self):
        """Choose the vocabulary from the counts of every chunk seen so far."""
        self._set_vocabulary(*self._counts.vocabulary())

    def table(self):
        """Return the dict look-up table of the vocabulary, built at its first use."""
        if "_table" not in vars(self):  # dropped by pickling and by a new vocabulary
            self._table = _lookup.build_table(self.known)
        return self._table

    def get_state(self):
        """Return the fitted state; ``categories[i]`` has code ``i + 1 + code_shift``."""
        known = _encode.known_values(self.categories, self.missing_code)
        return {**super().get_state(), "categories": known.tolist()}

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
        self.known = pd.Index(known.tolist(), tupleize_cols=False)
        categories = np.asarray(known, dtype=self.dtype)
        if missing_code:
            categories = np.append(categories, np.array([np.nan], dtype=self.dtype))
        self.categories, self.missing_code = categories, missing_code
        self.cardinality = len(categories) + 1 + self.code_shift
        vars(self).pop("_table", None)

    def _restore(self, known, values, missing_code):
        """Set a saved vocabulary: ``known`` as an index, ``values`` as listed in the file."""
        categories = np.empty(len(known) + bool(missing_code), dtype=self.dtype)
        categories[: len(known)] = values
        categories[len(known) :] = np.nan
        self.known, self.categories, self.missing_code = known, categories, missing_code
        self.cardinality = len(categories) + 1 + self.code_shift

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

    def _bins(self, values):
        return _encode.log_square_bins(_encode.as_float(values, self.label))

    def _encode(self, values):
        return self._codes(self._bins(values))

    def _lookup(self, cells):
        x = _lookup.as_floats(cells)
        return None if x is None else self._table_codes(_encode.log_square_bins(x).tolist())
