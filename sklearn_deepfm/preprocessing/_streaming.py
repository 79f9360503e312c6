"""``FieldEncoder.partial_fit``, and what it keeps of each column between chunks.

Vocabulary columns keep exact counts (so the vocabulary, ``min_frequency`` and
``max_categories`` are those of ``fit`` on all chunks at once), multi-valued ones
also the rows and the longest list seen; quantile columns a
uniform sample of at most ``SAMPLE_SIZE`` values (as ``KBinsDiscretizer``
subsamples 200,000 rows), exact while fewer values were seen; value columns the
count, mean and sum of squared deviations (Chan's parallel update).
"""

import numpy as np
import pandas as pd
import pyarrow as pa

from .._sklearn import fit_context
from . import _arrow, _encode, _list_cells, _multi_valued
from ._encode import CATEGORICAL, LOG_SQUARE, MULTI_VALUED, QUANTILE

# What partial_fit leaves to compute until it is read (see StreamingFitMixin.__getattr__).
_DEFERRED = (
    *("categories_", "cardinalities_", "field_slices_", "n_truncated_"),
    *("_missing_codes", "_known", "_means", "_scales", "_widths"),
)

SAMPLE_SIZE = 200_000
# Sum the chunks' Arrow counts every this many chunks, to bound what is kept.
_MERGE_EVERY = 8


class ColumnStream:
    """The running summary of one column, by field kind.

    Parameters
    ----------
    kind : {"categorical", "multi_valued", "log_square", "quantile", "value"}
    seed : int, default=0
        Seeds the quantile sample's draws, so that the same chunks give the same edges.
    separator : str or None, default=None
        A multi-valued column's separator (see ``FieldEncoder``'s ``multi_valued``).
    max_len : int or None, default=None
        A multi-valued column's width, None for the longest list.

    Examples
    --------
    >>> import numpy as np
    >>> stream = ColumnStream("categorical")
    >>> stream.add(np.array(["a", "b", None], dtype=object), "'site'")
    >>> stream.add(np.array(["a"], dtype=object), "'site'")
    >>> uniques, counts, n_missing, order = stream.vocabulary()
    >>> list(uniques), counts.tolist(), n_missing
    (['a', 'b'], [2, 1], 1)
    """

    def __init__(self, kind, seed=0, *, separator=None, max_len=None):
        self.kind = kind
        self.counts, self.n_missing = None, 0  # vocabulary kinds
        self.separator, self.max_len = separator, max_len  # multi-valued
        self.n_rows, self.longest, self.n_truncated = 0, 0, 0
        self._arrow_counts = []  # Arrow strings or bin numbers: (values, counts) of each chunk
        self.sample, self.n_observed, self.has_missing = np.empty(0), 0, False  # quantile
        self.n, self.mean, self.m2 = 0, 0.0, 0.0  # value
        self._rng = np.random.default_rng(seed)

    def add(self, values, label):
        """Add one chunk of the column's raw values; ``label`` names it in errors."""
        if self.kind == CATEGORICAL:
            self._count(values, label)
            return
        if self.kind == MULTI_VALUED:
            self._add_lists(values, label)
            return
        x = _encode.as_float(values, label)
        if self.kind == "log_square":
            self._count(_encode.log_square_bins(x), label)
        elif self.kind == "quantile":
            self.has_missing |= bool(np.isnan(x).any())
            self._sample(x[~np.isnan(x)])
        else:
            self._moments(x[~np.isnan(x)])

    def vocabulary(self):
        """Return ``(uniques, counts, n_missing, order)`` as ``_encode.count_values`` does."""
        if self._arrow_counts and self.counts is None:  # Arrow all along: summed and sorted in C++
            return self._arrow_vocabulary()
        if self._arrow_counts:  # Arrow and other storages mixed: pandas counts them together
            values, counts = self._merge_arrow_counts()
            self._add_counts(pd.Index(values.to_pylist()), counts.to_numpy())
            self._arrow_counts = []
        return self.counts.index, self.counts.to_numpy(), self.n_missing, None

    def _arrow_vocabulary(self):
        uniques, counts = _arrow.sorted_counts(*self._merge_arrow_counts())
        return uniques, counts, self.n_missing, np.arange(len(uniques), dtype=np.intp)

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

    def mean_and_std(self):
        """Return the mean and standard deviation of the values seen (0 and 0 for none)."""
        return self.mean, float(np.sqrt(self.m2 / self.n)) if self.n else 0.0

    def _add_lists(self, values, label):
        flat, lengths = _list_cells.split_cells(values, self.separator, label)
        if self.max_len is not None:
            flat, lengths, n_truncated = _multi_valued.keep_first(flat, lengths, self.max_len)
            _multi_valued.warn_truncated(label, n_truncated, self.max_len, "partial_fit")
            self.n_truncated += n_truncated
        self.n_rows += len(lengths)
        self.longest = max(self.longest, int(lengths.max(initial=0)))
        self._count(flat, label)

    def _count(self, values, label):
        if self.kind in (CATEGORICAL, MULTI_VALUED):
            array = _arrow.string_array(values)
        else:  # log_square bin numbers: float64, NaN (missing) as null
            array = pa.array(values, from_pandas=True)
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

    def _add_counts(self, uniques, counts):
        chunk = pd.Series(counts, index=uniques)
        if self.counts is not None:  # one hash pass over both, no sorting
            chunk = pd.concat([self.counts, chunk]).groupby(level=0, sort=False).sum()
        self.counts = chunk

    def _sample(self, x):
        """Reservoir sampling (algorithm R), vectorised over the chunk."""
        room = SAMPLE_SIZE - len(self.sample)
        self.sample = np.concatenate([self.sample, x[:room]])
        rest = x[room:] if room > 0 else x
        seen = self.n_observed + min(max(room, 0), len(x))
        if len(rest):
            positions = seen + 1 + np.arange(len(rest))  # each value's rank in the stream
            slots = (self._rng.random(len(rest)) * positions).astype(np.int64)
            kept = slots < SAMPLE_SIZE
            self.sample[slots[kept]] = rest[kept]  # later values overwrite, as in sequence
        self.n_observed += len(x)

    def _moments(self, x):
        if not x.size:
            return
        n, mean = x.size, x.mean()
        m2 = ((x - mean) ** 2).sum()
        total = self.n + n
        delta = mean - self.mean
        self.mean += delta * n / total
        self.m2 += m2 + delta**2 * self.n * n / total
        self.n = total


