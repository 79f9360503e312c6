"""Numeric fields: quantile bins, and standardized values.

``partial_fit`` keeps of a quantile column a uniform sample of at most
``SAMPLE_SIZE`` values (as ``KBinsDiscretizer`` subsamples 200,000 rows), exact while
fewer values were seen; of a value column the count, mean and sum of squared
deviations (Chan's parallel update), exact.
"""

import numpy as np

from . import _encode, _lookup
from ._field import QUANTILE, VALUE, Field

SAMPLE_SIZE = 200_000


class QuantileSample:
    """A uniform sample of a column's values over chunks, and whether any was missing.

    Parameters
    ----------
    seed : int, default=0
        Seeds the sample's draws, so that the same chunks give the same edges.
    """

    def __init__(self, seed=0):
        self.values, self.n_observed, self.has_missing = np.empty(0), 0, False
        self._rng = np.random.default_rng(seed)

    def add(self, x):
        """Add one chunk of float64 values, NaN for missing."""
        self.has_missing |= bool(np.isnan(x).any())
        x = x[~np.isnan(x)]
        # reservoir sampling (algorithm R), vectorised over the chunk
        room = SAMPLE_SIZE - len(self.values)
        self.values = np.concatenate([self.values, x[:room]])
        rest = x[room:] if room > 0 else x
        seen = self.n_observed + min(max(room, 0), len(x))
        if len(rest):
            positions = seen + 1 + np.arange(len(rest))  # each value's rank in the stream
            slots = (self._rng.random(len(rest)) * positions).astype(np.int64)
            kept = slots < SAMPLE_SIZE
            self.values[slots[kept]] = rest[kept]  # later values overwrite, as in sequence
        self.n_observed += len(x)


class Moments:
    """The count, mean and sum of squared deviations of a column's values over chunks."""

    def __init__(self):
        self.n, self.mean, self.m2 = 0, 0.0, 0.0

    def add(self, x):
        """Add one chunk of float64 values, NaN for missing (skipped)."""
        x = x[~np.isnan(x)]
        if not x.size:
            return
        n, mean = x.size, x.mean()
        m2 = ((x - mean) ** 2).sum()
        total = self.n + n
        delta = mean - self.mean
        self.mean += delta * n / total
        self.m2 += m2 + delta**2 * self.n * n / total
        self.n = total

    def mean_and_std(self):
        """Return the mean and standard deviation of the values seen (0 and 0 for none)."""
        return self.mean, float(np.sqrt(self.m2 / self.n)) if self.n else 0.0


class _NumericField(Field):
    """The part of the numeric fields that feeds ``partial_fit``'s floats to a summary."""

    summary_type = None  # the running summary of partial_fit's chunks

    def __init__(self, label):
        super().__init__(label)
        self._summary = None

    def partial_fit(self, values):
        """Add one chunk of the column to the running summary."""
        if self._summary is None:
            self._summary = self.summary_type()
        self._summary.add(_encode.as_float(values, self.label))
        return self

    def grow(self, values, fresh):
        """Warm start: check the column, and keep the fitted edges or scale (frozen).

        New edges or a new scale would move the codes or values of rows seen before.
        """
        _encode.as_float(values, self.label)  # refuses what the first fit refuses
        return super().grow(values, fresh)


