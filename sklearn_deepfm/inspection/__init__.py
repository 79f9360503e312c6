"""What a fitted model learned, drawn with matplotlib: one Display per module."""

from ._history import TrainingHistoryDisplay
from ._importance import FieldImportanceDisplay
from ._interaction import FieldInteractionDisplay

__all__ = ["FieldImportanceDisplay", "FieldInteractionDisplay", "TrainingHistoryDisplay"]
