"""The encoder's fields as ONNX nodes: raw columns in, the network's ``codes`` and ``values`` out.

:func:`encode_fields` reads a fitted ``FieldEncoder``'s state (as ``export_vocabularies``
does) and writes, into a ``_onnx_graph.Graph``, the nodes that turn one raw input per column
into the codes that ``transform`` gives. Each kind of field is one group, encoded
together where ONNX allows it, so that a one-row request runs few nodes:

- categorical string columns: one ``StringConcat`` of a per-column prefix and one
  ONNX-ML ``LabelEncoder`` over all of them, ``""`` (missing) keyed to the missing code;
- categorical numeric columns: a ``LabelEncoder`` with double keys each, NaN (missing)
  then replaced by the missing code;
- quantile columns: one comparison with the padded inner edges, summed;
- log_square columns: the bins computed together, then a ``LabelEncoder`` each;
- value columns: ``(x - mean) / std``, NaN giving 0;
- multi-valued string columns: ``StringSplit`` at the separator, the first ``width``
  values looked up (1 for unknown), padded with 0 and masked past each list's end.

Whatever the graph cannot reproduce exactly is refused with a ``ValueError`` naming
the column (see :func:`input_type`), hashed columns among them. The look-ups take each
category's code from the state, never its rank, so vocabularies grown by a warm start
(codes appended after the missing code) export as any other.
"""

import numpy as np
from onnx import TensorProto, helper, numpy_helper

from .._slots import PADDING_CODE, UNKNOWN_CODE
from ..preprocessing._encode import known_codes, log_square_bins
from ._onnx_graph import ML_DOMAIN

__all__ = ["DOUBLE", "STRING", "encode_fields", "input_type"]

# The raw inputs' element types: strings with "" for missing, numbers with NaN for missing.
STRING, DOUBLE = "string", "double"
_ONNX_TYPES = {STRING: TensorProto.STRING, DOUBLE: TensorProto.DOUBLE}
_EXACT = 2**53  # integers beyond it have no exact double


def input_type(field):
    """Return the raw input type of a field (its state), or raise naming what cannot be served.

    Strings (``""`` missing) for string categories and separated lists, doubles (NaN
    missing) for numbers and booleans (0 and 1).
    """
    kind, label = field["kind"], repr(field["name"])
    if kind == "hashed":
        raise ValueError(
            f"export_onnx(raw=True): the column {label} is hashed (hash_buckets), and the "
            "raw graph has no SipHash to reproduce its codes. Export with raw=False and "
            "hash the column before the network (export_vocabularies spells out the hash), "
            "or refit without hashing it."
        )
    if kind == "multi_valued":
        if field["separator"] is None:
            raise ValueError(
                f"export_onnx(raw=True): the multi-valued column {label} has list cells, which "
                "an ONNX tensor cannot carry. Join each list into one string and refit with "
                f"its separator, e.g. multi_valued={{{label}: '|'}}, or export with raw=False."
            )
        return STRING
    if kind != "categorical":
        return DOUBLE
    kinds = {_kind(value) for value in field["categories"]}
    if kinds <= {STRING}:
        if "" in field["categories"]:
            raise ValueError(
                f"export_onnx(raw=True): the categorical column {label} knows the empty "
                'string "" as a category, but the raw graph reads "" as a missing value. '
                'Replace "" by a visible token (e.g. "<empty>") before fit, or export with '
                "raw=False."
            )
        return STRING
    if kinds in ({"number"}, {"bool"}):
        return DOUBLE
    shown = sorted(k or "other" for k in kinds)
    raise ValueError(
        f"export_onnx(raw=True): the categorical column {label} holds categories of kinds "
        f"{shown}; the raw graph takes a column as strings or as numbers (integers up to "
        "2**53, booleans as 0 and 1). Convert the column to one kind, e.g. "
        "X[col].astype(str), and refit, or export with raw=False."
    )


def _kind(value):
    if isinstance(value, str):
        return STRING
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, float) or (isinstance(value, int) and abs(value) <= _EXACT):
        return "number"
    return None