class QuantileField(_NumericField):
    """A numeric column cut into quantile bins, coded ``1..n_bins``; missing after them.

    Parameters
    ----------
    label : str
        How errors name the column.
    n_bins : int, default=16
        Number of quantile bins, duplicate edges merged.

    Examples
    --------
    >>> import numpy as np
    >>> field = QuantileField("'x'", n_bins=2).fit(np.array([1.0, 2.0, 3.0, np.nan]))
    >>> field.edges, field.transform(np.array([0.0, 2.5, np.nan]), few=False)
    (array([1., 2., 3.]), array([1, 2, 3]))
    """

    kind = QUANTILE
    summary_type = QuantileSample

    def __init__(self, label, *, n_bins=16):
        super().__init__(label)
        self.n_bins = n_bins
        self.edges = None  # the distinct edges; empty when the column was all missing

    @property
    def categories(self):
        """The edges, as ``FieldEncoder.categories_`` shows them."""
        return self.edges

    @classmethod
    def from_state(cls, state, j, label):
        """Return the field that ``get_state`` described; ``j`` numbers it in errors."""
        field = cls(label)
        edges = np.array([float(edge) for edge in state["edges"]], dtype=np.float64)
        n_codes = _encode.n_quantile_bins(edges) + 1
        missing_code = state["missing_code"]
        valid = np.isfinite(edges).all() and (np.diff(edges) > 0).all()
        valid = valid and missing_code in (0, n_codes)
        if not valid or state["cardinality"] != n_codes + bool(missing_code):
            raise cls._inconsistent(j, state)
        field._set_edges(edges, bool(missing_code))
        return field

    def fit(self, values):
        """Learn the edges of a whole column."""
        x = _encode.as_float(values, self.label)
        self._set_edges(_encode.quantile_edges(x, self.n_bins), np.isnan(x).any())
        return self

    def finish_partial_fit(self):
        """Set the edges from the sample of every chunk seen so far."""
        edges = _encode.quantile_edges(self._summary.values, self.n_bins)
        self._set_edges(edges, self._summary.has_missing)

    def get_state(self):
        """Return the fitted state, the edges as a list."""
        return {**super().get_state(), "edges": self.edges.tolist()}

    def _set_edges(self, edges, has_missing):
        n_bins = _encode.n_quantile_bins(edges)
        self.missing_code = n_bins + 1 if has_missing else 0
        self.cardinality = n_bins + 1 + bool(self.missing_code)
        self.edges = edges

    def _encode(self, values):
        x = _encode.as_float(values, self.label)
        return _encode.encode_quantile(x, self.edges, self.missing_code)

    def _lookup(self, cells):
        x = _lookup.as_floats(cells)
        return None if x is None else _lookup.quantile_codes(x, self.edges, self.missing_code)

    def _meanings(self):
        return _encode.code_meanings(_encode.quantile_intervals(self.edges), self.missing_code)


class ValueField(_NumericField):
    """A numeric column kept as its standardized value ``(x - mean) / scale``, missing 0.0.

    A zero standard deviation counts as 1, and so does a column all missing.
    """

    kind = VALUE
    is_value = True
    summary_type = Moments

    def __init__(self, label):
        super().__init__(label)
        self.mean, self.scale = 0.0, 1.0

    @classmethod
    def from_state(cls, state, j, label):
        """Return the field that ``get_state`` described; ``j`` numbers it in errors."""
        field = cls(label)
        field.mean, field.scale = float(state["mean"]), float(state["scale"])
        valid = np.isfinite(field.mean) and 0 < field.scale < np.inf
        valid = valid and state["missing_code"] == 0
        if not valid or state["cardinality"] != 1:
            raise cls._inconsistent(j, state)
        return field

    def fit(self, values):
        """Learn the mean and standard deviation of a whole column."""
        x = _encode.as_float(values, self.label)
        observed = x[~np.isnan(x)]
        if observed.size:
            self.mean = observed.mean()
            self.scale = observed.std() or 1.0
        return self

    def finish_partial_fit(self):
        """Set the mean and scale from the moments of every chunk seen so far."""
        mean, std = self._summary.mean_and_std()
        self.mean, self.scale = mean, std or 1.0

    def inverse_transform(self, codes):
        """Return the de-standardized values."""
        return codes * self.scale + self.mean

    def get_state(self):
        """Return the fitted state: the mean and scale."""
        return {**super().get_state(), "mean": float(self.mean), "scale": float(self.scale)}

    def _standardize(self, x):
        return np.nan_to_num((x - self.mean) / self.scale, nan=0.0)

    def _encode(self, values):
        return self._standardize(_encode.as_float(values, self.label))

    def _lookup(self, cells):
        x = _lookup.as_floats(cells)
        return None if x is None else self._standardize(x)
