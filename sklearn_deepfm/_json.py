"""The JSON form of plain values in model files, knowing nothing of any estimator.

``encode_value`` writes what JSON holds as is and tags the rest with one-key
objects (``$float``, ``$tuple``, ``$dict``, ``$slice``, ``$array``,
``$random_state``, ``$tensor``); ``decode_value`` reads them back, building nothing
but data: numbers, strings, containers, slices, numpy arrays of plain dtypes,
``RandomState``s and tensors taken from the file's own safetensors. See ``persistence``.
"""

import math

import numpy as np
import torch

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
    elif isinstance(value, slice) and value.step is None:
        return {"$slice": [encode_value(value.start, where), encode_value(value.stop, where)]}
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
        "tuples, dicts, slices, 1-d arrays of numbers or str, RandomState and tensors, not this "
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
    if tag == "$slice":
        start, stop = expect(content, list, "a slice's start and stop")
        return slice(expect(start, int, "a slice's start"), expect(stop, int, "a slice's stop"))
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
        scalar = encode_scalar(value)
    except TypeError:
        return None
    return None if isinstance(scalar, dict) else scalar


def expect(value, kind, what):
    """Return ``value`` if it is a ``kind`` (an int is no bool), else raise ValueError."""
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ValueError(f"expected {what} ({kind.__name__}), got {value!r}.")
    return value
