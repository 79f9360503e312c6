"""The scikit-learn estimators: ``DeepFMClassifier`` and ``DeepFMRegressor`` on one base."""

from ._classifier import DeepFMClassifier
from ._regressor import DeepFMRegressor

__all__ = ["DeepFMClassifier", "DeepFMRegressor"]
