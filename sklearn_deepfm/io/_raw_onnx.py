"""One ONNX graph from the raw columns to the prediction: the encoder, the network, its output map.

``export_onnx(pipeline, path, raw=True)`` writes it. The network is exported as
``export_onnx`` exports it (``_export``), then its inputs ``codes`` and ``values`` are
fed by the encoder's nodes (``_onnx_fields``) instead of by the caller. So the graph
takes one 1-d input of shape ``(batch,)`` per column the encoder was fitted on, named
as the column:

- ``tensor(string)`` for categorical columns of strings and separated multi-valued
  columns, ``""`` standing for a missing value (ONNX strings have no null);
- ``tensor(double)`` for numeric columns (binned, values, or numeric categories, booleans
  as 0 and 1), NaN standing for a missing value;

and gives the outputs of the network's export: ``logit`` and ``probability``
(``predict_proba(X)[:, 1]``) for a classifier, ``prediction`` for a regressor. A row
holding an infinite number in a binned or value column, which ``transform`` refuses,
gets NaN.
"""

import json
import os

import numpy as np
import onnx
import torch
from onnx import TensorProto, helper
from sklearn.pipeline import Pipeline

from ..estimators._classifier import DeepFMClassifier
from ..estimators._regressor import DeepFMRegressor
from ..preprocessing._encoder import FieldEncoder
from . import _onnx_fields
from ._export import _quiet_exporter, _require, _serving
from ._onnx_graph import Graph

__all__ = ["export_raw_onnx"]

# Names the graph makes itself start so; a column named so is refused.
_RESERVED = "sklearn_deepfm/"
# ONNX opsets: StringSplit and StringConcat need 20, LabelEncoder's double keys ML 4.
_OPSET, _ML_OPSET = 21, 4
RAW_GRAPH_FORMAT = "raw-1"


def export_raw_onnx(model, path):
    """Write a fitted ``make_pipeline(FieldEncoder(), estimator)`` as one ONNX graph.

    See ``export_onnx(model, path, raw=True)``, which calls it.
    """
    for package in ("onnx", "onnxscript"):
        _require(package, "export_onnx(raw=True)")
    encoder, estimator = _steps(model)
    outputs = (
        ["logit", "probability"] if isinstance(estimator, DeepFMClassifier) else ["prediction"]
    )
    graph, inputs, encoded, infinite = _encoder_graph(encoder, outputs)
    network = _network(estimator)
    nodes = graph.nodes + [  # the encoder's outputs feed the network's inputs
        helper.make_node("Identity", [encoded[value.name.removeprefix(_NET)]], [value.name])
        for value in network.graph.input
    ]
    nodes += network.graph.node
    for name in outputs:
        if infinite is None:
            nodes.append(helper.make_node("Identity", [_NET + name], [name]))
        else:  # transform refuses an infinite number: the row's answer is NaN
            nan = graph.const(np.array(np.nan, dtype=np.float32), "nan")
            nodes.append(helper.make_node("Where", [infinite, nan, _NET + name], [name]))
    metadata = {
        **{key.removeprefix("sklearn_deepfm."): json.loads(p.value) for key, p in _props(network)},
        "graph": RAW_GRAPH_FORMAT,
        "raw_inputs": [_describe(field) for field in encoder._get_fitted_state()["fields"]],
    }
    onnx_model = _model(
        nodes,
        inputs,
        [helper.make_tensor_value_info(name, TensorProto.FLOAT, ["batch"]) for name in outputs],
        graph.initializers + list(network.graph.initializer),
        functions=list(network.functions),
        doc_string=(
            "sklearn-deepfm pipeline: the raw columns (strings with '' for missing, doubles "
            f"with NaN for missing), one 1-d input each, to {', '.join(outputs)}."
        ),
    )
    onnx_model.ir_version = network.ir_version
    for key, value in metadata.items():
        entry = onnx_model.metadata_props.add()
        entry.key, entry.value = f"sklearn_deepfm.{key}", json.dumps(value, default=str)
    onnx.checker.check_model(onnx_model)
    onnx.save_model(onnx_model, os.fspath(path))


