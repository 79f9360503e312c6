"""Save and load fitted models in a file that cannot run code when loaded (no pickle).

File format
-----------
A zip archive with two members. ``model.json``, UTF-8 strict JSON (no NaN)::

    {"format": "sklearn-deepfm", "format_version": "1.0", "library_version": "0.1.0",
     "object": NODE}

where a NODE is ``{"type": ..., "params": ...}``, ``params`` from ``get_params(deep=False)``,
and by type:

- ``"FieldEncoder"``: ``"fitted"`` holds ``n_features_in``, ``feature_names_in``,
  ``output`` (the ``set_output`` container) and ``fields``, one per column, with
  ``kind``, ``cardinality``, ``missing_code`` and ``categories`` (``categories[i]``
  has code ``i + 1``), ``edges`` (quantile) or ``mean`` and ``scale`` (value).
- ``"DeepFMClassifier"``: ``"fitted"`` maps each fitted attribute (``classes_``,
  ``cardinalities_``, ``calibration_``, ...) to its value; ``"module"`` is the
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

A reader loads every ``1.x`` format version; a change that older readers cannot
follow bumps the major version, and they refuse the file with a ValueError.
"""

import inspect
import json
import os
import re
import zipfile
import zlib

import numpy as np
import torch
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted

from . import _state
from .encoder import FieldEncoder
from .estimator import DeepFMClassifier
from .network import PNN, DeepFM

FORMAT = "sklearn-deepfm"
FORMAT_VERSION = "1.0"
_MODEL_JSON = "model.json"
_WEIGHTS = "weights.safetensors"
# The only network classes a file may name: a file never makes us import anything.
_MODULES = {"DeepFM": DeepFM, "PNN": PNN}
_ATTRIBUTE = re.compile(r"_?[a-z][a-z0-9_]*")


