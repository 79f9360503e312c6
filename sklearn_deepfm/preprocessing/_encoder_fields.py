"""``FieldEncoder``'s fields one kind at a time: how a column fits a field, how it encodes one.

Each kind (categorical, multi-valued, log_square, quantile, value) keeps its fitted
state in the same per-field arrays; the vocabulary kinds share ``_fit_vocabulary``
and ``_encode``'s kernels, multi-valued fields on the flat values of their lists.
"""

import numpy as np
import pandas as pd

from .. import _slots
from . import _encode, _list_cells, _lookup, _multi_valued
from ._encode import CATEGORICAL, LOG_SQUARE, MULTI_VALUED, QUANTILE, VALUE


class EncoderFieldsMixin:
    """The per-field state of ``FieldEncoder``: fitting it from a column, encoding with it."""

    def _init_fitted_state(self, n_features):
        self.categories_ = [None] * n_features
        self.cardinalities_ = np.ones(n_features, dtype=np.int64)
        self._missing_codes = np.zeros(n_features, dtype=np.int64)
        self._known = [None] * n_features  # vocabulary fields: known values as an index
        self._tables = {}  # vocabulary fields: dicts value -> code, built by _table
        self._columns_out = None  # the output's column names, built by _output_columns
        self._means = np.zeros(n_features)
        self._scales = np.ones(n_features)
        self._widths = np.ones(n_features, dtype=np.int64)  # output columns of each field
        self.n_truncated_ = np.zeros(n_features, dtype=np.int64)

    def _set_field_slices(self):
        self.field_slices_ = _slots.slices_of(self._widths.tolist())

    def _fit_column(self, j, values):
        """Set ``categories_[j]``, ``cardinalities_[j]`` and the private state of field j."""
        kind, label = self._kinds[j], self._label(j)
        if kind == CATEGORICAL:
            self._fit_vocabulary(j, *_encode.count_values(values, label), dtype=object)
            return
        if kind == MULTI_VALUED:
            self._fit_multi_valued(j, values)
            return
        x = _encode.as_float(values, label)
        if kind == LOG_SQUARE:
            bins = _encode.log_square_bins(x)
            self._fit_vocabulary(j, *_encode.count_values(bins, label), dtype=np.float64)
        elif kind == QUANTILE:
            self._set_quantile(j, _encode.quantile_edges(x, self.n_bins), np.isnan(x).any())
        else:  # value
            observed = x[~np.isnan(x)]
            if observed.size:
                self._means[j] = observed.mean()
                self._scales[j] = observed.std() or 1.0

    def _set_quantile(self, j, edges, has_missing):
        n_bins = _encode.n_quantile_bins(edges)
        self._missing_codes[j] = n_bins + 1 if has_missing else 0
        self.cardinalities_[j] = n_bins + 1 + bool(self._missing_codes[j])
        self.categories_[j] = edges

    def _fit_multi_valued(self, j, values):
        label = self._label(j)
        flat, lengths = _list_cells.split_cells(values, self._separators[j], label)
        width = self.max_len or max(int(lengths.max(initial=0)), 1)
        flat, lengths, n_truncated = _multi_valued.keep_first(flat, lengths, width)
        _multi_valued.warn_truncated(label, n_truncated, width, "fit")
        self._widths[j], self.n_truncated_[j] = width, n_truncated
        vocabulary = _encode.count_values(flat, label)
        self._fit_vocabulary(j, *vocabulary, dtype=object, n_samples=len(lengths))

    def _fit_vocabulary(self, j, uniques, counts, n_missing, order, *, dtype, n_samples=None):
        known, missing_code = _encode.fit_vocabulary(
            uniques,
            counts,
            n_missing,
            order,
            min_frequency=self.min_frequency,
            max_categories=self.max_categories,
            n_samples=n_samples,
        )
        # a list lets pandas infer a dtype (int64, str, ...) that makes lookups fast; the
        # index keeps its hash table between transform calls
        self._known[j] = pd.Index(known.tolist(), tupleize_cols=False)
        categories = np.asarray(known, dtype=dtype)
        if missing_code:
            categories = np.append(categories, np.array([np.nan], dtype=dtype))
        self.categories_[j] = categories
        self._missing_codes[j] = missing_code  # as the vocabulary kernels code, in every kind
        # a multi-valued field's codes are the kernels' plus one: 0 pads
        self.cardinalities_[j] = len(categories) + 1 + (self._kinds[j] == MULTI_VALUED)

    def _encode_column(self, j, values):
        kind, label = self._kinds[j], self._label(j)
        if kind == CATEGORICAL:
            return _encode.encode_vocabulary(values, self._known[j], self._missing_codes[j], label)
        x = _encode.as_float(values, label)
        if kind == LOG_SQUARE:
            bins = _encode.log_square_bins(x)
            return _encode.encode_vocabulary(bins, self._known[j], self._missing_codes[j], label)
        if kind == QUANTILE:
            return _encode.encode_quantile(x, self.categories_[j], self._missing_codes[j])
        return self._encode_value(j, x)

    def _encode_slots(self, j, values, few):
        """Return the slots of multi-valued field ``j``, warning when lists were cut."""
        label, separator, width = self._label(j), self._separators[j], int(self._widths[j])
        missing_code = self._missing_codes[j]
        found = few and _multi_valued.lookup_slots(
            _lookup.python_values(values), separator, width, self._table(j), missing_code
        )
        if found:
            slots, n_truncated = found
        else:
            flat, lengths = _list_cells.split_cells(values, separator, label)
            flat, lengths, n_truncated = _multi_valued.keep_first(flat, lengths, width)
            codes = _encode.encode_vocabulary(flat, self._known[j], missing_code, label)
            slots = _multi_valued.scatter_slots(codes + _slots.UNKNOWN_CODE, lengths, width)
        _multi_valued.warn_truncated(label, n_truncated, width, "transform")
        return slots

    def _lookup_column(self, j, values):
        """Encode a few rows of column ``j`` in Python; None where ``_encode_column`` must."""
        cells = _lookup.python_values(values)
        kind = self._kinds[j]
        if kind == CATEGORICAL:
            table = self._table(j)
            return table and _lookup.lookup_codes(cells, table, self._missing_codes[j])
        x = _lookup.as_floats(cells)
        if x is None:
            return None
        if kind == LOG_SQUARE:
            table, bins = self._table(j), _encode.log_square_bins(x).tolist()
            return table and _lookup.lookup_codes(bins, table, self._missing_codes[j])
        if kind == QUANTILE:
            return _lookup.quantile_codes(x, self.categories_[j], self._missing_codes[j])
        return self._encode_value(j, x)

    def _table(self, j):
        """Return the dict look-up table of vocabulary field ``j``, built at its first use."""
        tables = self.__dict__.setdefault("_tables", {})  # dropped by pickling
        if j not in tables:
            tables[j] = _lookup.build_table(self._known[j])
        return tables[j]

    def _encode_value(self, j, x):
        return np.nan_to_num((x - self._means[j]) / self._scales[j], nan=0.0)

    def _decode_column(self, j, codes):
        """Return what the codes of field ``j`` (a multi-valued one: its slots) stand for."""
        kind = self._kinds[j]
        if kind == VALUE:
            return codes * self._scales[j] + self._means[j]
        bad = (codes != np.round(codes)) | (codes < 0) | (codes >= self.cardinalities_[j])
        if bad.any():
            raise ValueError(
                f"FieldEncoder.inverse_transform: codes of column {self._label(j)} must "
                f"be integers in [0, {self.cardinalities_[j]}); got {codes[bad][0]!r}. "
                "Pass the output of transform."
            )
        meanings = _encode.code_meanings(
            self.categories_[j], self._missing_codes[j], quantile=kind == QUANTILE
        )
        if kind == MULTI_VALUED:
            return _multi_valued.slot_lists(codes.astype(np.intp), meanings)
        return meanings[codes.astype(np.intp)]
