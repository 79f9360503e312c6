"""``FieldEncoder``'s fields over their life, and the fitted attributes that show them.

``_BaseFieldEncoder`` holds every piece of fitted state: the fields (one object per
column, see ``_field``), made and fitted by ``fit``, grown by a warm ``fit``, added to
by ``partial_fit`` and finished when first read, saved and restored for model files;
the fitted attributes set from them; and what they mean (``inverse_transform``,
``get_feature_names_out``). ``FieldEncoder`` adds its parameters and the rest of its
public API.
"""

from functools import cached_property

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_array, check_is_fitted

from .. import _slots
from .._sklearn import check_feature_names_in, get_output_config
from . import _columns, _fields

# The fitted attributes that partial_fit leaves to compute when first read.
_PENDING = ("categories_", "cardinalities_", "field_slices_", "n_truncated_")


def _read_after_partial_fit(name):
    """Return a cached property that computes the fitted attribute ``name`` when read.

    It serves only while ``partial_fit`` leaves the attribute pending; as
    ``FieldEncoder`` documents the attribute, the property's doc points there.
    """

    def compute(encoder):
        return encoder._after_partial_fit(name)

    compute.__doc__ = f"``{name}``, as ``FieldEncoder`` documents it."
    return cached_property(compute)


class _BaseFieldEncoder(TransformerMixin, BaseEstimator):
    """The fields of ``FieldEncoder``: fitting them, finishing them, saving them.

    A subclass defines the parameters that ``_fields.new_fields`` reads.
    """

    # After partial_fit these fitted attributes are computed when first read; fit and
    # _set_fitted_state set them as plain attributes, which hide the cached properties.
    categories_ = _read_after_partial_fit("categories_")
    cardinalities_ = _read_after_partial_fit("cardinalities_")
    field_slices_ = _read_after_partial_fit("field_slices_")
    n_truncated_ = _read_after_partial_fit("n_truncated_")

    # fit ----------------------------------------------------------------------------

    def _fit(self, X, partial):
        """Fit the fields on ``X``, or (``partial``) add ``X`` to what they have seen."""
        if not partial and self.warm_start and "_fields" in vars(self):
            self._grow(X)
            return
        if partial and vars(self).get("_streaming"):
            columns, _ = _columns.transform_columns(self, X)
            fields = self._fields
        else:  # fit, or the first partial_fit (the first after fit): start anew
            X, columns = _columns.fit_columns(self, X)
            fields = _fields.new_fields(X, self._labels(), **self.get_params(deep=False))
        for field, values in zip(fields, columns, strict=True):
            if partial:
                field.partial_fit(values)
            else:
                field.fit(values)
        self._set_fields(fields, streaming=partial)

    def _grow(self, X):
        """Warm start: grow the fitted fields with ``X``, moving no code (see ``_growth``).

        The fields that the current parameters would make of ``X`` must be the fitted
        ones; theirs are the ``min_frequency`` and ``max_categories`` that apply.
        """
        fields = self._fitted_fields()  # finishes a pending partial_fit
        X, columns = _columns.fit_columns(self, X, reset=False)
        fresh = _fields.new_fields(X, self._labels(), **self.get_params(deep=False))
        # every column is read (and refused) before any field changes
        growths = [
            field.grow(values, new)
            for field, new, values in zip(fields, fresh, columns, strict=True)
        ]
        for grow in growths:
            grow()
        self._set_fields(fields)

    def _set_fields(self, fields, *, streaming=False):
        """Keep ``fields``: fitted, or (``streaming``) holding the summaries of partial_fit.

        ``partial_fit`` only counts: sorting the vocabularies after every chunk would
        cost about ten times the counting, so streaming fields finish when first read.
        """
        self._fields, self._streaming, self._pending = fields, streaming, streaming
        self.value_fields_ = np.array([field.is_value for field in fields])
        if streaming:  # the cached properties compute them
            for name in _PENDING:
                vars(self).pop(name, None)
        else:
            self._set_attributes()

    def _set_attributes(self):
        fields = self._fields
        self.categories_ = [field.categories for field in fields]
        self.cardinalities_ = np.array([field.cardinality for field in fields], dtype=np.int64)
        self.field_slices_ = _slots.slices_of([field.width for field in fields])
        self.n_truncated_ = np.array([field.n_truncated for field in fields], dtype=np.int64)
        self._columns_out = None  # the output's column names, built by _output_columns

    def _fitted_fields(self):
        """Return the fields, finishing the fit that ``partial_fit`` left pending."""
        if self._pending:
            for field in self._fields:
                field.finish_partial_fit()
            self._pending = False
            self._set_attributes()
        return self._fields

    def _after_partial_fit(self, name):
        """Return the fitted attribute ``name`` that a pending ``partial_fit`` left unset."""
        if "_fields" not in vars(self):
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        self._fitted_fields()
        return vars(self)[name]

    # what the fitted fields mean --------------------------------------------------

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
            the unknown code 1 and NaN for the missing code. Hashed fields: NaN for code
            0 (missing), None for a bucket, as a hash names no value.
        """
        check_is_fitted(self)
        X = check_array(X, dtype=np.float64, ensure_min_samples=0, input_name="X")
        fields, slices = self._fitted_fields(), self.field_slices_
        if X.shape[1] != slices[-1].stop:
            slotted = any(field.has_slots for field in fields)
            slots = " (width columns for a multi-valued one)" if slotted else ""
            raise ValueError(
                f"FieldEncoder.inverse_transform expects {slices[-1].stop} columns, one "
                f"per field{slots}; got X of shape {X.shape}."
            )
        out = np.empty((X.shape[0], self.n_features_in_), dtype=object)
        for j, (field, place) in enumerate(zip(fields, slices, strict=True)):
            out[:, j] = field.inverse_transform(X[:, field.output_index(place)])
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
        fields = self._fitted_fields()
        if not any(field.has_slots for field in fields):
            return names
        out = []
        for field, name in zip(fields, names.tolist(), strict=True):
            out.extend(field.output_names(name))
        return np.asarray(out, dtype=object)

    # fitted state (model files, export) ---------------------------------------------

    def _get_fitted_state(self):
        """Return the fitted state as plain Python values (see ``_set_fitted_state``).

        ``fields`` holds one dict per field: ``name``, ``kind``, ``cardinality``,
        ``missing_code`` and ``categories`` (vocabulary fields: the codes 1, 2, ... in
        order, skipping ``missing_code``, which a warm start may leave among them, see
        ``_encode.known_codes``; ``held``, the counts a warm start keeps), ``edges``
        (quantile), ``mean`` and ``scale`` (value) or ``n_buckets`` and ``hash_key``
        (hashed). Multi-valued fields: codes from 2, ``missing_code`` is the code of a
        missing value in a list (1, unknown, when fit saw none), and ``separator``,
        ``width`` and ``n_truncated`` follow.
        """
        check_is_fitted(self)
        names = getattr(self, "feature_names_in_", None)
        fields = zip(check_feature_names_in(self, None), self._fitted_fields(), strict=True)
        return {
            "n_features_in": int(self.n_features_in_),
            "feature_names_in": None if names is None else [str(n) for n in names],
            # set_output's own setting (None when never called), not the global config
            "output": getattr(self, "_sklearn_output_config", {}).get("transform"),
            "fields": [{"name": str(name), **field.get_state()} for name, field in fields],
        }

    def _set_fitted_state(self, state):
        """Restore what ``_get_fitted_state`` returned, refusing inconsistent fields."""
        n, names, fields = state["n_features_in"], state["feature_names_in"], state["fields"]
        if type(n) is not int or not isinstance(fields, list) or len(fields) != n:
            raise ValueError("the encoder must describe n_features_in fields.")
        if names is not None:
            if len(names) != n or not all(isinstance(name, str) for name in names):
                raise ValueError("feature_names_in_ must hold one str per feature.")
            self.feature_names_in_ = np.asarray(names, dtype=object)
        self.n_features_in_ = n
        fields = _fields.restore_fields(
            fields,
            names,
            self._labels(),
            numeric_encoding=self.numeric_encoding,
            multi_valued=self.multi_valued,
            max_len=self.max_len,
            hash_buckets=self.hash_buckets,
        )
        self._set_fields(fields)
        if state["output"] is not None:
            if state["output"] not in ("default", "pandas", "polars"):
                raise ValueError(f"unknown output container {state['output']!r}.")
            self.set_output(transform=state["output"])

    # transform ----------------------------------------------------------------------

    def _finish_output(self, out, index):
        """Return ``out``, as a DataFrame with per-field dtypes under mixed pandas output.

        With a multi-valued field, a DataFrame of named columns under default output.
        """
        dense = get_output_config("transform", self)["dense"]
        named = dense == "default" and any(field.has_slots for field in self._fields)
        mixed = self.value_fields_.any() and not self.value_fields_.all()
        if not named and (not mixed or dense != "pandas"):
            return out
        value_columns = self.value_fields_[_slots.column_fields(self.field_slices_, out.shape[1])]
        frame = _columns.output_frame(out, index, value_columns)
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

    def _labels(self):
        """How error messages name each column: its name, or its position."""
        names = getattr(self, "feature_names_in_", None)
        return [str(j) if names is None else repr(names[j]) for j in range(self.n_features_in_)]
