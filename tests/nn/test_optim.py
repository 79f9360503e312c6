"""CatchUpAdam: dense Adam's moves for sparse embedding tables, paid only for the rows used."""

import pytest
import torch
from torch import nn

from sklearn_deepfm.nn import CatchUpAdam

# nothing here is timed: one thread never waits on another on a busy machine
pytestmark = pytest.mark.usefixtures("one_thread")


def sparse_batches(n_rows=40, n_steps=60, batch=12, seed=0):
    """Row indices of Zipf-like batches: some rows come often, some rarely, some never."""
    generator = torch.Generator().manual_seed(seed)
    weights = 1.0 / torch.arange(1, n_rows + 1) ** 1.3
    return [
        torch.multinomial(weights, batch, replacement=True, generator=generator)
        for _ in range(n_steps)
    ]


@pytest.mark.parametrize("betas", [(0.9, 0.999), (0.5, 0.9), (0.0, 0.99)])
def test_catch_up_adam_makes_the_moves_of_dense_adam(betas):
    """With gradients that do not depend on the weights, the paths are the same.

    (When they depend on the weights, the gradient of a row that missed steps is
    taken before their moves are applied, so the paths differ slightly.)

    Two tables share their indices (as DeepFM's order-1 weights and embeddings do),
    batches repeat rows, and rows skip many steps.
    """
    generator = torch.Generator().manual_seed(1)
    start = [torch.randn(40, 3, generator=generator), torch.randn(40, 1, generator=generator)]
    dense = [nn.Embedding(40, w.shape[1], _weight=w.clone()) for w in start]
    lazy = [nn.Embedding(40, w.shape[1], sparse=True, _weight=w.clone()) for w in start]
    dense_adam = torch.optim.Adam([e.weight for e in dense], lr=0.05, betas=betas)
    catch_up = CatchUpAdam([e.weight for e in lazy], lr=0.05, betas=betas)
    # gradients well above eps, whose share in the missed steps' denominators differs
    slopes = [torch.randn(40, w.shape[1], generator=generator) for w in start]
    slopes = [slope.sign() * (0.5 + slope.abs()) for slope in slopes]
    for rows in sparse_batches():
        for tables, optimizer in [(dense, dense_adam), (lazy, catch_up)]:
            optimizer.zero_grad()
            sum(
                (t(rows) * slope[rows]).sum() for t, slope in zip(tables, slopes, strict=True)
            ).backward()
            optimizer.step()
    catch_up.flush()
    for d, c in zip(dense, lazy, strict=True):
        torch.testing.assert_close(c.weight, d.weight, rtol=1e-5, atol=1e-6)


def test_catch_up_adam_touches_only_the_rows_of_the_batch():
    table = nn.Embedding(10, 2, sparse=True)
    optimizer = CatchUpAdam(table.parameters(), lr=0.1)
    for rows in ([0, 1, 2], [3, 4]):  # rows 0..2 get moments, then miss a step
        optimizer.zero_grad()
        table(torch.tensor(rows)).sum().backward()
        before = table.weight.detach().clone()
        optimizer.step()
        moved = (table.weight != before).any(dim=1)
        assert moved.nonzero().flatten().tolist() == rows
    optimizer.flush()  # now rows 0..2 make the momentum move they missed
    assert (table.weight[:3] != before[:3]).all()
    assert torch.equal(table.weight[5:], before[5:])  # never used: never moved


@pytest.mark.parametrize("kwargs", [dict(lr=0.0), dict(eps=0.0), dict(betas=(0.9, 1.0))])
def test_catch_up_adam_rejects_bad_settings(kwargs):
    with pytest.raises(ValueError, match="CatchUpAdam needs"):
        CatchUpAdam(nn.Embedding(3, 2, sparse=True).parameters(), **kwargs)
