"""The fields of a table, one per column: made from X and the parameters, or from a file.

``new_fields`` is the one place that decides a column's kind; ``restore_fields``
rebuilds the fields that ``FieldEncoder._get_fitted_state`` described, refusing a
description that contradicts itself or the parameters.
"""

from numbers import Integral

import pandas as pd

from . import _columns
from ._field import CATEGORICAL, HASHED, LOG_SQUARE, MULTI_VALUED, QUANTILE, VALUE
from ._hashed import HashedField
from ._multi_valued import MultiValuedField
from ._numeric import QuantileField, ValueField
from ._vocabulary import CategoricalField, LogSquareField

# The field class of each kind, as the model file names it.
FIELD_TYPES = {
    cls.kind: cls
    for cls in (
        CategoricalField,
        QuantileField,
        LogSquareField,
        ValueField,
        MultiValuedField,
        HashedField,
    )
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
    warm_start,
    hash_buckets,
):
    """Return one unfitted field per column of ``X``, as ``FieldEncoder``'s parameters ask.

    A column in ``multi_valued`` is multi-valued, listed as categorical or not; else
    categorical following ``categorical_features`` and the dtypes, and hashed when
    ``hash_buckets`` asks; else numeric, following ``numeric_encoding``. ``labels``
    name the columns in errors. With ``warm_start``, vocabularies keep the counts of
    the values they leave out.
    """
    categorical = _columns.categorical_mask(categorical_features, X)
    names = list(X.columns) if isinstance(X, pd.DataFrame) else []
    # column position -> separator of the multi-valued fields
    separators = _columns.declared_columns(multi_valued, names, len(labels))
    buckets = declared_buckets(hash_buckets, names, len(labels))
    vocabulary = {
        "min_frequency": min_frequency,
        "max_categories": max_categories,
        "keep_counts": warm_start,
    }
    fields = []
    for j, label in enumerate(labels):
        if j in separators:
            field = MultiValuedField(label, separator=separators[j], max_len=max_len, **vocabulary)
        elif categorical[j] and isinstance(hash_buckets, Integral):
            field = HashedField(label, n_buckets=int(hash_buckets))
        elif categorical[j] and j in buckets:
            field = HashedField(label, n_buckets=buckets[j])
        elif categorical[j]:
            field = CategoricalField(label, **vocabulary)
        elif numeric_encoding == QUANTILE:
            field = QuantileField(label, n_bins=n_bins)
        elif numeric_encoding == LOG_SQUARE:
            field = LogSquareField(label, **vocabulary)
        else:
            field = ValueField(label)
        if j in buckets and field.kind != HASHED:
            _refuse_hashing(label, field.kind, numeric_encoding)
        fields.append(field)
    return fields


def declared_buckets(hash_buckets, names, n_features):
    """Resolve a dict ``hash_buckets``: column position -> number of buckets; {} otherwise.

    Examples
    --------
    >>> declared_buckets({"site": 1000, 0: 8}, ["user", "site"], 2)
    {1: 1000, 0: 8}
    """
    if not isinstance(hash_buckets, dict):
        return {}
    declared = {}
    for entry, n_buckets in hash_buckets.items():
        j = _columns.column_position(entry, names, n_features, "hash_buckets")
        if not isinstance(n_buckets, Integral) or isinstance(n_buckets, bool) or n_buckets < 1:
            raise ValueError(
                f"hash_buckets maps the column {entry!r} to {n_buckets!r}, but a number of "
                "buckets must be an int >= 1. Pass e.g. {'site': 100_000}."
            )
        if j in declared:
            raise ValueError(
                f"hash_buckets names column {j} twice (as {entry!r} and another key). "
                "Name each column once."
            )
        declared[j] = int(n_buckets)
    return declared


def _refuse_hashing(label, kind, numeric_encoding):
    what = {
        MULTI_VALUED: "multi-valued, which keeps a vocabulary of its values",
        QUANTILE: f"numeric and encoded as {numeric_encoding} bins",
        LOG_SQUARE: f"numeric and encoded as {numeric_encoding} bins",
        VALUE: "numeric and encoded as its standardized value",
    }[kind]
    raise ValueError(
        f"hash_buckets names the column {label}, which is {what}; only categorical "
        "columns are hashed. Drop it from hash_buckets, or list it in categorical_features "
        "to hash its values."
    )


def restore_fields(states, names, labels, *, numeric_encoding, multi_valued, max_len, hash_buckets):
    """Return the fields that ``states`` describe, one dict per field as saved.

    ``names`` are the saved column names (None for none), ``labels`` how errors name
    the columns. Raises ValueError when a description is inconsistent or contradicts
    ``numeric_encoding``, ``multi_valued``, ``max_len`` or ``hash_buckets``.
    """
    for key, what in (("cardinality", "cardinality"), ("missing_code", "missing code")):
        if not all(type(state[key]) is int and state[key] >= 0 for state in states):
            raise ValueError(f"each {what} must be a non-negative int.")
    declared = _columns.declared_columns(multi_valued, names or [], len(states))
    buckets = declared_buckets(hash_buckets, names or [], len(states))
    fields = []
    for j, (state, label) in enumerate(zip(states, labels, strict=True)):
        kind = state["kind"]
        if (j in declared) != (kind == MULTI_VALUED):
            raise ValueError(
                f"field {j} has kind {kind!r}, which contradicts multi_valued={multi_valued!r}."
            )
        if kind not in (CATEGORICAL, numeric_encoding, MULTI_VALUED, HASHED) or (
            kind not in FIELD_TYPES
        ):
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
        expected = hash_buckets if isinstance(hash_buckets, Integral) else buckets.get(j)
        if (kind == CATEGORICAL and expected is not None) or (
            kind == HASHED and field.n_buckets != expected
        ):
            raise ValueError(
                f"field {j} ({state['name']!r}) has kind {kind!r}, which contradicts "
                f"hash_buckets={hash_buckets!r}."
            )
        fields.append(field)
    return fields
