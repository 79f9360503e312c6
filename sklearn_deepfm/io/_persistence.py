"""Save and load fitted models in a file that cannot run code when loaded (no pickle).

File format
-----------
A zip archive with two members. ``model.json``, UTF-8 strict JSON (no NaN)::

    {"format": "sklearn-deepfm", "format_version": "2.0", "library_version": "0.4.0",
     "object": NODE}

where a NODE is ``{"type": ..., "params": ...}``, ``params`` from ``get_params(deep=False)``,
and by type:

- ``"FieldEncoder"``: ``"fitted"`` holds ``n_features_in``, ``feature_names_in``,
  ``output`` (the ``set_output`` container) and ``fields``, one per column, with
  ``kind``, ``cardinality``, ``missing_code`` and ``categories`` (``categories[i]``
  has code ``i + 1``), ``edges`` (quantile) or ``mean`` and ``scale`` (value); a
  ``"multi_valued"`` field's ``categories[i]`` has code ``i + 2``, its
  ``missing_code`` is 1 when fit saw no missing value in a list, and ``separator``,
  ``width`` and ``n_truncated`` follow.
- ``"DeepFMClassifier"`` and ``"DeepFMRegressor"``: ``"fitted"`` maps each fitted
  attribute (``cardinalities_``, the classifier's ``classes_`` and ``calibration_``,
  the regressor's ``y_mean_`` and ``y_scale_``, ...) to its value; ``"module"`` is the
  network: ``class`` (``"DeepFM"`` or ``"PNN"``, nothing else), constructor ``args``
  and the ``weights`` prefix; ``"history"`` the epochs of ``net_.history`` (batches
  left out, non-finite numbers as null); ``"generators"`` the net's random
  generators; ``"optimizers"`` the optimizer states, or null.
- ``"Pipeline"``: ``"steps"``, a list of ``[name, NODE]``, a NODE being also
  ``"passthrough"`` or null.

Values JSON cannot hold are one-key objects: ``{"$float": "nan"}`` (or ``"inf"``,
``"-inf"``), ``{"$tuple": [...]}``, ``{"$dict": [[key, value], ...]}``,
``{"$array": {"dtype": "<i8", "values": [...]}}``, ``{"$random_state": {...}}`` and
``{"$tensor": NAME}``, naming a tensor of ``weights.safetensors``, the second member.
It holds the networks' state dicts (tensor ``KEY`` of the network with prefix ``P``
as ``"P/KEY"``) and the other tensors (random generator and optimizer states).

A change that older readers cannot follow bumps the major version, and they refuse
the file with a ValueError. Version 2.0 (sklearn-deepfm 0.2.0) added multi-valued
fields and the estimators' ``pooling`` and ``batch_norm="auto"``, which the 1.x readers
of 0.1.0 cannot build; this reader loads 1.x and 2.x files. A parameter that an older
reader's estimator lacks (0.3.0's ``embedding_learning_rate`` and ``embedding_epsilon``
for 0.2.0, 0.4.0's ``refit`` for 0.3.0) needs no new version: that reader refuses it by
name with upgrade advice.
"""

import inspect
import json
import os
import re
import zipfile
import zlib

from sklearn.pipeline import Pipeline

from .. import _json
from .._version import __version__
from ..estimators._classifier import DeepFMClassifier
from ..estimators._regressor import DeepFMRegressor
from ..nn import MODULES
from ..preprocessing._encoder import FieldEncoder

__all__ = ["FORMAT_VERSION", "load", "save"]

FORMAT = "sklearn-deepfm"
FORMAT_VERSION = "2.0"
# Format 1.x files lack only what 2.0 added, and load with its defaults.
READABLE_MAJORS = ("1", "2")
_MODEL_JSON = "model.json"
_WEIGHTS = "weights.safetensors"
# The estimators a file may hold, by the type name it gives them; all are saved alike.
_ESTIMATORS = {cls.__name__: cls for cls in (DeepFMClassifier, DeepFMRegressor)}


def save(obj, path, *, include_optimizer=False):
    """Save a fitted model to ``path`` in a format that loads without pickle.

    Parameters
    ----------
    obj : FieldEncoder, DeepFMClassifier, DeepFMRegressor or Pipeline
        A fitted encoder, classifier or regressor, or a Pipeline of these (steps may also be
        ``"passthrough"``, None or nested Pipelines).
    path : str, path-like or binary file object
        Where to write the file, a zip archive described in this module's docstring.
    include_optimizer : bool, default=False
        Also save the optimizers' states (about twice the weights' size), so that
        continued training (``warm_start``, ``partial_fit``) after loading goes on
        exactly as it would have without saving. Without them it starts Adam's
        moment estimates anew.

    See Also
    --------
    load : Read the file back.

    Examples
    --------
    >>> import io
    >>> import pandas as pd
    >>> from sklearn_deepfm.encoder import FieldEncoder
    >>> from sklearn_deepfm.persistence import load, save
    >>> encoder = FieldEncoder().fit(pd.DataFrame({"site": ["a", "b", None]}))
    >>> buffer = io.BytesIO()
    >>> save(encoder, buffer)
    >>> load(buffer).transform(pd.DataFrame({"site": ["b", "z"]}))
    array([[2],
           [0]])
    """
    writer = _Writer(include_optimizer)
    document = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "library_version": __version__,
        "object": writer.node(obj),
    }
    text = json.dumps(document, allow_nan=False, ensure_ascii=False)
    weights = _safetensors().save(writer.tensors, metadata={"format": FORMAT})
    with zipfile.ZipFile(path, "w") as archive:  # opened once the whole model is encoded
        archive.writestr(_MODEL_JSON, text.encode("utf-8"), compress_type=zipfile.ZIP_DEFLATED)
        archive.writestr(_WEIGHTS, weights)


