"""Encoded data on disk for training larger than memory (public path of ``sklearn_deepfm.data``)."""

from .data import ParquetShards, write_parquet_shards

__all__ = ["ParquetShards", "write_parquet_shards"]
