"""Export a fitted model for serving outside Python: ONNX, ``torch.export`` and vocabularies.

The exported networks start where the encoder ends. Their inputs are

- ``codes``: int64 of shape ``(batch, n_fields)``, the field codes (what
  ``FieldEncoder.transform`` returns); entries of value fields are ignored;
- ``values``: float32 of shape ``(batch, n_fields)``, only when the model has value
  (continuous) fields: the standardized values; entries of code fields are ignored.

So both can be cut from the encoder's output ``X``: ``codes = X.astype(int64)``,
``values = X.astype(float32)``. The outputs, of shape ``(batch,)``, are

- for a ``DeepFMClassifier``: ``logit``, the calibrated logit of the positive class
  ``classes_[1]`` (``decision_function``), and ``probability``, its sigmoid
  (``predict_proba(X)[:, 1]``);
- for a ``DeepFMRegressor``: ``prediction``, in the units of ``y`` (``predict``).

The batch size is free.

:func:`export_vocabularies` (``_vocabularies``) writes what the encoder knows as plain
JSON, so that a service in any language can compute the codes and values from raw rows.
"""

import contextlib
import copy
import json
import logging
import os
import warnings

import numpy as np
import torch
from sklearn.pipeline import Pipeline
from torch import nn

from ..estimators._classifier import DeepFMClassifier
from ..estimators._regressor import DeepFMRegressor
from ..preprocessing._encoder import FieldEncoder
from ._fitted import find_fitted
from ._vocabularies import export_vocabularies

__all__ = ["export_onnx", "export_torch", "export_vocabularies"]

_ESTIMATORS = (DeepFMClassifier, DeepFMRegressor)


class _ServingModule(nn.Module):
    """The fitted network and its output map: codes (and values) in, the outputs out.

    The network's output goes through ``scale * output + shift`` (the classifier's
    calibration, the regressor's target scale); with ``probability``, its sigmoid
    follows as a second output. Code fields get ``values`` 1 and value fields code 0
    whatever the inputs hold, so that both inputs can be cut from the encoder's output.
    """

    def __init__(self, module: nn.Module, value_fields: np.ndarray, scale, shift, probability):
        super().__init__()
        self.module = module
        self.register_buffer("code_fields", torch.as_tensor(~value_fields, dtype=torch.long))
        self.register_buffer("value_fields", torch.as_tensor(value_fields, dtype=torch.bool))
        self.scale, self.shift = float(scale), float(shift)
        self.probability = probability
        self.output_names = ["logit", "probability"] if probability else ["prediction"]

    def forward(self, codes: torch.Tensor, values: torch.Tensor | None = None):
        """Return the mapped outputs, of shape (batch,): a tensor, or logit and probability."""
        if values is not None:
            codes = codes * self.code_fields
            values = torch.where(self.value_fields, values, torch.ones_like(values))
        output = self.scale * self.module(codes, values) + self.shift
        return (output, torch.sigmoid(output)) if self.probability else output


