"""What ``FieldEncoder.partial_fit`` keeps of each column between chunks.

Vocabulary columns keep exact counts (so the vocabulary, ``min_frequency`` and
``max_categories`` are those of ``fit`` on all chunks at once); quantile columns a
uniform sample of at most ``SAMPLE_SIZE`` values (as ``KBinsDiscretizer``
subsamples 200,000 rows), exact while fewer values were seen; value columns the
count, mean and sum of squared deviations (Chan's parallel update).
"""

import numpy as np
import pandas as pd

from . import _encode

SAMPLE_SIZE = 200_000


class ColumnStream:
    """The running summary of one column, by field kind.

    Parameters
    ----------
    kind : {"categorical", "log_square", "quantile", "value"}
    seed : int, default=0
        Seeds the quantile sample's draws, so that the same chunks give the same edges.

    Examples
    --------
    >>> import numpy as np
    >>> stream = ColumnStream("categorical")
    >>> stream.add(np.array(["a", "b", None], dtype=object), "'site'")
    >>> stream.add(np.array(["a"], dtype=object), "'site'")
    >>> uniques, counts, n_missing = stream.vocabulary()
    >>> list(uniques), counts.tolist(), n_missing
    (['a', 'b'], [2, 1], 1)
    """

    def __init__(self, kind, seed=0):
        self.kind = kind
        self.counts, self.n_missing = None, 0  # vocabulary kinds
        self.sample, self.n_observed, self.has_missing = np.empty(0), 0, False  # quantile
        self.n, self.mean, self.m2 = 0, 0.0, 0.0  # value
        self._rng = np.random.default_rng(seed)

    def add(self, values, label):
        """Add one chunk of the column's raw values; ``label`` names it in errors."""
        if self.kind == "categorical":
            self._count(values, label)
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
        """Return ``(uniques, counts, n_missing)`` as ``_encode.count_values`` does."""
        return self.counts.index, self.counts.to_numpy(), self.n_missing

    def mean_and_std(self):
        """Return the mean and standard deviation of the values seen (0 and 0 for none)."""
        return self.mean, float(np.sqrt(self.m2 / self.n)) if self.n else 0.0

    def _count(self, values, label):
        uniques, counts, n_missing, _ = _encode.count_values(values, label)
        chunk = pd.Series(counts, index=uniques)
        if self.counts is not None:  # one hash pass over both, no sorting
            chunk = pd.concat([self.counts, chunk]).groupby(level=0, sort=False).sum()
        self.counts, self.n_missing = chunk, self.n_missing + n_missing

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