def save(obj, path, *, include_optimizer=False):
    """Save a fitted model to ``path`` in a format that loads without pickle.

    Parameters
    ----------
    obj : FieldEncoder, DeepFMClassifier or Pipeline
        A fitted encoder or classifier, or a Pipeline of these (steps may also be
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
    from . import __version__

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
        also becomes the classifiers' ``device`` parameter.

    Returns
    -------
    obj : FieldEncoder, DeepFMClassifier or Pipeline
        The fitted model, predicting as the saved one. A classifier's ``net_`` is
        a fresh net, as ``fit`` builds it without validation callbacks, holding
        the saved weights and history.

    Raises
    ------
    ValueError
        If the file is not a sklearn-deepfm model file, is corrupted, or was
        written in a format version this version cannot read.
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
        if type(obj) is DeepFMClassifier:
            return self.classifier(obj)
        raise TypeError(
            "save writes FieldEncoder, DeepFMClassifier and Pipelines of them (not "
            f"subclasses); got {type(obj).__name__}. Use pickle or joblib for other objects."
        )

    def step(self, step):
        if step is None or (isinstance(step, str) and step == "passthrough"):
            return step
        return self.node(step)

    def encoder(self, encoder):
        check_is_fitted(encoder)
        fields = _state.encoder_fields(encoder)
        for field in fields:
            if "categories" in field:
                field["categories"] = [
                    _state.encode_category(value, field["name"]) for value in field["categories"]
                ]
        names = getattr(encoder, "feature_names_in_", None)
        return {
            "type": "FieldEncoder",
            "params": _encode_params(encoder.get_params(deep=False), "FieldEncoder"),
            "fitted": {
                "n_features_in": int(encoder.n_features_in_),
                "feature_names_in": None if names is None else [str(n) for n in names],
                "output": getattr(encoder, "_sklearn_output_config", {}).get("transform"),
                "fields": fields,
            },
        }

    def classifier(self, classifier):
        check_is_fitted(classifier)
        net, module = classifier.net_, classifier.net_.module_
        if _MODULES.get(type(module).__name__) is not type(module):
            raise TypeError(
                f"save writes the networks {sorted(_MODULES)}; this classifier's is "
                f"{type(module).__name__}. Use pickle or joblib for it."
            )
        prefix = f"net{self.n_networks}"
        self.n_networks += 1
        for key, tensor in module.state_dict().items():
            self.tensors[f"{prefix}/{key}"] = tensor.detach().cpu().contiguous()
        state = f"{prefix}.state"  # other tensors, named after their place in the JSON
        params = classifier.get_params(deep=False)
        fitted = {k: v for k, v in vars(classifier).items() if k not in params and k != "net_"}
        net_params = net.get_params(deep=False)
        args = {k[8:]: v for k, v in net_params.items() if k.startswith("module__")}
        optimizers = None
        if self.include_optimizer:
            optimizers = {name: getattr(net, name + "_").state_dict() for name in net._optimizers}
        return {
            "type": "DeepFMClassifier",
            "params": _encode_params(params, "DeepFMClassifier"),
            "fitted": _state.encode_value(fitted, f"{state}/fitted", self.tensors),
            "module": {
                "class": type(module).__name__,
                "args": _encode_params(args, type(module).__name__),
                "weights": prefix,
            },
            "history": [
                {key: _state.plain(value) for key, value in epoch.items() if key != "batches"}
                for epoch in net.history
            ],
            "generators": {
                name: _state.encode_value(value.get_state(), f"{state}/{name}", self.tensors)
                for name, value in net_params.items()
                if isinstance(value, torch.Generator)
            },
            "optimizers": _state.encode_value(optimizers, f"{state}/optimizers", self.tensors),
        }


def _encode_params(params, owner):
    return {name: _state.encode_value(value, f"{owner}.{name}") for name, value in params.items()}


class _Reader:
    """Rebuild estimators from nodes, through their constructors and attributes."""

    def __init__(self, tensors, device):
        self.tensors = tensors
        self.device = device

    def node(self, node):
        builders = {
            "Pipeline": self.pipeline,
            "FieldEncoder": self.encoder,
            "DeepFMClassifier": self.classifier,
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
            steps.append((_state.expect(name, str, "a step name"), step))
        return _construct(Pipeline, node["params"], steps=steps)

    def encoder(self, node):
        encoder = _construct(FieldEncoder, node["params"])
        fitted = node["fitted"]
        encoder.n_features_in_ = _state.expect(fitted["n_features_in"], int, "n_features_in_")
        names = fitted["feature_names_in"]
        if names is not None:
            if len(names) != encoder.n_features_in_ or not all(isinstance(n, str) for n in names):
                raise ValueError("feature_names_in_ must hold one str per feature.")
            encoder.feature_names_in_ = np.asarray(names, dtype=object)
        _state.set_encoder_fields(encoder, fitted["fields"])
        if fitted["output"] is not None:
            if fitted["output"] not in ("default", "pandas", "polars"):
                raise ValueError(f"unknown output container {fitted['output']!r}.")
            encoder.set_output(transform=fitted["output"])
        return encoder

    def classifier(self, node):
        classifier = _construct(DeepFMClassifier, node["params"], device=self.device)
        fitted = self.decode(node["fitted"])
        for name, value in _state.expect(fitted, dict, "the fitted attributes").items():
            if (
                not isinstance(name, str)
                or not _ATTRIBUTE.fullmatch(name)
                or hasattr(DeepFMClassifier, name)  # methods and class attributes stay
                or name in vars(classifier)  # parameters stay
                or name == "net_"
            ):
                raise ValueError(f"the file sets the attribute {name!r}, which it may not.")
            setattr(classifier, name, value)
        n_fields = classifier.n_features_in_
        cardinalities, value_fields = classifier.cardinalities_, classifier.value_fields_
        if not (
            len(classifier.classes_) == 2
            and len(classifier.calibration_) == 2
            and cardinalities.shape == value_fields.shape == (n_fields,)
            and cardinalities.dtype.kind == "i"
            and value_fields.dtype == bool
            and (cardinalities >= 1).all()
        ):
            raise ValueError(
                "the classifier's fitted attributes are inconsistent: expected 2 classes, "
                f"and {n_fields} fields with cardinalities of at least 1."
            )
        classifier.net_ = self.net(classifier, node)
        return classifier

    def net(self, classifier, node):
        """Build a fresh skorch net, as ``fit`` does, holding the saved state."""
        from skorch.history import History

        name = node["module"]["class"]
        if name not in _MODULES:  # a name from the file selects from our list, never imports
            raise ValueError(
                f"the file names the network class {name!r}; a model file may only name "
                f"{sorted(_MODULES)}. It may come from a newer sklearn-deepfm, or be damaged."
            )
        module_class = _MODULES[name]
        args = _decode_params(node["module"]["args"], module_class)
        if list(args.get("cardinalities", ())) != classifier.cardinalities_.tolist():
            raise ValueError("the network's cardinalities differ from the classifier's.")
        prefix = _state.expect(node["module"]["weights"], str, "a weights prefix") + "/"
        state = {k[len(prefix) :]: t for k, t in self.tensors.items() if k.startswith(prefix)}
        # _build_net reads only the number of training rows, to cap the batch size
        net = classifier._build_net(range(classifier.batch_size), None, 0)
        net.set_params(module=module_class, **{f"module__{k}": v for k, v in args.items()})
        with torch.random.fork_rng(devices=[]):  # the user's random streams stay untouched
            net.initialize()
        built = net.module_.state_dict()
        shapes = {key: tuple(tensor.shape) for key, tensor in state.items()}
        if shapes != {key: tuple(tensor.shape) for key, tensor in built.items()}:
            raise ValueError(
                f"the weights stored under {prefix!r} do not fit the {name} network the "
                "file describes (missing, extra or misshapen tensors)."
            )
        for key in state:
            if key.endswith("offsets") and not torch.equal(state[key], built[key].cpu()):
                raise ValueError(f"the stored field offsets {key!r} contradict the cardinalities.")
        net.module_.load_state_dict(state)
        net.module_.eval()
        net_params = net.get_params(deep=False)
        for key, generator_state in node["generators"].items():
            if not isinstance(net_params.get(key), torch.Generator):
                raise ValueError(f"the net has no random generator {key!r}.")
            _restore(net_params[key].set_state, self.decode(generator_state), key)
        optimizers = self.decode(node["optimizers"])
        for key, optimizer_state in (optimizers or {}).items():
            if key not in net._optimizers:
                raise ValueError(f"the net has no optimizer {key!r}.")
            _restore(getattr(net, key + "_").load_state_dict, optimizer_state, key)
        history = node["history"]
        if not isinstance(history, list) or not all(isinstance(e, dict) for e in history):
            raise ValueError("the training history must be a list of epochs.")
        net.history_ = History(history)
        return net

    def decode(self, value):
        return _state.decode_value(value, self.tensors)


def _construct(cls, encoded, **fixed):
    """Build ``cls`` through its constructor from saved parameters, overridden by ``fixed``."""
    return cls(**{**_decode_params(encoded, cls), **fixed})


def _decode_params(encoded, cls):
    """Decode the arguments of ``cls``'s constructor, refusing any it does not have."""
    unknown = sorted(
        set(_state.expect(encoded, dict, "parameters")) - set(inspect.signature(cls).parameters)
    )
    if unknown:
        raise ValueError(
            f"the file sets {cls.__name__} parameters {unknown} that this version does not "
            "have. Upgrade sklearn-deepfm to load it."
        )
    return {name: _state.decode_value(value) for name, value in encoded.items()}


def _restore(setter, state, what):
    try:
        setter(state)
    except (RuntimeError, TypeError, KeyError) as exc:
        raise ValueError(f"the state of {what!r} does not fit: {exc}") from exc


def _check_header(document, name):
    from . import __version__

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
    if match[1] != major:
        writer = document.get("library_version")
        advice = (
            "Upgrade sklearn-deepfm to load it."
            if int(match[1]) > int(major)
            else f"Load it with sklearn-deepfm {writer}, which wrote it."
        )
        raise ValueError(
            f"{name} was written by sklearn-deepfm {writer} in file format version "
            f"{version}, which sklearn-deepfm {__version__} cannot read (it reads format "
            f"{major}.x). {advice}"
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