def encode_fields(graph, fields):
    """Write the nodes that encode raw columns; return what the network and the server need.

    Parameters
    ----------
    graph : Graph
        Where the nodes go.
    fields : list of dict
        The encoder's fields as ``FieldEncoder._get_fitted_state`` describes them.

    Returns
    -------
    inputs : list of ValueInfoProto
        One 1-d input of shape (batch,) per column, named as the column.
    codes : str
        The int64 codes of shape (batch, n_columns), in the encoder's output order.
    values : str or None
        The float32 standardized values of shape (batch, n_columns) (code columns hold
        anything), or None when no field is a value field.
    infinite : str or None
        A bool of shape (batch,): the row holds an infinite number in a binned or
        value column, which ``transform`` refuses; None when there are no such columns.
    """
    types = [input_type(field) for field in fields]
    inputs = [
        helper.make_tensor_value_info(field["name"], _ONNX_TYPES[t], ["batch"])
        for field, t in zip(fields, types, strict=True)
    ]
    groups = {}  # encoder of the group -> positions of its fields
    for j, (field, t) in enumerate(zip(fields, types, strict=True)):
        kind = "categorical_" + t if field["kind"] == "categorical" else field["kind"]
        groups.setdefault(kind, []).append(j)
    blocks, where, values, infinite = [], {}, None, None  # where: field -> (block, column)
    offset = 0
    for kind, members in groups.items():
        chosen = [fields[j] for j in members]
        x = [field["name"] for field in chosen]
        if kind in ("quantile", "log_square", "value"):
            stacked = graph.stack(x)
            infinite = _any_infinite(graph, stacked)
            if kind == "value":
                values = _values(graph, stacked, chosen)
                continue
            block = (_quantile if kind == "quantile" else _log_square)(graph, stacked, chosen)
        else:
            block = _ENCODERS[kind](graph, x, chosen)
        for j, field in zip(members, chosen, strict=True):
            where[j] = offset
            offset += field.get("width", 1)
        blocks.append(block)
    codes = _assemble_codes(graph, fields, blocks, where, values)
    if values is not None:  # each value field's column; code columns take any (ignored)
        n_values, columns = 0, []
        for field in fields:
            if field["kind"] == "value":
                columns.append(n_values)
                n_values += 1
            else:
                columns.extend([0] * field.get("width", 1))
        values = _gather(graph, values, columns)
    return inputs, codes, values, infinite


def _assemble_codes(graph, fields, blocks, where, values):
    """Concatenate the groups' code blocks and put their columns in the encoder's order."""
    if not blocks:  # value fields only: the network ignores their codes
        return graph.op("Cast", values, to=TensorProto.INT64)
    codes = blocks[0] if len(blocks) == 1 else graph.op("Concat", *blocks, axis=1)
    columns = []
    for j, field in enumerate(fields):
        if field["kind"] == "value":
            columns.append(0)  # any code column: the network zeroes a value field's code
        else:
            columns.extend(range(where[j], where[j] + field.get("width", 1)))
    return _gather(graph, codes, columns)


def _gather(graph, x, columns):
    """Columns ``columns`` of ``x``; ``x`` itself when they are all of it, in order.

    (Every column of a block is someone's, so distinct columns in order are all of it.)
    """
    if columns == list(range(len(columns))):
        return x
    return graph.op("Gather", x, graph.const(np.array(columns, dtype=np.int64), "columns"), axis=1)


def _categorical_strings(graph, x, fields):
    """All string categorical columns: prefixed by their position, looked up at once."""
    stacked = graph.stack(x)
    keys, codes = [], []
    for i, field in enumerate(fields):
        prefix = f"{i}\x1f" if len(fields) > 1 else ""  # \x1f never in a position: unique
        keys += [prefix + value for value in field["categories"]]
        codes += _codes(field).tolist()
        if field["missing_code"]:
            keys.append(prefix)  # "" is a missing value
            codes.append(field["missing_code"])
    if len(fields) > 1:
        prefixes = np.array([f"{i}\x1f" for i in range(len(fields))], dtype=object)
        stacked = graph.op("StringConcat", graph.const(prefixes, "prefixes"), stacked)
    return graph.lookup(stacked, np.array(keys, dtype=object), codes, 0)


def _categorical_numbers(graph, x, fields):
    """Numeric (and boolean) categorical columns: a double-keyed look-up each, NaN missing."""
    looked_up = []
    for column, field in zip(x, fields, strict=True):
        keys = np.array([float(value) for value in field["categories"]], dtype=np.float64)
        looked_up.append(graph.lookup(column, keys, _codes(field), 0))
    return _missing(graph, graph.stack(looked_up), graph.stack(x), fields)


def _codes(field, first=1):
    """Return the codes of a vocabulary field's categories, in order.

    A warm start may leave the missing code among them (see ``known_codes``).
    """
    return known_codes(len(field["categories"]), field["missing_code"], first)


