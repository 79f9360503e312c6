"""FieldEncoder: turn each column of a table into one integer field index per row."""

from numbers import Integral

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils._param_validation import Interval, RealNotInt, StrOptions
from sklearn.utils._set_output import _get_output_config
from sklearn.utils.validation import (
    _check_feature_names_in,
    _get_feature_names,
    check_array,
    check_is_fitted,
    validate_data,
)

from . import _encode, _lookup
from ._encode import CATEGORICAL, LOG_SQUARE, QUANTILE, VALUE
from ._encoder_state import EncoderStateMixin
from ._streaming import StreamingFitMixin


class FieldEncoder(StreamingFitMixin, EncoderStateMixin, TransformerMixin, BaseEstimator):
    """Encode each column as one integer field index, the input of a DeepFM model.

    Every field reserves code 0 for values it cannot name: values never seen in fit,
    values dropped by ``min_frequency`` or ``max_categories``, and missing values when
    none were seen in fit. So every code of field ``f`` is a valid row of an embedding
    table with ``cardinalities_[f]`` rows.

    - Categorical columns: the known categories get codes ``1..n`` sorted by value
      (values of mixed types sort by type name, then value), and missing values
      (NaN, None, ``pd.NA``, ``NaT``), when seen in fit, get the last code ``n + 1``:
      in click data, "missing" carries signal.
    - Numeric columns are binned or kept as a value, following ``numeric_encoding``.

    Parameters
    ----------
    categorical_features : "auto" or array-like of str or int, default="auto"
        Which columns are categorical. ``"auto"``: DataFrame columns of dtype object,
        string, category or bool, and integer columns whose name looks like an id: its
        last word (split at anything but letters and digits) is ``id``, ``user``,
        ``item``, ``app``, ``device``, ``ip``, ``os``, ``channel``, ``type``, ``code``
        and the like (``_encode.ID_WORDS``), or ends in ``id`` (``userId``). So
        ``user_id``, ``item`` and ``device_type`` are categorical, ``user_age``,
        ``clicks`` and ``I5`` binned. For a numpy array, all columns if its dtype is
        object, string or bool, else none. A list names the categorical columns (str)
        or gives their positions (int), and overrides the name rule; list other
        integer-coded columns here (Avazu's ``C14``). All other columns must be numeric
        (strings that parse as numbers are accepted).
    numeric_encoding : {"quantile", "log_square", "value"}, default="quantile"
        Encoding of the numeric columns.

        - ``"quantile"``: ``n_bins`` quantile bins (duplicate edges merged); values
          beyond the fitted range fall in the outer bins; missing values get the code
          after the bins.
        - ``"log_square"``: the binning of the Criteo challenge winners, ``v > 2`` gives
          ``floor(log(v) ** 2)``, other values (negatives included) ``int(v)``; the bin
          numbers are then a vocabulary like a categorical column (``min_frequency`` and
          ``max_categories`` apply).
        - ``"value"``: the standardized value ``(x - mean_) / std_`` (fitted mean and
          standard deviation, a zero deviation counting as 1, missing giving 0.0), which
          scales the field's single embedding row, as in the DeepFM paper.
    n_bins : int, default=16
        Number of quantile bins (``numeric_encoding="quantile"``), at least 2.
    min_frequency : int or float, default=None
        Categories seen fewer than ``min_frequency`` times (an int), or in a fraction of
        rows below ``min_frequency`` (a float in (0, 1)), get code 0. As in
        :class:`~sklearn.preprocessing.OrdinalEncoder`; missing values count as one
        category.
    max_categories : int, default=None
        Keep at most ``max_categories`` categories per field (the most frequent, ties
        going to the one that sorts first); the others get code 0. Unlike
        :class:`~sklearn.preprocessing.OrdinalEncoder`, the count does not include the
        code for the others: a field has at most ``max_categories + 1`` codes.

    Attributes
    ----------
    categories_ : list of ndarray or None
        One entry per input column. Categorical fields: object array of the known
        categories, ``categories_[f][i]`` having code ``i + 1``, with NaN last when
        missing values have a code. ``"log_square"`` fields: the same with the float64
        bin numbers. ``"quantile"`` fields: the float64 distinct quantile edges (bin
        ``i + 1`` is ``[edges[i], edges[i + 1])``, the outer bins open-ended; a single
        edge means one bin; empty when the column was all missing). ``"value"`` fields:
        None.
    cardinalities_ : ndarray of shape (n_features_in_,), dtype int64
        Number of codes of each field, the reserved code 0 included; 1 for value fields.
    value_fields_ : ndarray of shape (n_features_in_,), dtype bool
        True where the field holds a standardized value instead of a code.
    n_features_in_ : int
        Number of columns seen in fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of the columns seen in fit; defined only when X had string column names.

    See Also
    --------
    sklearn.preprocessing.OrdinalEncoder : Ordinal codes for categorical columns only.
    sklearn.preprocessing.KBinsDiscretizer : Bins for numeric columns.

    Notes
    -----
    ``transform`` matches DataFrame columns to ``feature_names_in_`` by name, so their
    order may differ from fit and extra columns are ignored; a missing column is an
    error. Output columns follow ``feature_names_in_``. The output dtype is int64, or
    float64 (codes stored as integral floats) when a field is a value field; with
    ``set_output(transform="pandas")`` code columns are int64 and value columns float64.

    Examples
    --------
    >>> import pandas as pd
    >>> from sklearn_deepfm.encoder import FieldEncoder
    >>> X = pd.DataFrame({"site": ["a", "b", "a", None], "clicks": [1, 5, 40, 3]})
    >>> encoder = FieldEncoder(numeric_encoding="log_square").fit(X)
    >>> encoder.categories_
    [array(['a', 'b', nan], dtype=object), array([ 1.,  2., 13.])]
    >>> encoder.cardinalities_
    array([4, 4])
    >>> encoder.transform(pd.DataFrame({"clicks": [40, 7], "site": ["b", None]}))
    array([[2, 3],
           [3, 0]])
    """

    _parameter_constraints: dict = {
        "categorical_features": [StrOptions({"auto"}), "array-like"],
        "numeric_encoding": [StrOptions({QUANTILE, LOG_SQUARE, VALUE})],
        "n_bins": [Interval(Integral, 2, None, closed="left")],
        "min_frequency": [
            Interval(Integral, 1, None, closed="left"),
            Interval(RealNotInt, 0, 1, closed="neither"),
            None,
        ],
        "max_categories": [Interval(Integral, 1, None, closed="left"), None],
    }

    def __init__(
        self,
        *,
        categorical_features="auto",
        numeric_encoding="quantile",
        n_bins=16,
        min_frequency=None,
        max_categories=None,
    ):
        self.categorical_features = categorical_features
        self.numeric_encoding = numeric_encoding
        self.n_bins = n_bins
        self.min_frequency = min_frequency
        self.max_categories = max_categories

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Learn the categories, bins or scales of every column.

        Parameters
        ----------
        X : {DataFrame, array-like} of shape (n_samples, n_features)
            The data. DataFrame columns keep their own dtypes.
        y : None
            Ignored.

        Returns
        -------
        self : FieldEncoder
            The fitted encoder.
        """
        self._fit(X)
        for name in ("_streams", "_pending"):  # a later partial_fit starts anew
            vars(self).pop(name, None)
        return self

    def transform(self, X):
        """Encode X: one code (or standardized value) per row and fitted column.

        Parameters
        ----------
        X : {DataFrame, array-like} of shape (n_samples, n_features)
            The data. DataFrame columns are matched to ``feature_names_in_`` by name;
            extra columns are ignored.

        Returns
        -------
        X_out : ndarray of shape (n_samples, n_features_in_)
            int64 codes, or float64 when some field is a value field; a DataFrame with
            int64 code columns and float64 value columns under pandas output.
        """
        check_is_fitted(self)
        columns, index = self._columns_for_transform(X)
        dtype = np.float64 if self.value_fields_.any() else np.int64
        out = np.empty((len(index), self.n_features_in_), dtype=dtype)
        few = len(index) <= _lookup.MAX_ROWS
        for j, values in enumerate(columns):
            codes = self._lookup_column(j, values) if few else None
            if codes is None:
                if not isinstance(values, np.ndarray | pd.Series):  # a pandas array
                    values = pd.Series(values, copy=False)
                codes = self._encode_column(j, values)
            out[:, j] = codes
        return self._finish_output(out, index)

    def inverse_transform(self, X):
        """Map codes back to categories, bins and values.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features_in_)
            Output of :meth:`transform`.

        Returns
        -------
        X_original : ndarray of shape (n_samples, n_features_in_), dtype object
            Categorical and ``"log_square"`` fields: the category (NaN for the missing
            code, None for code 0). ``"quantile"`` fields: the bin as a
            :class:`pandas.Interval` closed on the left (open-ended outer bins), NaN for
            the missing code, None for code 0. Value fields: the de-standardized value.
        """
        check_is_fitted(self)
        X = check_array(X, dtype=np.float64, ensure_min_samples=0, input_name="X")
        if X.shape[1] != self.n_features_in_:
            raise ValueError(
                f"FieldEncoder.inverse_transform expects {self.n_features_in_} columns, one "
                f"per field; got X of shape {X.shape}."
            )
        out = np.empty(X.shape, dtype=object)
        for j, kind in enumerate(self._kinds):
            if kind == VALUE:
                out[:, j] = X[:, j] * self._scales[j] + self._means[j]
                continue
            codes = X[:, j]
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
            out[:, j] = meanings[codes.astype(np.intp)]
        return out

    def get_feature_names_out(self, input_features=None):
        """Names of the output fields: the input column names.

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Input names; defaults to ``feature_names_in_``, or ``x0, x1, ...``.

        Returns
        -------
        feature_names_out : ndarray of str objects
            One name per field.
        """
        check_is_fitted(self, "n_features_in_")
        return _check_feature_names_in(self, input_features)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.categorical = True
        tags.input_tags.allow_nan = True
        tags.transformer_tags.preserves_dtype = []  # codes are int64 whatever the input
        return tags

    def __getstate__(self):
        # the look-up tables are a cache as large as the vocabularies: rebuilt on demand
        return {k: v for k, v in super().__getstate__().items() if k != "_tables"}

    # fit ----------------------------------------------------------------------------

    def _fit(self, X):
        for j, values in enumerate(self._start_fit(X)):
            self._fit_column(j, values)

    def _start_fit(self, X):
        """Validate ``X`` anew and decide each field's kind; return X's columns."""
        if isinstance(X, pd.DataFrame):
            validate_data(self, X, skip_check_array=True, reset=True)
            if X.shape[0] == 0 or X.shape[1] == 0:
                raise ValueError(
                    f"FieldEncoder needs at least 1 row and 1 column to fit; found a "
                    f"DataFrame with {X.shape[0]} sample(s) and {X.shape[1]} feature(s) "
                    f"(shape={X.shape}) while a minimum of 1 is required."
                )
            columns = [X.iloc[:, j] for j in range(X.shape[1])]
        else:
            X = _encode.as_object_if_text(
                validate_data(self, X, dtype=None, ensure_all_finite=False, reset=True)
            )
            columns = [X[:, j] for j in range(X.shape[1])]
        categorical = _encode.categorical_mask(self.categorical_features, X)
        n_features = len(columns)
        self._kinds = [CATEGORICAL if c else self.numeric_encoding for c in categorical]
        self.value_fields_ = np.array([kind == VALUE for kind in self._kinds])
        self._init_fitted_state(n_features)
        return columns

    def _init_fitted_state(self, n_features):
        self.categories_ = [None] * n_features
        self.cardinalities_ = np.ones(n_features, dtype=np.int64)
        self._missing_codes = np.zeros(n_features, dtype=np.int64)
        self._known = [None] * n_features  # vocabulary fields: known values as an index
        self._tables = {}  # vocabulary fields: dicts value -> code, built by _table
        self._means = np.zeros(n_features)
        self._scales = np.ones(n_features)

    def _fit_column(self, j, values):
        """Set ``categories_[j]``, ``cardinalities_[j]`` and the private state of field j."""
        kind, label = self._kinds[j], self._label(j)
        if kind == CATEGORICAL:
            self._fit_vocabulary(j, *_encode.count_values(values, label), dtype=object)
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

    def _fit_vocabulary(self, j, uniques, counts, n_missing, order, *, dtype):
        known, missing_code = _encode.fit_vocabulary(
            uniques,
            counts,
            n_missing,
            order,
            min_frequency=self.min_frequency,
            max_categories=self.max_categories,
        )
        # a list lets pandas infer a dtype (int64, str, ...) that makes lookups fast; the
        # index keeps its hash table between transform calls
        self._known[j] = pd.Index(known.tolist(), tupleize_cols=False)
        categories = np.asarray(known, dtype=dtype)
        if missing_code:
            categories = np.append(categories, np.array([np.nan], dtype=dtype))
        self.categories_[j] = categories
        self._missing_codes[j] = missing_code
        self.cardinalities_[j] = len(categories) + 1

    # transform ----------------------------------------------------------------------

    def _columns_for_transform(self, X):
        """Return the fitted columns of X in fit order, and X's row index."""
        fitted = getattr(self, "feature_names_in_", None)
        if isinstance(X, pd.DataFrame) and fitted is not None:
            # the fitted columns in fit order pass sklearn's name checks: skip them
            if X.columns.tolist() == fitted.tolist() or _get_feature_names(X) is not None:
                return _encode.columns_by_name(X, fitted), X.index
        if isinstance(X, pd.DataFrame):
            validate_data(self, X, skip_check_array=True, reset=False)
            return [X.iloc[:, j] for j in range(X.shape[1])], X.index
        X = _encode.as_object_if_text(
            check_array(X, dtype=None, ensure_all_finite=False, ensure_min_samples=0)
        )
        validate_data(self, X, skip_check_array=True, reset=False)
        return [X[:, j] for j in range(X.shape[1])], pd.RangeIndex(X.shape[0])

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

    def _finish_output(self, out, index):
        """Return ``out``, as a DataFrame with per-field dtypes under mixed pandas output."""
        mixed = self.value_fields_.any() and not self.value_fields_.all()
        if not mixed or _get_output_config("transform", self)["dense"] != "pandas":
            return out
        data = {
            j: out[:, j] if self.value_fields_[j] else out[:, j].astype(np.int64)
            for j in range(out.shape[1])
        }
        return pd.DataFrame(data, index=index)  # set_output renames the columns

    def _label(self, j):
        """How error messages name column ``j``."""
        if hasattr(self, "feature_names_in_"):
            return repr(self.feature_names_in_[j])
        return str(j)
