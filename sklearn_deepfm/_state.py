"""The JSON form of fitted state in model files: plain values, and FieldEncoder's fields.

``encode_value`` writes what JSON holds as is and tags the rest with one-key
objects (``$float``, ``$tuple``, ``$dict``, ``$array``, ``$random_state``,
``$tensor``); ``decode_value`` reads them back, building nothing but data:
numbers, strings, containers, numpy arrays of plain dtypes, ``RandomState``s and
tensors taken from the file's own safetensors. See ``persistence``.
"""

import math

import numpy as np
import pandas as pd
import torch

from . import _binning
from .encoder import _CATEGORICAL, _QUANTILE, _VALUE

ARRAY_KINDS = "biufUO"  # numpy dtype kinds a file may hold: no void, datetime or structured


def encode_scalar(value):
    """Write a str, bool, int or float as JSON, tagging non-finite floats."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return value if math.isfinite(value) else {"$float": repr(value)}
    if isinstance(value, str):
        return str(value)
    raise TypeError(type(value).__name__)


def decode_scalar(value):
    """Read a value written by ``encode_scalar`` (or None)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, dict) and value.get("$float") in ("nan", "inf", "-inf"):
        return float(value["$float"])
    raise ValueError(f"unknown value {value!r}")


def encode_value(value, where, tensors=None):
    """Write a value as JSON; tensors go to ``tensors[where]`` when it is given."""
    if value is None:
        return None
    if isinstance(value, (bool, int, float, str, np.generic)):
        try:
            return encode_scalar(value)
        except TypeError:
            pass
    elif isinstance(value, (list, tuple)):
        items = [encode_value(item, f"{where}/{i}", tensors) for i, item in enumerate(value)]
        return items if isinstance(value, list) else {"$tuple": items}
    elif isinstance(value, dict):
        items = [
            [encode_value(key, where), encode_value(item, f"{where}/{key}", tensors)]
            for key, item in value.items()
        ]
        return {"$dict": items}
    elif isinstance(value, torch.Tensor) and tensors is not None:
        tensors[where] = value.detach().cpu().contiguous()
        return {"$tensor": where}
    elif isinstance(value, torch.device):
        return str(value)
    elif isinstance(value, np.ndarray) and value.ndim == 1 and value.dtype.kind in ARRAY_KINDS:
        try:
            values = [encode_scalar(item) for item in value.tolist()]
        except TypeError:
            pass
        else:
            return {"$array": {"dtype": value.dtype.str, "values": values}}
    elif isinstance(value, np.random.RandomState):
        _, keys, pos, has_gauss, gauss = value.get_state()
        state = {"keys": keys.tolist(), "pos": pos, "has_gauss": has_gauss, "gauss": gauss}
        return {"$random_state": state}
    raise TypeError(
        f"Cannot save {where}={value!r}: a model file holds None, str, numbers, lists, "
        "tuples, dicts, 1-d arrays of numbers or str, RandomState and tensors, not this "
        f"{type(value).__name__}. Set a plain value, or use pickle or joblib."
    )


def decode_value(value, tensors=None):
    """Read a value written by ``encode_value``; ``$tensor`` names a tensor of ``tensors``."""
    if isinstance(value, list):
        return [decode_value(item, tensors) for item in value]
    if not isinstance(value, dict):
        return value
    if len(value) != 1:
        raise ValueError(f"unknown value {value!r}")
    ((tag, content),) = value.items()
    if tag == "$tuple":
        return tuple(decode_value(item, tensors) for item in expect(content, list, "a tuple"))
    if tag == "$dict":
        return {decode_scalar(key): decode_value(item, tensors) for key, item in content}
    if tag == "$tensor" and tensors is not None and content in tensors:
        return tensors[content]
    if tag == "$array":
        dtype = np.dtype(expect(content["dtype"], str, "a dtype"))
        if dtype.kind not in ARRAY_KINDS or dtype.fields is not None:
            raise ValueError(f"an array has the dtype {dtype}, which a model file cannot hold.")
        values = [decode_scalar(item) for item in expect(content["values"], list, "values")]
        array = np.empty(len(values), dtype=dtype)
        array[:] = values
        return array
    if tag == "$random_state":
        keys = np.array(content["keys"], dtype=np.uint32)
        if keys.shape != (624,):
            raise ValueError("a RandomState state has 624 keys.")
        state = (int(content["pos"]), int(content["has_gauss"]), float(content["gauss"]))
        random_state = np.random.RandomState()
        random_state.set_state(("MT19937", keys, *state))
        return random_state
    return decode_scalar(value)