def export_onnx(model, path, *, raw=False):
    """Write the fitted network, after the encoder, as an ONNX model; or the whole pipeline.

    Parameters
    ----------
    model : DeepFMClassifier, DeepFMRegressor or Pipeline
        A fitted classifier or regressor, or a Pipeline ending in one (its other
        steps, such as the encoder, are not exported: see :func:`export_vocabularies`).
        With ``raw=True``, a fitted ``make_pipeline(FieldEncoder(...), estimator)``.
    path : str or path-like
        Where to write the ``.onnx`` file.
    raw : bool, default=False
        Export the encoder too: one graph from the raw columns to the outputs. Its
        inputs are the columns, by name, each 1-d of shape ``(batch,)``: strings
        (``tensor(string)``, ``""`` for missing) for string categories and separated
        multi-valued columns, doubles (``tensor(double)``, NaN for missing) for every
        numeric column (booleans as 0 and 1). The outputs are the same as without
        ``raw``. A row holding an infinite number in a binned or value column, which
        ``transform`` refuses, gets NaN. What the graph cannot reproduce is refused
        with a ``ValueError`` naming the column: list cells (join them and refit with
        a separator), a string category ``""``, categories of mixed kinds or integers
        beyond 2**53. The metadata's ``sklearn_deepfm.raw_inputs`` describes each input.

    Notes
    -----
    Inputs ``codes`` (and ``values`` when the model has value fields), outputs
    ``logit`` and ``probability`` (a classifier) or ``prediction`` (a regressor):
    see the module's documentation. The model's metadata (``metadata_props``) holds
    the column names, which columns are values, the columns of each field
    (``field_slices``, ``[start, stop)``: several for a multi-valued field, whose
    slots the network pools itself), and the class labels and the
    calibration (a classifier) or ``y_mean`` and ``y_scale`` (a regressor), as JSON
    under keys ``sklearn_deepfm.*``.
    Needs the ``onnx`` and ``onnxscript`` packages (``pip install
    sklearn-deepfm[export]``); run it with e.g. onnxruntime.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> import onnxruntime
    >>> from sklearn_deepfm import DeepFMClassifier, make_ctr_classification
    >>> X, y = make_ctr_classification(n_samples=200, random_state=0)
    >>> clf = DeepFMClassifier(
    ...     embedding_dim=4, hidden_layer_sizes=(8,), max_epochs=1, random_state=0
    ... ).fit(X, y)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = os.path.join(tmp, "ctr.onnx")
    ...     export_onnx(clf, path)
    ...     session = onnxruntime.InferenceSession(path)
    ...     logit, probability = session.run(None, {"codes": X.astype(np.int64)})
    >>> np.allclose(probability, clf.predict_proba(X)[:, 1], atol=1e-5)
    True
    """
    if raw:
        from ._raw_onnx import export_raw_onnx

        return export_raw_onnx(model, path)
    for package in ("onnx", "onnxscript"):
        _require(package, "export_onnx")
    serving, inputs, dynamic_shapes, metadata = _serving(model, "export_onnx")
    with _quiet_exporter():
        onnx_program = torch.onnx.export(
            serving,
            kwargs=inputs,
            dynamo=True,
            dynamic_shapes=dynamic_shapes,
            input_names=list(inputs),
            output_names=serving.output_names,
            verbose=False,
        )
    outputs = (
        "the calibrated logit and probability of the positive class"
        if serving.probability
        else "the prediction, in the units of y"
    )
    onnx_program.model.doc_string = (
        "sklearn-deepfm network: int64 codes (batch, n_fields) [and float32 values (batch, "
        f"n_fields)] to {outputs}."
    )
    for key, value in metadata.items():
        onnx_program.model.metadata_props[f"sklearn_deepfm.{key}"] = json.dumps(value, default=str)
    onnx_program.save(os.fspath(path))


