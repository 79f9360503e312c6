"""The data path from validated arrays to batches: tensors, subsets and the batch iterator.

A batch is ``(inputs, targets)``: ``inputs`` holds the module's arguments
(``codes`` and, with continuous fields, ``values``), ``targets`` the ``y`` of
the loss and, when given, each row's ``sample_weight``. skorch hands the first
to the module and the second to the loss, so no field rides in the other.
"""

import hashlib
import warnings

import numpy as np
import torch
from sklearn.model_selection import train_test_split

from ._dataset import FieldData

# Rows at each end of a dataset that its fingerprint hashes.
_FINGERPRINT_ROWS = 1000


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
        X = np.ascontiguousarray(X)  # no copy for a C-ordered array
        if X.flags.writeable:
            return torch.from_numpy(X), None
        # read-only memory (a memmap, say): shared, never written (batches are
        # gathered into new tensors), so torch's warning does not apply
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
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


class FieldDataset(FieldData):
    """Field codes, optional values, targets and sample weights as whole tensors.

    A subset keeps the whole tensors and the positions of its rows, so that a
    validation split of a large (memory-mapped) array copies batches, not rows.

    Parameters
    ----------
    codes : LongTensor or IntTensor of shape (n, fields)
    values : FloatTensor of shape (n, fields) or None
        ``x_i`` of each field; None when every field is categorical (all ones).
    y : FloatTensor of shape (n,) or None
    sample_weight : FloatTensor of shape (n,) or None
    rows : LongTensor of shape (m,) or None
        The rows of the tensors that make this dataset; None for all of them.

    Examples
    --------
    >>> import torch
    >>> data = FieldDataset(torch.tensor([[0, 1], [2, 0]]), y=torch.tensor([1.0, 0.0]))
    >>> data.batch(slice(0, 1))
    ({'codes': tensor([[0, 1]])}, {'y': tensor([1.])})
    """

    def __init__(self, codes, values=None, y=None, sample_weight=None, rows=None):
        self._tensors = {"codes": codes, "values": values, "y": y, "sample_weight": sample_weight}
        self.rows = rows

    def __len__(self):
        return len(self.rows) if self.rows is not None else len(self._tensors["codes"])

    def __getitem__(self, index):
        return self.batch(index)

    def __getattr__(self, name):
        """``codes``, ``values``, ``y`` and ``sample_weight`` of this dataset's rows."""
        tensors = self.__dict__.get("_tensors", {})
        if name not in tensors:
            raise AttributeError(name)
        return self._take(tensors[name], slice(None))

    def _take(self, tensor, index):
        if tensor is None:
            return None
        return tensor[index] if self.rows is None else tensor[self.rows[index]]

    def batch(self, index):
        """Return ``(inputs, targets)`` of the rows at ``index`` (int, slice or index tensor)."""
        if self.rows is not None:
            index = self.rows[index]
        tensors = self._tensors
        inputs = {"codes": tensors["codes"][index]}
        if tensors["values"] is not None:
            inputs["values"] = tensors["values"][index]
        targets = {"y": tensors["y"][index] if tensors["y"] is not None else torch.zeros(0)}
        if tensors["sample_weight"] is not None:
            targets["sample_weight"] = tensors["sample_weight"][index]
        return inputs, targets

    def subset(self, index):
        """Return the rows at ``index`` (an array of positions) as a dataset sharing the tensors."""
        index = torch.as_tensor(index)
        rows = index if self.rows is None else self.rows[index]
        return FieldDataset(**self._tensors, rows=rows)

    def labels(self):
        """Return the targets ``y`` of this dataset's rows, an ndarray."""
        return self.y.numpy()

    def split(self, fraction, seed, *, stratify=False):
        """Return ``(train, valid)``: ``fraction`` of the rows held out, drawn with ``seed``.

        With ``stratify``, each distinct target (a classifier's class) is split in
        proportion, so that both sides hold every class.
        """
        n = len(self)
        classes = np.unique(self.labels(), return_inverse=True)[1] if stratify else None
        try:
            train, valid = train_test_split(
                np.arange(n), test_size=fraction, stratify=classes, random_state=seed
            )
        except ValueError as error:
            kind, need = ("a stratified", "rows of both classes") if stratify else ("a", "rows")
            raise ValueError(
                f"Early stopping holds out {kind} validation split of "
                f"validation_fraction={fraction} of the {n} rows, which needs {need} on each "
                f"side: {error} Pass more rows or set early_stopping=False."
            ) from error
        return self.subset(train), self.subset(valid)

    def fingerprint(self):
        """Return ``[rows, hash]``: a hash of the first and last rows' codes, values and targets."""
        digest = hashlib.blake2b(digest_size=16)
        head, tail = slice(None, _FINGERPRINT_ROWS), slice(-_FINGERPRINT_ROWS, None)
        for name in ("codes", "values", "y"):
            tensor = self._tensors[name]
            if tensor is not None:
                ends = self._take(tensor, head).numpy(), self._take(tensor, tail).numpy()
                digest.update(ends[0].tobytes() + ends[1].tobytes())
        return [len(self), digest.hexdigest()]

    def iter_batches(self, batch_size, shuffle=False, generator=None, min_rows=1):
        """Yield ``(inputs, targets)`` batches, sliced or gathered from the tensors."""
        order = torch.randperm(len(self), generator=generator) if shuffle else None
        for start, end in _bounds(len(self), batch_size, min_rows):
            yield self.batch(slice(start, end) if order is None else order[start:end])

    def n_batches(self, batch_size, min_rows=1):
        """Return how many batches ``iter_batches`` yields."""
        return len(_bounds(len(self), batch_size, min_rows))


