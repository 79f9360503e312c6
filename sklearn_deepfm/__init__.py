"""DeepFM click-through-rate prediction for scikit-learn.

The public names load on first use (PEP 562), so that ``import sklearn_deepfm.nn``, the
pure-torch part, does not import pandas, pyarrow or scikit-learn.
"""

import importlib

from ._version import __version__  # noqa: F401 (in __all__)

# public name -> the subpackage that defines it
_PUBLIC = {
    "DeepFMClassifier": "estimators",
    "DeepFMRegressor": "estimators",
    "FieldEncoder": "preprocessing",
    "FieldImportanceDisplay": "inspection",
    "FieldInteractionDisplay": "inspection",
    "TrainingHistoryDisplay": "inspection",
    "export_onnx": "io",
    "export_torch": "io",
    "export_vocabularies": "io",
    "load": "io",
    "make_ctr_classification": "datasets",
    "save": "io",
}

__all__ = [*_PUBLIC, "__version__"]


def __getattr__(name):
    if name not in _PUBLIC:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_PUBLIC[name]}", __name__), name)
    globals()[name] = value  # later reads skip this function
    return value


def __dir__():
    return __all__
