"""The data path from validated arrays to batches: tensors, subsets and the batch iterator.

A batch is ``(inputs, targets)``: ``inputs`` holds the module's arguments
(``codes`` and, with continuous fields, ``values``), ``targets`` the ``y`` of
the loss and, when given, each row's ``sample_weight``. skorch hands the first
to the module and the second to the loss, so no field rides in the other.
"""

import numpy as np
import torch
from torch.utils.data import Dataset


def as_tensors(X, value_fields, cardinalities):
    """Split ``X`` into integer codes and, if any field is continuous, float32 values.

    Integer ``X`` with no continuous field is used as is, without a copy (int32
    and int64 both index an embedding); otherwise the codes are int32 when every
    field fits, int64 if not. Value fields get code 0, code fields value 1.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_fields)
    value_fields : ndarray of bool of shape (n_fields,)
    cardinalities : ndarray of shape (n_fields,)

    Returns
    -------
    codes : Tensor of shape (n_samples, n_fields)
    values : FloatTensor of shape (n_samples, n_fields) or None

    Examples
    --------
    >>> import numpy as np
    >>> codes, values = as_tensors(np.array([[2, 0.5]]), np.array([False, True]), np.array([3, 1]))
    >>> codes, values
    (tensor([[2, 0]], dtype=torch.int32), tensor([[1.0000, 0.5000]]))
    """
    if X.dtype in (np.int32, np.int64) and not value_fields.any():
        # torch refuses to share read-only memory (a memmap, say): copy only then.
        X = np.ascontiguousarray(X) if X.flags.writeable else np.array(X)
        return torch.from_numpy(X), None
    fits = cardinalities.max() <= np.iinfo(np.int32).max
    codes = np.zeros(X.shape, dtype=np.int32 if fits else np.int64)
    codes[:, ~value_fields] = X[:, ~value_fields]
    values = None
    if value_fields.any():
        values = np.ones(X.shape, dtype=np.float32)
        values[:, value_fields] = X[:, value_fields]
        values = torch.from_numpy(values)
    return torch.from_numpy(codes), values


class FieldDataset(Dataset):
    """Field codes, optional values, targets and sample weights as whole tensors.

    Parameters
    ----------
    codes : LongTensor or IntTensor of shape (n, fields)
    values : FloatTensor of shape (n, fields) or None
        ``x_i`` of each field; None when every field is categorical (all ones).
    y : FloatTensor of shape (n,) or None
    sample_weight : FloatTensor of shape (n,) or None

    Examples
    --------
    >>> import torch
    >>> data = FieldDataset(torch.tensor([[0, 1], [2, 0]]), y=torch.tensor([1.0, 0.0]))
    >>> data.batch(slice(0, 1))
    ({'codes': tensor([[0, 1]])}, {'y': tensor([1.])})
    """

    def __init__(self, codes, values=None, y=None, sample_weight=None):
        self.codes = codes
        self.values = values
        self.y = y
        self.sample_weight = sample_weight

    def __len__(self):
        return len(self.codes)

    def __getitem__(self, index):
        return self.batch(index)

    def batch(self, index):
        """Return ``(inputs, targets)`` of the rows at ``index`` (int, slice or index tensor)."""
        inputs = {"codes": self.codes[index]}
        if self.values is not None:
            inputs["values"] = self.values[index]
        targets = {"y": self.y[index] if self.y is not None else torch.zeros(0)}
        if self.sample_weight is not None:
            targets["sample_weight"] = self.sample_weight[index]
        return inputs, targets

    def subset(self, index):
        """Return the rows at ``index`` (an array of positions) as a new dataset."""
        index = torch.as_tensor(index)
        parts = (self.codes, self.values, self.y, self.sample_weight)
        return FieldDataset(*(None if part is None else part[index] for part in parts))


class BatchIterator:
    """Yield batches of a ``FieldDataset`` by slicing, in place of a DataLoader.

    A training pass shuffles with ``generator`` (shared across epochs, so each
    epoch gets a new order) and never ends on a batch of one row, which batch
    normalisation cannot train on: such a row joins the batch before it.

    Parameters
    ----------
    dataset : FieldDataset
    batch_size : int
    shuffle : bool, default=False
    generator : torch.Generator or None, default=None

    Examples
    --------
    >>> import torch
    >>> data = FieldDataset(torch.arange(5).reshape(5, 1))
    >>> batches = BatchIterator(data, 2, shuffle=True, generator=torch.Generator().manual_seed(0))
    >>> [len(inputs["codes"]) for inputs, _ in batches]  # no batch of one row
    [2, 3]
    """

    def __init__(self, dataset, batch_size, shuffle=False, generator=None):
        self.dataset = dataset
        self.batch_size = max(1, int(batch_size))
        self.shuffle = shuffle
        self.generator = generator

    def __len__(self):
        return len(self._bounds())

    def _bounds(self):
        n = len(self.dataset)
        starts = list(range(0, n, self.batch_size))
        if self.shuffle and len(starts) > 1 and n - starts[-1] == 1:
            starts.pop()
        return [(start, min(end, n)) for start, end in zip(starts, starts[1:] + [n], strict=True)]

    def __iter__(self):
        order = None
        if self.shuffle:
            order = torch.randperm(len(self.dataset), generator=self.generator)
        for start, end in self._bounds():
            yield self.dataset.batch(slice(start, end) if order is None else order[start:end])
