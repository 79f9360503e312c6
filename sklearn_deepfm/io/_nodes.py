"""A model as the ``object`` node of a model file, and back.

:func:`to_node` turns a fitted FieldEncoder, estimator or Pipeline into JSON-ready nodes,
collecting its tensors by name; :func:`from_node` rebuilds it through the constructors
and the fitted-state setters, building only the classes listed here, never one a file
names. The nodes are documented with the file format, in ``_persistence``.
"""

import inspect

from sklearn.pipeline import Pipeline

from .. import _json
from ..estimators._classifier import DeepFMClassifier
from ..estimators._regressor import DeepFMRegressor
from ..nn import MODULES
from ..preprocessing._encoder import FieldEncoder

__all__ = ["from_node", "to_node"]

# The estimators a file may hold, by the type name it gives them; all are saved alike.
_ESTIMATORS = {cls.__name__: cls for cls in (DeepFMClassifier, DeepFMRegressor)}


def to_node(obj, *, include_optimizer):
    """Return the node of ``obj`` and the tensors it refers to, by name.

    Parameters
    ----------
    obj : FieldEncoder, DeepFMClassifier, DeepFMRegressor or Pipeline
        The fitted model to encode.
    include_optimizer : bool
        Also encode the optimizers' states.

    Returns
    -------
    node : dict
        Strict JSON: no NaN, tensors as ``{"$tensor": NAME}``.
    tensors : dict of str to torch.Tensor
        The tensors by ``NAME``, on the CPU.
    """
    writer = _Writer(include_optimizer)
    return writer.node(obj), writer.tensors


def from_node(node, tensors, device):
    """Rebuild the fitted model of ``node``, its tensors taken from ``tensors``.

    Parameters
    ----------
    node : dict
        A node as :func:`to_node` writes it.
    tensors : dict of str to torch.Tensor
        The tensors the node refers to, by name.
    device : str or torch.device
        The estimators' ``device``, where their networks are loaded.

    Returns
    -------
    obj : FieldEncoder, DeepFMClassifier, DeepFMRegressor or Pipeline
    """
    return _Reader(tensors, device).node(node)


class _Writer:
    """Turn a model into JSON-ready nodes, collecting tensors in ``tensors``."""

    def __init__(self, include_optimizer):
        self.include_optimizer = include_optimizer
        self.tensors = {}
        self.n_networks = 0

    def node(self, obj):
        if type(obj) is Pipeline:
            params = obj.get_params(deep=False)
            steps = params.pop("steps")
            return {
                "type": "Pipeline",
                "params": _encode_params(params, "Pipeline"),
                "steps": [[str(name), self.step(step)] for name, step in steps],
            }
        if type(obj) is FieldEncoder:
            return self.encoder(obj)
        if type(obj) in _ESTIMATORS.values():
            return self.estimator(obj)
        raise TypeError(
            f"save writes FieldEncoder, {', '.join(_ESTIMATORS)} and Pipelines of them (not "
            f"subclasses); got {type(obj).__name__}. Use pickle or joblib for other objects."
        )

    def step(self, step):
        if step is None or (isinstance(step, str) and step == "passthrough"):
            return step
        return self.node(step)

    def encoder(self, encoder):
        state = encoder._get_fitted_state()
        for field in state["fields"]:
            # the vocabulary, and the values a warm start holds back with their counts
            for values in (field, field.get("held")):
                if values is not None and "categories" in values:
                    values["categories"] = [
                        _encode_category(value, field["name"]) for value in values["categories"]
                    ]
        return {
            "type": "FieldEncoder",
            "params": _encode_params(encoder.get_params(deep=False), "FieldEncoder"),
            "fitted": {
                "n_features_in": state["n_features_in"],
                "feature_names_in": state["feature_names_in"],
                "output": state["output"],
                "fields": state["fields"],
            },
        }

    def estimator(self, estimator):
        state = estimator._get_fitted_state(self.include_optimizer)
        prefix = f"net{self.n_networks}"
        self.n_networks += 1
        for key, tensor in state["module"]["state"].items():
            self.tensors[f"{prefix}/{key}"] = tensor.detach().cpu().contiguous()
        where = f"{prefix}.state"  # other tensors, named after their place in the JSON
        name = state["module"]["class"]
        kind = type(estimator).__name__
        return {
            "type": kind,
            "params": _encode_params(estimator.get_params(deep=False), kind),
            "fitted": _json.encode_value(state["fitted"], f"{where}/fitted", self.tensors),
            "module": {
                "class": name,
                "args": _encode_params(state["module"]["args"], name),
                "weights": prefix,
            },
            "history": [_json.plain(epoch) for epoch in state["history"]],
            "generators": {
                key: _json.encode_value(value, f"{where}/{key}", self.tensors)
                for key, value in state["generators"].items()
            },
            "optimizers": _json.encode_value(
                state["optimizers"], f"{where}/optimizers", self.tensors
            ),
        }


