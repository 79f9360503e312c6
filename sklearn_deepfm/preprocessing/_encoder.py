"""FieldEncoder: turn each column of a table into one integer field index per row."""

import warnings
from numbers import Integral

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_array, check_is_fitted, validate_data

from .. import _slots
from .._sklearn import (
    Interval,
    RealNotInt,
    StrOptions,
    check_feature_names_in,
    fit_context,
    get_feature_names,
    get_output_config,
)
from . import _encode, _lookup, _multi_valued
from ._encode import CATEGORICAL, LOG_SQUARE, MULTI_VALUED, QUANTILE, VALUE
from ._encoder_fields import EncoderFieldsMixin
from ._encoder_state import EncoderStateMixin
from ._streaming import StreamingFitMixin


class FieldEncoder(
    StreamingFitMixin, EncoderStateMixin, EncoderFieldsMixin, TransformerMixin, BaseEstimator
):
    """Encode each column as one integer field index, the input of a DeepFM model.

    Every field reserves code 0 for values it cannot name: values never seen in fit,
    values dropped by ``min_frequency`` or ``max_categories``, and missing values when
    none were seen in fit (a multi-valued field reserves code 1, its code 0 padding
    the slots). So every code of field ``f`` is a valid row of an embedding table
    with ``cardinalities_[f]`` rows.

    - Categorical columns: the known categories get codes ``1..n`` sorted by value
      (values of mixed types sort by type name, then value), and missing values
      (NaN, None, ``pd.NA``, ``NaT``), when seen in fit, get the last code ``n + 1``:
      in click data, "missing" carries signal.
    - Numeric columns are binned or kept as a value, following ``numeric_encoding``.
    - Multi-valued columns (``multi_valued``), a list of values per row such as a
      movie's genres, take ``width`` output columns, their *slots*: slot ``i`` holds
      the code of the list's ``i``-th value, slots past the list's end the padding
      code 0. The known values get codes ``2..n + 1`` sorted by value, values not
      known from fit code 1, and missing values inside lists, when seen in fit,
      ``n + 2``. A missing cell, an empty list and an empty string are lists of
      no values.

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
        (strings that parse as numbers are accepted). A column in ``multi_valued`` is
        multi-valued whether or not it is listed here.
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
        category. In a multi-valued field a value counts once per occurrence in all
        lists (a value twice in one list counts twice), and a float asks for at least
        ``min_frequency * n_samples`` occurrences: about the fraction of rows whose
        list holds the value. Rare values get code 1.
    max_categories : int, default=None
        Keep at most ``max_categories`` categories per field (the most frequent, ties
        going to the one that sorts first); the others get code 0. Unlike
        :class:`~sklearn.preprocessing.OrdinalEncoder`, the count does not include the
        code for the others: a field has at most ``max_categories + 1`` codes. A
        multi-valued field keeps the ``max_categories`` most frequent values (counted
        as for ``min_frequency``); the others get code 1.
    multi_valued : dict, list or None, default=None
        The multi-valued columns. A dict maps a column name (str) or position (int) to
        the separator of its values (a non-empty str: cells are strings such as
        MovieLens' ``"Action|Comedy"``, split at every separator, each value kept as
        written, so ``"a||b"`` holds ``""``), or to None (cells are lists, tuples,
        1-d numpy arrays or Arrow lists). A list names columns whose cells are
        list-likes. Values inside a list may repeat (each occurrence takes a slot) and
        may be missing (None, NaN, ``pd.NA``).
    max_len : int or None, default=None
        The width (number of slots) of every multi-valued field; None: the longest list
        seen in fit (at least 1). A longer list keeps its *first* ``max_len`` values
        (in fit too, so the dropped ones count for nothing); ``fit``, ``partial_fit``
        and ``transform`` warn (``UserWarning``) naming the column and how many rows
        they cut.

    Attributes
    ----------
    categories_ : list of ndarray or None
        One entry per input column. Categorical fields: object array of the known
        categories, ``categories_[f][i]`` having code ``i + 1``, with NaN last when
        missing values have a code. Multi-valued fields: the same, ``categories_[f][i]``
        having code ``i + 2``. ``"log_square"`` fields: the same with the float64
        bin numbers. ``"quantile"`` fields: the float64 distinct quantile edges (bin
        ``i + 1`` is ``[edges[i], edges[i + 1])``, the outer bins open-ended; a single
        edge means one bin; empty when the column was all missing). ``"value"`` fields:
        None.
    cardinalities_ : ndarray of shape (n_features_in_,), dtype int64
        Number of codes of each field, the reserved code 0 included; 1 for value fields.
        For a multi-valued field, ``n + 2`` (``+ 1`` with a missing code).
    value_fields_ : ndarray of shape (n_features_in_,), dtype bool
        True where the field holds a standardized value instead of a code.
    field_slices_ : list of slice
        One per input column: the output columns of its field, ``slice(k, k + 1)``
        for a plain field and ``width`` columns for a multi-valued one.
    n_truncated_ : ndarray of shape (n_features_in_,), dtype int64
        How many rows of each multi-valued field fit cut to ``max_len`` values; 0 for
        the other fields.
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

    With a multi-valued field, ``transform`` returns a DataFrame even by default, its
    columns named as :meth:`get_feature_names_out` names them (``genres[0]``,
    ``genres[1]``, ...) and indexed like X: the next step of a Pipeline, a model,
    groups the slots back into one field by these names, which an array would lose.
    ``set_output`` chooses another container, which carries the names too.

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

    A multi-valued column, its values joined by ``"|"``:

    >>> movies = pd.DataFrame({"genres": ["Comedy|Drama", "Drama", None]})
    >>> FieldEncoder(multi_valued={"genres": "|"}).fit_transform(movies)
       genres[0]  genres[1]
    0          2          3
    1          3          0
    2          0          0
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
        "multi_valued": [dict, "array-like", None],
        "max_len": [Interval(Integral, 1, None, closed="left"), None],
    }

    def __init__(
        self,
        *,
        categorical_features="auto",
        numeric_encoding="quantile",
        n_bins=16,
        min_frequency=None,
        max_categories=None,
        multi_valued=None,
        max_len=None,
    ):
        self.categorical_features = categorical_features
        self.numeric_encoding = numeric_encoding
        self.n_bins = n_bins
        self.min_frequency = min_frequency
        self.max_categories = max_categories
        self.multi_valued = multi_valued
        self.max_len = max_len

    @fit_context(prefer_skip_nested_validation=True)
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

    def fit_transform(self, X, y=None):
        """Fit to ``X``, then encode it; lists cut to ``max_len`` are reported once.

        Parameters
        ----------
        X : {DataFrame, array-like} of shape (n_samples, n_features)
            The data.
        y : None
            Ignored.

        Returns
        -------
        codes : ndarray or DataFrame
            As :meth:`transform` returns them.
        """
        self.fit(X, y)
        with warnings.catch_warnings():
            # fit has just warned of these very lists: transform's warning would repeat it
            warnings.filterwarnings("ignore", "FieldEncoder.transform: ", UserWarning)
            return self.transform(X)

    def transform(self, X):
        """Encode X: one code (or standardized value) per row and fitted column.

        Parameters
        ----------
        X : {DataFrame, array-like} of shape (n_samples, n_features)
            The data. DataFrame columns are matched to ``feature_names_in_`` by name;
            extra columns are ignored.

        Returns
        -------
        X_out : ndarray or DataFrame of shape (n_samples, n_features_out)
            int64 codes, or float64 when some field is a value field; a DataFrame with
            int64 code columns and float64 value columns under pandas output, and
            always with a multi-valued field. One column per field, ``width`` for a
            multi-valued one (see ``field_slices_``).
        """
        check_is_fitted(self)
        columns, index = self._columns_for_transform(X)
        dtype = np.float64 if self.value_fields_.any() else np.int64
        slices = self.field_slices_
        out = np.empty((len(index), slices[-1].stop), dtype=dtype)
        few = len(index) <= _lookup.MAX_ROWS
        for j, values in enumerate(columns):
            if self._kinds[j] == MULTI_VALUED:
                out[:, slices[j]] = self._encode_slots(j, values, few)
                continue
            codes = self._lookup_column(j, values) if few else None
            if codes is None:
                if not isinstance(values, np.ndarray | pd.Series):  # a pandas array
                    values = pd.Series(values, copy=False)
                codes = self._encode_column(j, values)
            out[:, slices[j].start] = codes
        return self._finish_output(out, index)

    def inverse_transform(self, X):
        """Map codes back to categories, bins and values.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features_out)
            Output of :meth:`transform`.

        Returns
        -------
        X_original : ndarray of shape (n_samples, n_features_in_), dtype object
            Categorical and ``"log_square"`` fields: the category (NaN for the missing
            code, None for code 0). ``"quantile"`` fields: the bin as a
            :class:`pandas.Interval` closed on the left (open-ended outer bins), NaN for
            the missing code, None for code 0. Value fields: the de-standardized value.
            Multi-valued fields: a list of the row's values, padding skipped, None for
            the unknown code 1 and NaN for the missing code.
        """
        check_is_fitted(self)
        X = check_array(X, dtype=np.float64, ensure_min_samples=0, input_name="X")
        slices = self.field_slices_
        if X.shape[1] != slices[-1].stop:
            slots = " (width columns for a multi-valued one)" if self._separators else ""
            raise ValueError(
                f"FieldEncoder.inverse_transform expects {slices[-1].stop} columns, one "
                f"per field{slots}; got X of shape {X.shape}."
            )
        out = np.empty((X.shape[0], self.n_features_in_), dtype=object)
        for j, kind in enumerate(self._kinds):
            field = slices[j] if kind == MULTI_VALUED else slices[j].start  # slots, or a column
            out[:, j] = self._decode_column(j, X[:, field])
        return out

    def get_feature_names_out(self, input_features=None):
        """Names of the output columns: the input column names, and slots' names.

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Input names; defaults to ``feature_names_in_``, or ``x0, x1, ...``.

        Returns
        -------
        feature_names_out : ndarray of str objects
            One name per field, and for a multi-valued field ``name`` of width ``w``
            the names of its slots, ``name[0]`` to ``name[w - 1]``.
        """
        check_is_fitted(self, "n_features_in_")
        names = check_feature_names_in(self, input_features)
        if not self._separators:
            return names
        out = []
        for j, name in enumerate(names.tolist()):
            if j in self._separators:
                out.extend(_slots.slot_names(name, self._widths[j]))
            else:
                out.append(name)
        return np.asarray(out, dtype=object)

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
        self._set_field_slices()

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
        names = list(X.columns) if isinstance(X, pd.DataFrame) else []
        # column position -> separator of the multi-valued fields
        self._separators = _multi_valued.declared_columns(self.multi_valued, names, n_features)
        self._kinds = [
            MULTI_VALUED if j in self._separators else CATEGORICAL if c else self.numeric_encoding
            for j, c in enumerate(categorical)
        ]
        self.value_fields_ = np.array([kind == VALUE for kind in self._kinds])
        self._init_fitted_state(n_features)
        return columns

    # transform ----------------------------------------------------------------------

    def _columns_for_transform(self, X):
        """Return the fitted columns of X in fit order, and X's row index."""
        fitted = getattr(self, "feature_names_in_", None)
        if isinstance(X, pd.DataFrame) and fitted is not None:
            # the fitted columns in fit order pass sklearn's name checks: skip them
            if X.columns.tolist() == fitted.tolist() or get_feature_names(X) is not None:
                return _encode.columns_by_name(X, fitted), X.index
        if isinstance(X, pd.DataFrame):
            validate_data(self, X, skip_check_array=True, reset=False)
            return [X.iloc[:, j] for j in range(X.shape[1])], X.index
        X = _encode.as_object_if_text(
            check_array(X, dtype=None, ensure_all_finite=False, ensure_min_samples=0)
        )
        validate_data(self, X, skip_check_array=True, reset=False)
        return [X[:, j] for j in range(X.shape[1])], pd.RangeIndex(X.shape[0])

    def _finish_output(self, out, index):
        """Return ``out``, as a DataFrame with per-field dtypes under mixed pandas output.

        With a multi-valued field, a DataFrame of named columns under default output.
        """
        dense = get_output_config("transform", self)["dense"]
        named = bool(self._separators) and dense == "default"
        mixed = self.value_fields_.any() and not self.value_fields_.all()
        if not named and (not mixed or dense != "pandas"):
            return out
        value_columns = self.value_fields_[_slots.column_fields(self.field_slices_, out.shape[1])]
        if value_columns.all() or not value_columns.any():
            frame = pd.DataFrame(out, index=index, copy=False)
        else:
            data = {
                k: out[:, k] if value_columns[k] else out[:, k].astype(np.int64)
                for k in range(out.shape[1])
            }
            frame = pd.DataFrame(data, index=index)
        if named:  # else set_output renames the columns
            frame.columns = self._output_columns()
        return frame

    def _output_columns(self):
        """Return the output's column names as an Index, built once.

        Building it (pandas infers the names' string dtype) costs more than the rest of
        a one-row transform.
        """
        columns = self.__dict__.get("_columns_out")
        if columns is None:
            columns = self._columns_out = pd.Index(self.get_feature_names_out())
        return columns

    def _label(self, j):
        """How error messages name column ``j``."""
        if hasattr(self, "feature_names_in_"):
            return repr(self.feature_names_in_[j])
        return str(j)