def encoder_model(encoder):
    """Return the encoder alone as an ONNX model: the raw columns to what ``transform`` gives.

    Its outputs: ``codes`` (int64, ``(batch, n_columns)``, value columns 0), and when the
    encoder has such columns ``values`` (float32, the value columns' standardized values,
    code columns 1.0) and ``infinite`` (bool, ``(batch,)``). The tests compare it with
    ``transform``; ``export_raw_onnx`` puts the same nodes before the network.
    """
    graph, inputs, encoded, infinite = _encoder_graph(encoder, ())
    if encoded["values"] is not None:  # the network ignores these entries: set as documented
        fields = encoder._get_fitted_state()["fields"]
        kinds = [field["kind"] for field in fields for _ in range(field.get("width", 1))]
        value_columns = np.array(kinds) == "value"
        encoded["values"] = graph.op(
            "Where",
            graph.const(value_columns, "value_columns"),
            encoded["values"],
            graph.const(np.float32(1.0)),
        )
        code_columns = graph.const((~value_columns).astype(np.int64), "code_columns")
        encoded["codes"] = graph.op("Mul", encoded["codes"], code_columns)
    nodes, outputs = list(graph.nodes), []
    for name, value, element in (
        ("codes", encoded["codes"], TensorProto.INT64),
        ("values", encoded["values"], TensorProto.FLOAT),
        ("infinite", infinite, TensorProto.BOOL),
    ):
        if value is not None:
            nodes.append(helper.make_node("Identity", [value], [name]))
            shape = ["batch"] if name == "infinite" else ["batch", "columns"]
            outputs.append(helper.make_tensor_value_info(name, element, shape))
    onnx_model = _model(nodes, inputs, outputs, graph.initializers)
    onnx.checker.check_model(onnx_model)
    return onnx_model


def _encoder_graph(encoder, outputs):
    """Return the encoder's Graph, its inputs, its codes and values, and the infinite flags.

    ``outputs`` are the names of the whole graph's outputs, which no column may take.
    """
    fields = encoder._get_fitted_state()["fields"]
    for field in fields:
        name = field["name"]
        if name in outputs or name.startswith(_RESERVED):
            raise ValueError(
                f"export_onnx(raw=True): the column {name!r} would share its name with "
                f"{'an output' if name in outputs else 'a value the graph makes'} of the "
                "graph, whose inputs are named as the columns. Rename the column and refit."
            )
    graph = Graph(_RESERVED + "encoder/")
    inputs, codes, values, infinite = _onnx_fields.encode_fields(graph, fields)
    return graph, inputs, {"codes": codes, "values": values}, infinite


def _model(nodes, inputs, outputs, initializers, **kwargs):
    return helper.make_model(
        helper.make_graph(nodes, "sklearn_deepfm_raw", inputs, outputs, initializer=initializers),
        opset_imports=[
            helper.make_opsetid("", _OPSET),
            helper.make_opsetid("ai.onnx.ml", _ML_OPSET),
        ],
        producer_name="sklearn-deepfm",
        **kwargs,
    )


_NET = _RESERVED + "network/"


def _steps(model):
    """Return the fitted encoder and estimator of ``model``, refusing anything else."""
    steps = [step for _, step in model.steps] if isinstance(model, Pipeline) else [model]
    steps = [step for step in steps if step not in (None, "passthrough")]
    shape = [type(step).__name__ for step in steps]
    if (
        len(steps) != 2
        or not isinstance(steps[0], FieldEncoder)
        or not isinstance(steps[1], DeepFMClassifier | DeepFMRegressor)
    ):
        raise TypeError(
            "export_onnx(raw=True) takes a fitted make_pipeline(FieldEncoder(...), "
            f"DeepFMClassifier(...) or DeepFMRegressor(...)); got the steps {shape}. "
            "Other steps have no ONNX form here: fold them into the data before the "
            "pipeline, or export the network alone with raw=False."
        )
    return steps


def _network(estimator):
    """Export the network and its output map, every value's name under ``_NET``."""
    serving, inputs, dynamic_shapes, metadata = _serving(estimator, "export_onnx")
    with _quiet_exporter():
        program = torch.onnx.export(
            serving,
            kwargs=inputs,
            dynamo=True,
            dynamic_shapes=dynamic_shapes,
            input_names=list(inputs),
            output_names=serving.output_names,
            opset_version=_OPSET,
            verbose=False,
        )
    network = onnx.compose.add_prefix(program.model_proto, _NET, rename_functions=False)
    network.metadata_props.clear()
    for key, value in metadata.items():
        entry = network.metadata_props.add()
        entry.key, entry.value = f"sklearn_deepfm.{key}", json.dumps(value, default=str)
    return network


def _props(model):
    return [(prop.key, prop) for prop in model.metadata_props]


def _describe(field):
    """Describe a raw input for a server: its name, type and kind."""
    described = {
        "name": field["name"],
        "type": _onnx_fields.input_type(field),
        "kind": field["kind"],
    }
    if field["kind"] == "multi_valued":
        described.update(separator=field["separator"], width=field["width"])
    return described
