"""The fields of a table, one per column: made from X and the parameters, or from a file.

``new_fields`` is the one place that decides a column's kind; ``restore_fields``
rebuilds the fields that ``FieldEncoder._get_fitted_state`` described, refusing a
description that contradicts itself or the parameters.
"""

import pandas as pd

from . import _columns
from ._field import CATEGORICAL, LOG_SQUARE, MULTI_VALUED, QUANTILE
from ._multi_valued import MultiValuedField
from ._numeric import QuantileField, ValueField
from ._vocabulary import CategoricalField, LogSquareField

# The field class of each kind, as the model file names it.
FIELD_TYPES = {
    cls.kind: cls
    for cls in (CategoricalField, QuantileField, LogSquareField, ValueField, MultiValuedField)
}


def new_fields(
    X,
    labels,
    *,
    categorical_features,
    numeric_encoding,
    n_bins,
    min_frequency,
    max_categories,
    multi_valued,
    max_len,
):
    """Return one unfitted field per column of ``X``, as ``FieldEncoder``'s parameters ask.

    A column in ``multi_valued`` is multi-valued, listed as categorical or not; else
    categorical following ``categorical_features`` and the dtypes; else numeric,
    following ``numeric_encoding``. ``labels`` name the columns in errors.
    """
    categorical = _columns.categorical_mask(categorical_features, X)
    names = list(X.columns) if isinstance(X, pd.DataFrame) else []
    # column position -> separator of the multi-valued fields
    separators = _columns.declared_columns(multi_valued, names, len(labels))
    vocabulary = {"min_frequency": min_frequency, "max_categories": max_categories}
    fields = []
    for j, label in enumerate(labels):
        if j in separators:
            field = MultiValuedField(label, separator=separators[j], max_len=max_len, **vocabulary)
        elif categorical[j]:
            field = CategoricalField(label, **vocabulary)
        elif numeric_encoding == QUANTILE:
            field = QuantileField(label, n_bins=n_bins)
        elif numeric_encoding == LOG_SQUARE:
            field = LogSquareField(label, **vocabulary)
        else:
            field = ValueField(label)
        fields.append(field)
    return fields


def restore_fields(states, names, labels, *, numeric_encoding, multi_valued, max_len):
    """Return the fields that ``states`` describe, one dict per field as saved.

    ``names`` are the saved column names (None for none), ``labels`` how errors name
    the columns. Raises ValueError when a description is inconsistent or contradicts
    ``numeric_encoding``, ``multi_valued`` or ``max_len``.
    """
    for key, what in (("cardinality", "cardinality"), ("missing_code", "missing code")):
        if not all(type(state[key]) is int and state[key] >= 0 for state in states):
            raise ValueError(f"each {what} must be a non-negative int.")
    declared = _columns.declared_columns(multi_valued, names or [], len(states))
    fields = []
    for j, (state, label) in enumerate(zip(states, labels, strict=True)):
        kind = state["kind"]
        if (j in declared) != (kind == MULTI_VALUED):
            raise ValueError(
                f"field {j} has kind {kind!r}, which contradicts multi_valued={multi_valued!r}."
            )
        if kind not in (CATEGORICAL, numeric_encoding, MULTI_VALUED) or kind not in FIELD_TYPES:
            raise ValueError(
                f"field {j} has kind {kind!r}, impossible with "
                f"numeric_encoding={numeric_encoding!r}."
            )
        field = FIELD_TYPES[kind].from_state(state, j, label)
        if field.has_slots and (
            field.separator != declared[j] or max_len not in (None, field.width)
        ):
            raise ValueError(
                f"the multi_valued field {j} ({state['name']!r}) has the separator "
                f"{field.separator!r} and width {field.width}, which contradict "
                f"multi_valued={multi_valued!r} and max_len={max_len!r}."
            )
        fields.append(field)
    return fields
