"""Save and load fitted models in a file that cannot run code when loaded (no pickle).

File format
-----------
A zip archive with two members. ``model.json``, UTF-8 strict JSON (no NaN)::

    {"format": "sklearn-deepfm", "format_version": "2.0", "library_version": "0.5.0",
     "object": NODE}

where a NODE is ``{"type": ..., "params": ...}``, ``params`` from ``get_params(deep=False)``,
and by type:

- ``"FieldEncoder"``: ``"fitted"`` holds ``n_features_in``, ``feature_names_in``,
  ``output`` (the ``set_output`` container) and ``fields``, one per column, with
  ``kind``, ``cardinality``, ``missing_code`` and ``categories`` (coded 1, 2, ... in
  order, skipping ``missing_code``: last after a first fit, among them once a warm
  start appended values), ``edges`` (quantile), ``mean`` and ``scale`` (value) or
  ``n_buckets`` and ``hash_key`` (``"hashed"``, ``missing_code`` 0); a
  ``"multi_valued"`` field's codes start at 2, its ``missing_code`` is 1 when fit saw
  no missing value in a list, and ``separator``, ``width`` and ``n_truncated`` follow.
  A vocabulary field of a ``warm_start=True`` encoder also holds ``held``: the
  ``categories`` it left out with their ``counts``, ``n_missing`` (missing values
  counted while they have no code) and ``n_rows``, from which a warm fit goes on.
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
for 0.2.0, 0.4.0's ``refit`` for 0.3.0, 0.5.0's ``linear_start_C``, ``precision``,
``linear_update`` and ``plateau_factor`` and the encoder's ``warm_start`` and
``hash_buckets`` for 0.4.0) needs
no new version: that reader refuses it by name with upgrade advice, before it meets what
came with it (hashed fields, held counts, a missing code among the others).
"""

import json
import os
import re
import zipfile
import zlib

from .. import _files
from .._version import __version__
from ._nodes import from_node, to_node

__all__ = ["FORMAT_VERSION", "load", "save"]

FORMAT = "sklearn-deepfm"
FORMAT_VERSION = "2.0"
# Format 1.x files lack only what 2.0 added, and load with its defaults.
READABLE_MAJORS = ("1", "2")
_MODEL_JSON = "model.json"
_WEIGHTS = "weights.safetensors"


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
    >>> from sklearn_deepfm import FieldEncoder, load, save
    >>> encoder = FieldEncoder().fit(pd.DataFrame({"site": ["a", "b", None]}))
    >>> buffer = io.BytesIO()
    >>> save(encoder, buffer)
    >>> load(buffer).transform(pd.DataFrame({"site": ["b", "z"]}))
    array([[2],
           [0]])
    """
    node, tensors = to_node(obj, include_optimizer=include_optimizer)
    document = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "library_version": __version__,
        "object": node,
    }
    text = json.dumps(document, allow_nan=False, ensure_ascii=False)
    weights = _safetensors().save(tensors, metadata={"format": FORMAT})
    if not isinstance(path, (str, os.PathLike)):  # a file object: the caller's to manage
        _write_archive(path, text, weights)
        return
    with _files.written_whole(path) as file:
        _write_archive(file, text, weights)


def _write_archive(file, text, weights):
    with zipfile.ZipFile(file, "w") as archive:
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
            "written by sklearn_deepfm.save."
        ) from None
    with archive:
        if not {_MODEL_JSON, _WEIGHTS} <= set(archive.namelist()):
            raise ValueError(
                f"{name} is not a sklearn-deepfm model file: the archive lacks {_MODEL_JSON} "
                f"or {_WEIGHTS}. Load files written by sklearn_deepfm.save."
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
        return from_node(document["object"], tensors, device)
    except (KeyError, TypeError, IndexError, AttributeError, RecursionError) as exc:
        raise _corrupted(name, f"{type(exc).__name__}: {exc}") from exc
    except ValueError as exc:
        raise ValueError(f"{name}: {exc}") from exc


def _check_header(document, name):
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise ValueError(
            f"{name} is not a sklearn-deepfm model file: its {_MODEL_JSON} does not declare "
            f'"format": "{FORMAT}". Load files written by sklearn_deepfm.save.'
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
