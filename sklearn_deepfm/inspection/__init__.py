"""What a fitted model learned, drawn with matplotlib: one Display per module."""

from ._displays import FieldImportanceDisplay, FieldInteractionDisplay, TrainingHistoryDisplay

__all__ = ["FieldImportanceDisplay", "FieldInteractionDisplay", "TrainingHistoryDisplay"]
