"""Encoded data for training: arrays in memory and Parquet shards on disk, cut into batches.

Both are ``FieldData``, the one interface the estimators train on.
"""

from ._arrays import BatchIterator, FieldDataset, as_tensors, part_of
from ._dataset import FieldData
from ._parquet import ParquetShards, write_parquet_shards

__all__ = [
    "BatchIterator",
    "FieldData",
    "FieldDataset",
    "ParquetShards",
    "as_tensors",
    "part_of",
    "write_parquet_shards",
]
