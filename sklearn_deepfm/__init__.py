"""DeepFM click-through-rate prediction for scikit-learn."""

from .datasets import make_ctr_classification
from .encoder import FieldEncoder
from .estimator import DeepFMClassifier

__version__ = "0.1.0"

__all__ = ["DeepFMClassifier", "FieldEncoder", "make_ctr_classification", "__version__"]