def load(path, *, device="cpu"):
    """Load a model written by :func:`save`, without unpickling or importing anything.

    Parameters
    ----------
    path : str, path-like or binary file object
        A file written by :func:`save`.
    device : str or torch.device, default="cpu"
        Device of the loaded networks, whatever device they were trained on; it
        also becomes the estimators' ``device`` parameter.

    Returns
    -------
    obj : FieldEncoder, DeepFMClassifier, DeepFMRegressor or Pipeline
        The fitted model, predicting as the saved one. An estimator's ``net_`` is
        a fresh net, as ``fit`` builds it without validation callbacks, holding
        the saved weights and history.

    Raises
    ------
    ValueError
        If the file is not a sklearn-deepfm model file, is corrupted, or was
        written in a format version this version cannot read.

    See Also
    --------
    save : Write the file.

    Examples
    --------
    >>> import io
    >>> import numpy as np
    >>> from sklearn_deepfm import DeepFMClassifier, make_ctr_classification
    >>> X, y = make_ctr_classification(n_samples=200, random_state=0)
    >>> clf = DeepFMClassifier(
    ...     embedding_dim=4, hidden_layer_sizes=(8,), max_epochs=1, random_state=0
    ... ).fit(X, y)
    >>> buffer = io.BytesIO()
    >>> save(clf, buffer)
    >>> loaded = load(buffer)
    >>> np.array_equal(loaded.predict_proba(X), clf.predict_proba(X))
    True
    >>> load(io.BytesIO(b"not a model"))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: the model file is not a sklearn-deepfm model file: it is not a zip archive. ...
    """
    name = repr(os.fspath(path)) if isinstance(path, (str, os.PathLike)) else "the model file"
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        raise ValueError(
            f"{name} is not a sklearn-deepfm model file: it is not a zip archive. Load files "
            "written by sklearn_deepfm.persistence.save."
        ) from None
    with archive:
        if not {_MODEL_JSON, _WEIGHTS} <= set(archive.namelist()):
            raise ValueError(
                f"{name} is not a sklearn-deepfm model file: the archive lacks {_MODEL_JSON} "
                f"or {_WEIGHTS}. Load files written by sklearn_deepfm.persistence.save."
            )
        try:
            text = archive.read(_MODEL_JSON).decode("utf-8")
            document = json.loads(text, parse_constant=_reject_constant)
            weights = archive.read(_WEIGHTS)
        except (zipfile.BadZipFile, zlib.error, EOFError, ValueError, RecursionError) as exc:
            raise _corrupted(name, exc) from exc
    _check_header(document, name)
    try:
        tensors = _safetensors().load(weights)
    except Exception as exc:  # safetensors raises its own error type on a bad header
        raise _corrupted(name, f"unreadable {_WEIGHTS}: {exc}") from exc
    try:
        return _Reader(tensors, device).node(document["object"])
    except (KeyError, TypeError, IndexError, AttributeError, RecursionError) as exc:
        raise _corrupted(name, f"{type(exc).__name__}: {exc}") from exc
    except ValueError as exc:
        raise ValueError(f"{name}: {exc}") from exc


# -- writing ---------------------------------------------------------------


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
            if "categories" in field:
                field["categories"] = [
                    _encode_category(value, field["name"]) for value in field["categories"]
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
            {**field, "categories": [_json.decode_scalar(v) for v in field["categories"]]}
            if "categories" in field
            else field
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


def _check_header(document, name):
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise ValueError(
            f"{name} is not a sklearn-deepfm model file: its {_MODEL_JSON} does not declare "
            f'"format": "{FORMAT}". Load files written by sklearn_deepfm.persistence.save.'
        )
    version = document.get("format_version")
    match = re.fullmatch(r"(\d+)\.(\d+)", version) if isinstance(version, str) else None
    if match is None:
        raise _corrupted(name, f"invalid format_version {version!r}")
    major = FORMAT_VERSION.split(".")[0]
    if match[1] not in READABLE_MAJORS:
        writer = document.get("library_version")
        advice = (
            "Upgrade sklearn-deepfm to load it."
            if int(match[1]) > int(major)
            else f"Load it with sklearn-deepfm {writer}, which wrote it."
        )
        raise ValueError(
            f"{name} was written by sklearn-deepfm {writer} in file format version "
            f"{version}, which sklearn-deepfm {__version__} cannot read (it reads format "
            f"{', '.join(m + '.x' for m in READABLE_MAJORS)}). {advice}"
        )


def _corrupted(name, detail):
    return ValueError(
        f"{name} is not a valid sklearn-deepfm model file; it may be corrupted or truncated "
        f"({detail})."
    )


def _reject_constant(constant):
    raise ValueError(f"{_MODEL_JSON} holds {constant}, which strict JSON does not allow")


def _safetensors():
    try:
        import safetensors.torch
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "Saving and loading models needs the safetensors package: "
            "pip install safetensors (or sklearn-deepfm[export])."
        ) from exc
    return safetensors.torch
