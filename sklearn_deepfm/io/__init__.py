"""Saving, loading and exporting fitted models: safe files, ONNX, ``torch.export``, vocabularies."""

from ._export import export_onnx, export_torch, export_vocabularies
from ._persistence import FORMAT_VERSION, load, save

__all__ = ["FORMAT_VERSION", "export_onnx", "export_torch", "export_vocabularies", "load", "save"]