def _bounds(n, batch_size, min_rows):
    starts = list(range(0, n, batch_size))
    if len(starts) > 1 and n - starts[-1] < min_rows:
        starts.pop()
    return [(start, min(end, n)) for start, end in zip(starts, starts[1:] + [n], strict=True)]


def part_of(batch, rank, world_size):
    """Return rank ``rank``'s share of a batch: its slice of ``world_size`` near-equal slices.

    ``targets["loss_scale"]`` is ``world_size`` times the share's fraction of the rows:
    the ranks' mean losses so scaled, averaged by DistributedDataParallel, give the
    mean over the whole batch, however unevenly its rows split.

    Parameters
    ----------
    batch : tuple of dict
        ``(inputs, targets)`` as ``BatchIterator`` yields them.
    rank, world_size : int
        This process's rank and the number of processes.

    Returns
    -------
    tuple of dict
        The share's ``(inputs, targets)``.
    """
    inputs, targets = batch
    n = len(inputs["codes"])
    start, end = n * rank // world_size, n * (rank + 1) // world_size
    inputs = {key: value[start:end] for key, value in inputs.items()}
    targets = {key: value[start:end] for key, value in targets.items()}
    targets["loss_scale"] = torch.tensor(world_size * (end - start) / n)
    return inputs, targets


class BatchIterator:
    """Yield whole batches of a dataset, in place of a DataLoader (no per-row collation).

    The dataset cuts them (``iter_batches``): a ``FieldDataset`` from its tensors,
    a ``ParquetShards`` a shard at a time. A training pass shuffles with
    ``generator`` (shared across epochs, so each epoch gets a new order).

    Parameters
    ----------
    dataset : FieldData
    batch_size : int
    shuffle : bool, default=False
    generator : torch.Generator or None, default=None
    part : tuple of int, default=(0, 1)
        ``(rank, world_size)``: in data-parallel training each rank takes its
        slice of every batch (``part_of``), the batches being the same on all ranks.

    Examples
    --------
    >>> import torch
    >>> data = FieldDataset(torch.arange(5).reshape(5, 1))
    >>> batches = BatchIterator(data, 2, shuffle=True, generator=torch.Generator().manual_seed(0))
    >>> [len(inputs["codes"]) for inputs, _ in batches]  # no batch of one row
    [2, 3]
    """

    def __init__(self, dataset, batch_size, shuffle=False, generator=None, part=(0, 1)):
        self.dataset = dataset
        self.batch_size = max(1, int(batch_size))
        self.shuffle = shuffle
        self.generator = generator
        self.part = part
        # a shuffled (training) pass gives every rank at least two rows of each batch
        self.min_rows = 2 * part[1] if shuffle else 1

    def __len__(self):
        return self.dataset.n_batches(self.batch_size, self.min_rows)

    def __iter__(self):
        batches = self.dataset.iter_batches(
            self.batch_size, self.shuffle, self.generator, self.min_rows
        )
        rank, world_size = self.part
        if world_size == 1:
            return batches
        return (part_of(batch, rank, world_size) for batch in batches)