class StreamingFitMixin:
    """``FieldEncoder``'s fit over chunks: ``partial_fit`` and its deferred state."""

    @fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y=None):
        """Learn from one more chunk of rows, as ``fit`` on all chunks seen so far would.

        For data larger than memory: call it once per chunk (from
        ``iter_criteo`` or ``pandas.read_csv(chunksize=...)``). Vocabularies are
        exact: the codes equal those of ``fit`` on the concatenated chunks,
        ``min_frequency`` and ``max_categories`` applying to the total counts.
        Quantile edges come from a uniform sample of at most 200,000 values per
        column (exact while fewer were seen); value fields' mean and standard
        deviation are exact. The first call (or the first after ``fit``) starts
        anew and sets the columns; later chunks must hold the same columns.

        Parameters
        ----------
        X : {DataFrame, array-like} of shape (n_samples, n_features)
            One chunk of the data.
        y : None
            Ignored.

        Returns
        -------
        self : FieldEncoder
            The encoder, fitted on every chunk so far.

        Examples
        --------
        >>> import pandas as pd
        >>> from sklearn_deepfm import FieldEncoder
        >>> X = pd.DataFrame({"site": ["a", "b", "a", "c"], "clicks": [1, 5, 40, 3]})
        >>> encoder = FieldEncoder(min_frequency=2)
        >>> for chunk in (X[:2], X[2:]):
        ...     encoder = encoder.partial_fit(chunk)
        >>> encoder.transform(X)[:, 0], FieldEncoder(min_frequency=2).fit(X).transform(X)[:, 0]
        (array([1, 0, 1, 0]), array([1, 0, 1, 0]))
        """
        streams = vars(self).get("_streams")
        if streams is None:  # the first chunk sets the columns and their kinds
            columns = self._start_fit(X)
            streams = [
                ColumnStream(kind, separator=self._separators.get(j), max_len=self.max_len)
                for j, kind in enumerate(self._kinds)
            ]
        else:
            columns, _ = self._columns_for_transform(X)
        for j, values in enumerate(columns):
            streams[j].add(values, self._label(j))
        self._streams, self._pending = streams, True
        # computed from the streams when next read (__getattr__); the one-row look-up
        # tables and the output's column names, built from them, with them
        for name in (*_DEFERRED, "_tables", "_columns_out"):
            vars(self).pop(name, None)
        return self

    def __getattr__(self, name):
        """Compute the fitted state that ``partial_fit`` deferred, when it is first read.

        Sorting a vocabulary after every chunk would cost more than counting it.
        """
        if name in _DEFERRED and self.__dict__.get("_pending"):
            self._pending = False
            self._init_fitted_state(len(self._kinds))
            for j, stream in enumerate(self._streams):
                self._fit_from_stream(j, stream)
            self._set_field_slices()
            return getattr(self, name)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def _fit_from_stream(self, j, stream):
        """Set field ``j`` from what ``partial_fit`` has seen of it so far."""
        if self._kinds[j] in (CATEGORICAL, LOG_SQUARE):
            dtype = object if self._kinds[j] == CATEGORICAL else np.float64
            self._fit_vocabulary(j, *stream.vocabulary(), dtype=dtype)
        elif self._kinds[j] == MULTI_VALUED:
            self._widths[j] = self.max_len or max(stream.longest, 1)
            self.n_truncated_[j] = stream.n_truncated
            self._fit_vocabulary(j, *stream.vocabulary(), dtype=object, n_samples=stream.n_rows)
        elif self._kinds[j] == QUANTILE:
            self._set_quantile(
                j, _encode.quantile_edges(stream.sample, self.n_bins), stream.has_missing
            )
        else:
            mean, std = stream.mean_and_std()
            self._means[j], self._scales[j] = mean, std or 1.0
