"""``FieldData``: what training asks of its data, in memory or on disk alike.

An estimator never asks which kind of data it trains on. ``FieldDataset`` (arrays in
memory or memory-mapped) and ``ParquetShards`` (files read a shard at a time) answer
the same questions: how many rows, their labels, their batches, a subset, a
validation split and an identity for checkpoints. A batch is ``(inputs, targets)``
(see ``FieldDataset``).
"""

from abc import ABCMeta, abstractmethod

import numpy as np
from torch.utils.data import Dataset


class FieldData(Dataset, metaclass=ABCMeta):
    """The interface of the data a DeepFM estimator trains on.

    Attributes
    ----------
    validation : FieldData or None
        Held-out rows that come with the data (``ParquetShards(validation=...)``),
        which early stopping uses instead of a split; None when there are none.
    """

    validation = None

    @abstractmethod
    def __len__(self):
        """Return the number of rows."""

    @abstractmethod
    def labels(self):
        """Return each row's label as the data holds it, an ndarray.

        The loss's targets for a ``FieldDataset`` (an estimator builds it from
        validated arrays), the stored labels for ``ParquetShards``.
        """

    def class_counts(self):
        """Return the rows of each distinct label, in the labels' order, counted once.

        The classifier's "auto" rules each ask for them in a fit; on shards every
        count would read the label column of every shard again.
        """
        counts = self.__dict__.get("_class_counts")
        if counts is None:
            counts = self._class_counts = np.unique(self.labels(), return_counts=True)[1]
        return counts

    @abstractmethod
    def iter_batches(self, batch_size, shuffle=False, generator=None, min_rows=1):
        """Yield ``(inputs, targets)`` batches of ``batch_size`` rows.

        A shuffled pass draws a new order from ``generator``. A last batch of fewer
        than ``min_rows`` rows joins the batch before it (batch normalisation cannot
        train on one row, nor a data-parallel rank on none).
        """

    @abstractmethod
    def n_batches(self, batch_size, min_rows=1):
        """Return how many batches ``iter_batches`` yields."""

    @abstractmethod
    def subset(self, index):
        """Return the parts at ``index`` (rows of arrays, shards of shards) as new data."""

    @abstractmethod
    def split(self, fraction, seed, *, stratify=False):
        """Return ``(train, valid)``, about ``fraction`` of the data held out for early stopping.

        Drawn with ``seed``; stratified by the rows' targets (a classifier's
        classes) when ``stratify`` and the data can be split by rows.
        """

    @abstractmethod
    def fingerprint(self):
        """Return a cheap identity: a checkpoint keeps it to resume only the fit on this data."""
