"""An ONNX graph under construction: nodes and constants under unique names.

``_onnx_fields`` writes the encoder's nodes into a :class:`Graph`; ``_raw_onnx`` puts
them before the network's.
"""

import numpy as np
from onnx import helper, numpy_helper

__all__ = ["ML_DOMAIN", "Graph"]

ML_DOMAIN = "ai.onnx.ml"


class Graph:
    """The nodes and constants of a graph under construction, under unique names.

    Parameters
    ----------
    prefix : str
        Starts the name of every value the graph makes, so that no raw column name
        can clash with one.
    """

    def __init__(self, prefix):
        self.prefix, self.nodes, self.initializers, self._count = prefix, [], [], 0

    def name(self, hint):
        """Return a new unique value name."""
        self._count += 1
        return f"{self.prefix}{hint}_{self._count}"

    def const(self, array, hint="const"):
        """Add a constant (a numpy array, strings as an object array); return its name."""
        name = self.name(hint)
        self.initializers.append(numpy_helper.from_array(np.asarray(array), name))
        return name

    def op(self, op_type, *inputs, n_outputs=1, domain="", **attributes):
        """Add a node; return its output's name (a list of names with ``n_outputs > 1``)."""
        outputs = [self.name(op_type.lower()) for _ in range(n_outputs)]
        node = helper.make_node(op_type, list(inputs), outputs, domain=domain, **attributes)
        self.nodes.append(node)
        return outputs[0] if n_outputs == 1 else outputs

    def lookup(self, x, keys, codes, default):
        """``LabelEncoder``: each key its code, anything else ``default`` (int64)."""
        keys = np.asarray(keys)
        if not len(keys):  # ONNX wants a key: one that gives the default code anyway
            keys = np.array([""], dtype=object) if keys.dtype == object else np.array([np.nan])
            codes = [default]
        return self.op(
            "LabelEncoder",
            x,
            domain=ML_DOMAIN,
            keys_tensor=numpy_helper.from_array(np.asarray(keys), "keys"),
            values_tensor=numpy_helper.from_array(np.asarray(codes, dtype=np.int64), "values"),
            default_tensor=numpy_helper.from_array(np.array([default], dtype=np.int64), "default"),
        )

    def stack(self, columns):
        """Concatenate 1-d inputs of shape (batch,) into one of shape (batch, k)."""
        axis = self.const(np.array([1], dtype=np.int64), "axis")
        parts = [self.op("Unsqueeze", column, axis) for column in columns]
        return parts[0] if len(parts) == 1 else self.op("Concat", *parts, axis=1)