def plain(value):
    """Return a history entry as JSON, non-finite numbers and unknown objects as None."""
    if isinstance(value, dict):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        value = value.item()
    try:
        plain = encode_scalar(value)
    except TypeError:
        return None
    return None if isinstance(plain, dict) else plain


# -- reading ---------------------------------------------------------------


def encoder_fields(encoder):
    """Describe each field of a fitted FieldEncoder with plain Python values.

    With :func:`set_encoder_fields`, the one place that reads and writes the
    encoder's private state (shared with ``export.export_vocabularies``).
    """
    names = encoder.get_feature_names_out()
    fields = []
    for j, kind in enumerate(encoder._kinds):
        field = {
            "name": str(names[j]),
            "kind": kind,
            "cardinality": int(encoder.cardinalities_[j]),
            "missing_code": int(encoder._missing_codes[j]),
        }
        if kind == _QUANTILE:
            field["edges"] = encoder.categories_[j].tolist()
        elif kind == _VALUE:
            field["mean"] = float(encoder._means[j])
            field["scale"] = float(encoder._scales[j])
        else:  # categories_ ends with NaN when missing values have a code
            n_known = len(encoder.categories_[j]) - bool(field["missing_code"])
            field["categories"] = encoder.categories_[j][:n_known].tolist()
        fields.append(field)
    return fields


def encode_category(value, field):
    try:
        return encode_scalar(value)
    except TypeError:
        raise TypeError(
            f"Cannot save the category {value!r} of column {field!r}: a model file holds "
            f"str, int, float and bool categories, not {type(value).__name__}. Convert the "
            "column (e.g. to str) before fitting, or use pickle or joblib."
        ) from None


def set_encoder_fields(encoder, fields):
    """Restore the fitted state of FieldEncoder that ``transform`` reads, field by field."""
    if not isinstance(fields, list) or len(fields) != encoder.n_features_in_:
        raise ValueError(f"the encoder must describe {encoder.n_features_in_} fields.")
    n = len(fields)
    encoder._kinds = [field["kind"] for field in fields]
    encoder.value_fields_ = np.array([kind == _VALUE for kind in encoder._kinds])
    encoder.categories_ = [None] * n
    encoder.cardinalities_ = int_array([field["cardinality"] for field in fields], "cardinality")
    encoder._missing_codes = int_array([field["missing_code"] for field in fields], "missing code")
    encoder._known = [None] * n
    encoder._means = np.zeros(n)
    encoder._scales = np.ones(n)
    for j, field in enumerate(fields):
        kind, missing = field["kind"], encoder._missing_codes[j]
        if kind not in (_CATEGORICAL, encoder.numeric_encoding):
            raise ValueError(
                f"field {j} has kind {kind!r}, impossible with "
                f"numeric_encoding={encoder.numeric_encoding!r}."
            )
        if kind == _VALUE:
            encoder._means[j], encoder._scales[j] = float(field["mean"]), float(field["scale"])
            n_codes, valid_missing = 1, (0,)
            valid = math.isfinite(encoder._means[j]) and 0 < encoder._scales[j] < math.inf
        elif kind == _QUANTILE:
            edges = np.array([float(edge) for edge in field["edges"]], dtype=np.float64)
            n_bins = _binning.n_quantile_bins(edges)
            encoder.categories_[j] = edges
            n_codes, valid_missing = n_bins + 1, (0, n_bins + 1)
            valid = np.isfinite(edges).all() and (np.diff(edges) > 0).all()
        else:  # categorical or log_square, as FieldEncoder._fit_vocabulary builds them
            known = [decode_scalar(value) for value in field["categories"]]
            encoder._known[j] = pd.Index(known, tupleize_cols=False)
            dtype = object if kind == _CATEGORICAL else np.float64
            categories = np.empty(len(known) + bool(missing), dtype=dtype)
            categories[: len(known)] = known
            categories[len(known) :] = np.nan
            encoder.categories_[j] = categories
            n_codes, valid_missing = len(known) + 1, (0, len(known) + 1)
            valid = encoder._known[j].is_unique
        if (
            not valid
            or missing not in valid_missing
            or encoder.cardinalities_[j] != (n_codes + bool(missing))
        ):
            raise ValueError(f"the {kind} field {j} ({field['name']!r}) is inconsistent.")


def int_array(values, what):
    if not isinstance(values, list) or not all(type(v) is int and v >= 0 for v in values):
        raise ValueError(f"each {what} must be a non-negative int.")
    return np.array(values, dtype=np.int64)


def expect(value, kind, what):
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ValueError(f"expected {what} ({kind.__name__}), got {value!r}.")
    return value
