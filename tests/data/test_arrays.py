"""BatchIterator: whole batches sliced from the dataset's tensors, every row once."""

import pytest
import torch

from sklearn_deepfm.data import BatchIterator, FieldDataset

# nothing here is timed: one thread never waits on another on a busy machine
pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.mark.parametrize("n_rows, batch_size", [(10, 3), (10, 10), (9, 4), (1, 8)])
def test_batch_iterator_covers_every_row_once_in_slices(n_rows, batch_size):
    codes = torch.arange(2 * n_rows).reshape(n_rows, 2)
    dataset = FieldDataset(codes, y=torch.arange(n_rows).float())
    ordered = list(BatchIterator(dataset, batch_size))
    assert len(ordered) == len(BatchIterator(dataset, batch_size))
    torch.testing.assert_close(torch.cat([X["codes"] for X, _ in ordered]), codes)
    for X, _ in ordered:  # slices of the dataset's tensor, not copies
        assert X["codes"].untyped_storage().data_ptr() == codes.untyped_storage().data_ptr()
    shuffled = BatchIterator(dataset, batch_size, shuffle=True, generator=torch.Generator())
    batches = list(shuffled)
    assert len(batches) == len(shuffled)
    rows = torch.cat([y["y"] for _, y in batches]).long()
    assert sorted(rows.tolist()) == list(range(n_rows))
    assert n_rows == 1 or min(len(y["y"]) for _, y in batches) > 1  # batch norm needs two rows
