"""FieldEncoder: turn each column of a table into one integer field index per row.

The encoder holds its parameters and public API, and loops over one field object per
column (``_fields.new_fields`` decides their kinds); each field owns its fit, partial
fit, warm start, codes, meanings and fitted state. ``_base`` keeps the fields over
their life, and answers what they mean (``inverse_transform``, output names).
"""

import warnings
from numbers import Integral

import numpy as np
from sklearn.utils.validation import check_is_fitted

from .._sklearn import Interval, RealNotInt, StrOptions, fit_context
from . import _columns, _lookup
from ._base import _BaseFieldEncoder
from ._field import LOG_SQUARE, MULTI_VALUED, QUANTILE, VALUE  # noqa: F401 (MULTI_VALUED: io)


class FieldEncoder(_BaseFieldEncoder):
    """Encode each column as one integer field index, the input of a DeepFM model.

    Every field reserves code 0 for values it cannot name: values never seen in fit,
    values dropped by ``min_frequency`` or ``max_categories``, and missing values when
    none were seen in fit (a multi-valued field reserves code 1, its code 0 padding
    the slots). So every code of field ``f`` is a valid row of an embedding table
    with ``cardinalities_[f]`` rows. (A hashed field, ``hash_buckets``, names every
    value: its code 0 is for missing values.)

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
        and the like (``_columns.ID_WORDS``), or ends in ``id`` (``userId``). So
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
    warm_start : bool, default=False
        When True, ``fit`` on a fitted encoder keeps every code and appends new ones,
        so that a network trained on the earlier codes stays valid (daily training on
        new logs). A categorical, ``"log_square"`` or multi-valued field appends,
        after all its codes, the values that now pass ``min_frequency`` counted over
        every fit (the encoder keeps the counts of the values it leaves out; a float
        is a fraction of the rows of every fit), sorted among themselves as a first fit
        sorts, missing values last; values that become rare keep their code.
        ``max_categories`` caps the whole vocabulary, a missing code included: a full
        field adds nothing, its new values keep code 0. Quantile edges, value fields'
        mean and scale, multi-valued widths and hashed fields are frozen at the first
        fit, as new ones would move the codes or values of earlier rows. X must hold
        the first fit's columns (any order), which the current parameters must make the
        same kinds of field; changed ``min_frequency`` and ``max_categories`` apply to
        what is added. The first fit, and any fit with ``warm_start=False``, learns
        anew. ``partial_fit`` ignores it (see there).
    hash_buckets : int, dict or None, default=None
        Hash categorical columns instead of counting their values: an int hashes every
        categorical column (not the multi-valued ones) into that many buckets, a dict
        ``{column: n_buckets}`` (names or positions) the columns it names; naming a
        numeric or multi-valued column is an error. The code is ``1 + h % n_buckets``
        and missing values get 0, so the field has ``n_buckets + 1`` codes whatever
        the data. ``h`` is stable across processes, platforms and versions: SipHash-2-4
        with the key ``"sklearn-deepfm/1"`` of the value's UTF-8 string, as
        :func:`pandas.util.hash_array` computes it. Strings hash as written whatever
        their storage, booleans as ``"0"`` and ``"1"``, integral numbers as their
        decimal integer (``5`` and ``5.0`` as ``"5"``, the code of the string
        ``"5"``), other numbers as Python's ``repr``. The trade-off: fixed memory, no
        vocabulary to count, keep or grow, and every value, unseen ones included, gets
        a trainable code; but colliding values share an embedding row (``n`` values
        give about ``n ** 2 / (2 * n_buckets)`` colliding pairs), ``min_frequency`` and
        ``max_categories`` do not apply, ``inverse_transform`` gives None for a bucket,
        :func:`~sklearn_deepfm.export_vocabularies` writes the hash rule instead of a
        vocabulary and ``export_onnx(raw=True)`` refuses the column.

    Attributes
    ----------
    categories_ : list of ndarray or None
        One entry per input column. Categorical fields: object array of the known
        categories, ``categories_[f][i]`` having code ``i + 1``, with NaN at the
        missing code when missing values have one (last after a first fit; a warm
        start appends after it). Multi-valued fields: the same, ``categories_[f][i]``
        having code ``i + 2``. ``"log_square"`` fields: the same with the float64
        bin numbers. ``"quantile"`` fields: the float64 distinct quantile edges (bin
        ``i + 1`` is ``[edges[i], edges[i + 1])``, the outer bins open-ended; a single
        edge means one bin; empty when the column was all missing). ``"value"`` and
        hashed fields: None.
    cardinalities_ : ndarray of shape (n_features_in_,), dtype int64
        Number of codes of each field, the reserved code 0 included; 1 for value fields.
        For a multi-valued field, ``n + 2`` (``+ 1`` with a missing code); for a hashed
        one, ``n_buckets + 1``.
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
    >>> from sklearn_deepfm import FieldEncoder
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

    A warm start keeps every code and appends the new values after them:

    >>> encoder = FieldEncoder(warm_start=True).fit(pd.DataFrame({"site": ["b", "a"]}))
    >>> encoder.fit(pd.DataFrame({"site": ["c", "a", "0"]})).categories_
    [array(['a', 'b', '0', 'c'], dtype=object)]
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
        "warm_start": ["boolean"],
        "hash_buckets": [Interval(Integral, 1, None, closed="left"), dict, None],
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
        warm_start=False,
        hash_buckets=None,
    ):
        self.categorical_features = categorical_features
        self.numeric_encoding = numeric_encoding
        self.n_bins = n_bins
        self.min_frequency = min_frequency
        self.max_categories = max_categories
        self.multi_valued = multi_valued
        self.max_len = max_len
        self.warm_start = warm_start
        self.hash_buckets = hash_buckets

    @fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Learn the categories, bins or scales of every column; or, warm, add codes.

        With ``warm_start=True`` and a fitted encoder, the fields keep their codes and
        append the values that now pass (see ``warm_start``).

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
        self._fit(X, partial=False)
        return self

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
        anew and sets the columns, whatever ``warm_start``; later chunks must hold
        the same columns. So chunks make one first fit; ``fit`` with
        ``warm_start=True`` then grows what they learned, keeping their codes.
        ``categories_``, ``cardinalities_``, ``field_slices_`` and ``n_truncated_``
        are computed when first read (or transform first runs) after a call.

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
        self._fit(X, partial=True)
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
        columns, index = _columns.transform_columns(self, X)
        fields = self._fitted_fields()
        dtype = np.float64 if self.value_fields_.any() else np.int64
        out = np.empty((len(index), self.field_slices_[-1].stop), dtype=dtype)
        few = len(index) <= _lookup.MAX_ROWS
        for field, values, place in zip(fields, columns, self.field_slices_, strict=True):
            out[:, field.output_index(place)] = field.transform(values, few)
        return self._finish_output(out, index)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.categorical = True
        tags.input_tags.allow_nan = True
        tags.transformer_tags.preserves_dtype = []  # codes are int64 whatever the input
        return tags