def _missing(graph, codes, stacked, fields):
    """Replace the codes of NaN inputs by each field's missing code."""
    missing = np.array([field["missing_code"] for field in fields], dtype=np.int64)
    return graph.op("Where", graph.op("IsNaN", stacked), graph.const(missing, "missing"), codes)


def _quantile(graph, stacked, fields):
    """``1 + #(inner edges <= x)`` (0 with no edges), NaN missing; all columns at once."""
    inner = [np.asarray(field["edges"], dtype=np.float64)[1:-1] for field in fields]
    first = np.array([1 if len(field["edges"]) else 0 for field in fields], dtype=np.int64)
    codes = graph.const(first, "first")
    width = max(len(edges) for edges in inner)
    if width:
        padded = np.full((len(fields), width), np.nan)  # x >= NaN is false
        for i, edges in enumerate(inner):
            padded[i, : len(edges)] = edges
        axis = graph.const(np.array([2], dtype=np.int64), "axis")
        above = graph.op(
            "GreaterOrEqual", graph.op("Unsqueeze", stacked, axis), graph.const(padded)
        )
        counts = graph.op(
            "ReduceSum", graph.op("Cast", above, to=TensorProto.INT64), axis, keepdims=0
        )
        codes = graph.op("Add", counts, codes)
    return _missing(graph, codes, stacked, fields)


def _log_square(graph, stacked, fields):
    """Bins ``floor(ln(x)^2)`` for x > 2, else x truncated; then a look-up each, NaN missing.

    ONNX's ``Log`` may differ from numpy's by an ulp, which moves ``floor(ln(x)^2)`` by one
    near a bin's edge; so the bin it gives is corrected against the edges that numpy's
    kernel draws (:func:`_log_square_edges`), for the bins that matter: the known ones.
    """
    log = graph.op("Log", stacked)
    guess = graph.op("Floor", graph.op("Mul", log, log))
    guess = graph.op("Clip", guess, graph.const(0.0), graph.const(float(_BIN_STRIDE - 1)))
    keys, lower, upper = [], [], []
    for j, field in enumerate(fields):
        known = np.array(field["categories"], dtype=np.float64)
        # the guesses that may be a known bin's neighbour, each with its bin's edges
        guesses = np.unique(np.concatenate([known - 1, known, known + 1]))
        guesses = guesses[(guesses >= 0) & (guesses < _BIN_STRIDE)]
        edges = _log_square_edges(np.concatenate([guesses, guesses + 1]))
        keys.append(guesses + j * _BIN_STRIDE)
        lower.append(edges[: len(guesses)])
        upper.append(edges[len(guesses) :])
    offsets = graph.const(np.arange(len(fields)) * float(_BIN_STRIDE), "offsets")
    key = graph.op("Add", guess, offsets)
    keys = np.concatenate(keys)
    below = graph.op(
        "Less", stacked, _edge_lookup(graph, key, keys, np.concatenate(lower), -np.inf)
    )
    above = graph.op(
        "GreaterOrEqual", stacked, _edge_lookup(graph, key, keys, np.concatenate(upper), np.inf)
    )
    large = graph.op(
        "Add",
        graph.op("Sub", guess, graph.op("Cast", below, to=TensorProto.DOUBLE)),
        graph.op("Cast", above, to=TensorProto.DOUBLE),
    )
    small = graph.op("Mul", graph.op("Sign", stacked), graph.op("Floor", graph.op("Abs", stacked)))
    small = graph.op("Add", small, graph.const(0.0))  # -0.0 becomes 0.0
    bins = graph.op("Where", graph.op("Greater", stacked, graph.const(2.0)), large, small)
    if len(fields) > 1:
        columns = graph.op("Split", bins, axis=1, num_outputs=len(fields), n_outputs=len(fields))
    else:
        columns = [bins]
    looked_up = [
        graph.lookup(column, np.array(field["categories"], dtype=np.float64), _codes(field), 0)
        for column, field in zip(columns, fields, strict=True)
    ]
    codes = looked_up[0] if len(fields) == 1 else graph.op("Concat", *looked_up, axis=1)
    return _missing(graph, codes, stacked, fields)


# Bins of x > 2 stay below 2**19 (ln(max double)^2 < 503,800): the guess of column j is
# keyed as guess + j * _BIN_STRIDE, all columns in one look-up, exactly in a double.
_BIN_STRIDE = 2**19


