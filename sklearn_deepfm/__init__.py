"""DeepFM click-through-rate prediction for scikit-learn."""

from ._version import __version__
from .datasets import make_ctr_classification
from .encoder import FieldEncoder
from .estimator import DeepFMClassifier
from .export import export_onnx, export_torch, export_vocabularies
from .inspection import FieldImportanceDisplay, FieldInteractionDisplay, TrainingHistoryDisplay
from .persistence import load, save
from .regressor import DeepFMRegressor

__all__ = [
    "DeepFMClassifier",
    "DeepFMRegressor",
    "FieldEncoder",
    "FieldImportanceDisplay",
    "FieldInteractionDisplay",
    "TrainingHistoryDisplay",
    "__version__",
    "export_onnx",
    "export_torch",
    "export_vocabularies",
    "load",
    "make_ctr_classification",
    "save",
]
