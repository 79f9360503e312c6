"""Encoded data for training: arrays in memory and Parquet shards on disk, cut into batches."""

from ._arrays import BatchIterator, FieldDataset, as_tensors
from ._parquet import ParquetShards, write_parquet_shards

__all__ = ["BatchIterator", "FieldDataset", "ParquetShards", "as_tensors", "write_parquet_shards"]