def export_torch(model, path):
    """Write the fitted network, after the encoder, as a ``torch.export`` program (``.pt2``).

    Parameters
    ----------
    model : DeepFMClassifier, DeepFMRegressor or Pipeline
        A fitted classifier or regressor, or a Pipeline ending in one.
    path : str or path-like
        Where to write the ``.pt2`` archive.

    Notes
    -----
    Load it without sklearn-deepfm: ``torch.export.load(path).module()`` is a
    callable taking ``codes`` (and ``values``) and returning ``(logit,
    probability)`` (a classifier) or the ``prediction`` tensor (a regressor), see
    the module's documentation; the archive's extra file
    ``sklearn_deepfm.json`` holds the same metadata as :func:`export_onnx`'s.
    ``torch.jit`` (TorchScript) is deprecated since PyTorch 2.9, hence
    ``torch.export``.

    Examples
    --------
    A Pipeline's network, after its encoder (here with a continuous field, so the
    program takes ``values`` too):

    >>> import os, tempfile
    >>> import numpy as np
    >>> import torch
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn_deepfm import DeepFMClassifier, FieldEncoder, make_ctr_classification
    >>> X, y = make_ctr_classification(n_samples=200, n_numeric=1, as_frame=True, random_state=0)
    >>> pipe = make_pipeline(
    ...     FieldEncoder(numeric_encoding="value"), DeepFMClassifier(max_epochs=1, random_state=0)
    ... ).fit(X, y)
    >>> encoded = pipe[0].transform(X)
    >>> codes, values = torch.as_tensor(encoded).long(), torch.as_tensor(encoded).float()
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     export_torch(pipe, os.path.join(tmp, "ctr.pt2"))
    ...     program = torch.export.load(os.path.join(tmp, "ctr.pt2")).module()
    ...     with torch.no_grad():
    ...         probability = program(codes=codes, values=values)[1].numpy()
    >>> np.allclose(probability, pipe.predict_proba(X)[:, 1], atol=1e-5)
    True
    """
    serving, inputs, dynamic_shapes, metadata = _serving(model, "export_torch")
    with torch.no_grad():
        program = torch.export.export(serving, (), inputs, dynamic_shapes=dynamic_shapes)
    extra_files = {"sklearn_deepfm.json": json.dumps(metadata, default=str)}
    torch.export.save(program, os.fspath(path), extra_files=extra_files)


def _serving(model, caller):
    """Return the serving module, example inputs, their dynamic shapes and the metadata."""
    estimator = find_fitted(model, _ESTIMATORS, caller)
    module = estimator.net_.module_
    if any(t.device.type != "cpu" for t in module.state_dict().values()):
        module = copy.deepcopy(module).cpu()
    if isinstance(estimator, DeepFMClassifier):
        scale, shift = estimator.calibration_
        target = {
            "classes": estimator.classes_.tolist(),  # written with json.dumps(default=str)
            "calibration": [float(scale), float(shift)],
        }
    else:
        scale, shift = estimator.y_scale_, estimator.y_mean_
        target = {"y_mean": float(shift), "y_scale": float(scale)}
    probability = isinstance(estimator, DeepFMClassifier)
    serving = _ServingModule(module, estimator.value_fields_, scale, shift, probability).eval()
    n_fields = estimator.n_features_in_
    inputs = {"codes": torch.zeros(2, n_fields, dtype=torch.long)}
    if estimator.value_fields_.any():
        inputs["values"] = torch.ones(2, n_fields)
    batch = torch.export.Dim("batch")
    dynamic_shapes = {name: {0: batch} for name in inputs}
    encoder = find_fitted(model, FieldEncoder, None) if isinstance(model, Pipeline) else None
    if encoder is not None:
        names = encoder.get_feature_names_out()
    else:
        names = getattr(estimator, "feature_names_in_", None)
    metadata = {
        "field_names": None if names is None else [str(name) for name in names],
        "value_fields": estimator.value_fields_.tolist(),
        # [start, stop) of each field's columns: several for a multi-valued field
        "field_slices": [[s.start, s.stop] for s in estimator.field_slices_],
        **target,
    }
    return serving, inputs, dynamic_shapes, metadata


@contextlib.contextmanager
def _quiet_exporter():
    """Silence the ONNX exporter's notes about torch internals, which users cannot act on."""
    logger = logging.getLogger("torch.onnx")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            warnings.simplefilter("ignore", DeprecationWarning)
            # two inputs share the batch dimension, which torch reports as a UserWarning
            warnings.filterwarnings("ignore", message=".*axis name", category=UserWarning)
            yield
    finally:
        logger.setLevel(level)


def _require(package, caller):
    import importlib.util

    if importlib.util.find_spec(package) is None:
        raise ImportError(
            f"{caller} needs the {package} package: pip install {package} (or "
            "sklearn-deepfm[export])."
        )