def _edge_lookup(graph, key, keys, edges, default):
    """``LabelEncoder`` from a keyed guess to a double edge, ``default`` for other keys."""
    return graph.op(
        "LabelEncoder",
        key,
        domain=ML_DOMAIN,
        keys_tensor=numpy_helper.from_array(keys, "keys"),
        values_tensor=numpy_helper.from_array(edges, "values"),
        default_tensor=numpy_helper.from_array(np.array([default]), "default"),
    )


def _log_square_edges(bins):
    """Return, for each bin ``k``, the least double x > 2 that numpy's kernel bins at >= k.

    So ``log_square_bins(x) == k`` exactly for ``edges(k) <= x < edges(k + 1)``; bin 0
    starts at -inf (every x > 2 bins at >= 0), a bin beyond the doubles at inf.
    """
    bins = np.asarray(bins, dtype=np.float64)
    with np.errstate(over="ignore"):
        guess = np.exp(np.sqrt(bins))  # within a relative 1e-12 of the edge
        # binned below k (or 2, not above 2), and at >= k (inf: beyond the doubles)
        low = np.clip(guess * (1 - 1e-9), 2.0, np.finfo(np.float64).max)
        high = np.where(bins == 0, np.nextafter(2.0, 3.0), guess * (1 + 1e-9))
    if (log_square_bins(high) < bins).any() or (
        (low > 2) & (log_square_bins(low) >= bins)
    ).any():  # pragma: no cover - the guess is far closer
        raise AssertionError("the log_square edges are not bracketed")
    # bisection on the bits: positive doubles order as their int64 patterns
    low_bits, high_bits = low.view(np.int64), high.view(np.int64)
    while (high_bits - low_bits > 1).any():
        middle = low_bits + (high_bits - low_bits) // 2
        at = log_square_bins(middle.view(np.float64)) >= bins
        low_bits = np.where(at, low_bits, middle)
        high_bits = np.where(at, middle, high_bits)
    return np.where(bins == 0, -np.inf, high_bits.view(np.float64))


def _values(graph, stacked, fields):
    """``(x - mean) / std`` as float32, NaN giving 0.0."""
    mean = graph.const(np.array([field["mean"] for field in fields], dtype=np.float64), "mean")
    scale = graph.const(np.array([field["scale"] for field in fields], dtype=np.float64), "std")
    standardized = graph.op("Div", graph.op("Sub", stacked, mean), scale)
    missing = graph.op("IsNaN", stacked)
    standardized = graph.op("Where", missing, graph.const(0.0), standardized)
    return graph.op("Cast", standardized, to=TensorProto.FLOAT)


def _multi_valued(graph, x, fields):
    """Each separated column: its first ``width`` values' codes, 0 past the list's end."""
    blocks = []
    for column, field in zip(x, fields, strict=True):
        width = field["width"]
        pieces, lengths = graph.op("StringSplit", column, delimiter=field["separator"], n_outputs=2)
        starts, ends, axes = (graph.const(np.array([v], dtype=np.int64)) for v in (0, width, 1))
        pieces = graph.op("Slice", pieces, starts, ends, axes)
        keys = np.array(field["categories"], dtype=object)
        codes = graph.lookup(pieces, keys, _codes(field, UNKNOWN_CODE + 1), UNKNOWN_CODE)
        pads = graph.const(np.array([0, 0, 0, width], dtype=np.int64), "pads")
        codes = graph.op("Slice", graph.op("Pad", codes, pads), starts, ends, axes)
        positions = graph.const(np.arange(width, dtype=np.int64)[None, :], "positions")
        lengths = graph.op("Unsqueeze", lengths, axes)
        inside = graph.op("Less", positions, lengths)
        padding = graph.const(np.array(PADDING_CODE, dtype=np.int64), "padding")
        blocks.append(graph.op("Where", inside, codes, padding))
    return blocks[0] if len(blocks) == 1 else graph.op("Concat", *blocks, axis=1)


def _any_infinite(graph, stacked):
    """Whether each row holds an infinite number, as a bool of shape (batch,)."""
    flags = graph.op("Cast", graph.op("IsInf", stacked), to=TensorProto.FLOAT)
    axis = graph.const(np.array([1], dtype=np.int64), "axis")
    count = graph.op("ReduceSum", flags, axis, keepdims=0)
    return graph.op("Greater", count, graph.const(np.float32(0.0)))


_ENCODERS = {
    "categorical_" + STRING: _categorical_strings,
    "categorical_" + DOUBLE: _categorical_numbers,
    "multi_valued": _multi_valued,
}