def _encode_category(value, field):
    try:
        return _json.encode_scalar(value)
    except TypeError:
        raise TypeError(
            f"Cannot save the category {value!r} of column {field!r}: a model file holds "
            f"str, int, float and bool categories, not {type(value).__name__}. Convert the "
            "column (e.g. to str) before fitting, or use pickle or joblib."
        ) from None


def _decode_categories(field):
    """Return a saved field with its categories (and its held ones) decoded."""
    if "categories" not in field:
        return field
    decoded = {**field, "categories": [_json.decode_scalar(v) for v in field["categories"]]}
    if field.get("held") is not None:
        held = _json.expect(field["held"], dict, "the held counts")
        decoded["held"] = {
            **held,
            "categories": [_json.decode_scalar(v) for v in held["categories"]],
        }
    return decoded


def _encode_params(params, owner):
    return {name: _json.encode_value(value, f"{owner}.{name}") for name, value in params.items()}


class _Reader:
    """Rebuild estimators from nodes, through their constructors and attributes."""

    def __init__(self, tensors, device):
        self.tensors = tensors
        self.device = device

    def node(self, node):
        builders = {
            "Pipeline": self.pipeline,
            "FieldEncoder": self.encoder,
            **dict.fromkeys(_ESTIMATORS, self.estimator),
        }
        kind = node.get("type") if isinstance(node, dict) else None
        if kind not in builders:
            raise ValueError(
                f"the file describes an object of type {kind!r}; this version loads only "
                f"{sorted(builders)}. It may come from a newer sklearn-deepfm, or be damaged."
            )
        return builders[kind](node)

    def pipeline(self, node):
        steps = []
        for name, step in node["steps"]:
            if not (step is None or step == "passthrough"):
                step = self.node(step)
            steps.append((_json.expect(name, str, "a step name"), step))
        return _construct(Pipeline, node["params"], steps=steps)

    def encoder(self, node):
        encoder = _construct(FieldEncoder, node["params"])
        fitted = dict(node["fitted"])
        fitted["n_features_in"] = _json.expect(fitted["n_features_in"], int, "n_features_in_")
        fitted["fields"] = [
            _decode_categories(field)
            for field in _json.expect(fitted["fields"], list, "the fields")
        ]
        encoder._set_fitted_state(fitted)
        return encoder

    def estimator(self, node):
        estimator = _construct(_ESTIMATORS[node["type"]], node["params"], device=self.device)
        name = node["module"]["class"]
        if name not in MODULES:  # a name from the file selects from our list, never imports
            raise ValueError(
                f"the file names the network class {name!r}; a model file may only name "
                f"{sorted(MODULES)}. It may come from a newer sklearn-deepfm, or be damaged."
            )
        prefix = _json.expect(node["module"]["weights"], str, "a weights prefix") + "/"
        weights = {k[len(prefix) :]: t for k, t in self.tensors.items() if k.startswith(prefix)}
        state = {
            "fitted": _json.expect(self.decode(node["fitted"]), dict, "the fitted attributes"),
            "module": {
                "class": name,
                "args": _decode_params(node["module"]["args"], MODULES[name]),
                "state": weights,
            },
            "history": node["history"],
            "generators": {key: self.decode(value) for key, value in node["generators"].items()},
            "optimizers": self.decode(node["optimizers"]),
        }
        estimator._set_fitted_state(state)
        return estimator

    def decode(self, value):
        return _json.decode_value(value, self.tensors)


def _construct(cls, encoded, **fixed):
    """Build ``cls`` through its constructor from saved parameters, overridden by ``fixed``."""
    return cls(**{**_decode_params(encoded, cls), **fixed})


def _decode_params(encoded, cls):
    """Decode the arguments of ``cls``'s constructor, refusing any it does not have."""
    unknown = sorted(
        set(_json.expect(encoded, dict, "parameters")) - set(inspect.signature(cls).parameters)
    )
    if unknown:
        raise ValueError(
            f"the file sets {cls.__name__} parameters {unknown} that this version does not "
            "have. Upgrade sklearn-deepfm to load it."
        )
    return {name: _json.decode_value(value) for name, value in encoded.items()}
