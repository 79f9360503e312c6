"""``FieldEncoder``: the columns of a table to the field codes a DeepFM model reads."""

from ._encoder import FieldEncoder

__all__ = ["FieldEncoder"]
