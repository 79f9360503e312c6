"""Growing a network's tables for new codes, and its optimizers' per-row state with them.

Logs that arrive daily bring new ids: an encoder refitted on them keeps every code it
gave and appends codes for the new values, so a field's cardinality grows. A
``FieldEmbedding`` keeps all fields in one table, field ``f`` in the block of rows
``offsets[f] .. offsets[f] + cardinality[f]``; growing field ``f`` appends rows to the end
of its block, which moves the blocks of the later fields down. ``grow_tables`` builds the
larger table, copies every old row to its new position and starts the new rows as a new
table starts its rows: normal with the table's ``init_std``, zeros for the order-1
weights (``init_std=0``).

The parameters stay the same objects, only their data is replaced: the optimizers,
which hold them by identity, and whatever wraps the module keep working.
``grow_optimizer_state`` spreads an optimizer's per-row state to the new positions, new
rows starting as rows of a new table do.

Examples
--------
>>> import torch
>>> from sklearn_deepfm.nn import DeepFM
>>> net = DeepFM([3, 5], embedding_dim=4, hidden_layer_sizes=(8,))
>>> old = net.embedding.embedding.weight.detach().clone()
>>> positions = grow_tables(net, [4, 5])  # field 0 gains its code 3
>>> net.embedding.offsets, net.embedding.embedding.num_embeddings
(tensor([0, 4]), 9)
>>> torch.equal(net.embedding.embedding.weight[positions[net.embedding.embedding.weight]], old)
True
"""

from collections.abc import Sequence

import torch
from torch import nn

from ._embedding import FieldEmbedding, field_starts
from ._memory import empty_rows_like

# Optimizer state kept per table row: the moments of torch's Adam, SparseAdam and
# CatchUpAdam. A new row has no gradient yet, so its moments start at zero.
_ROW_MOMENTS = ("exp_avg", "exp_avg_sq", "max_exp_avg_sq")
# CatchUpAdam's step at which each row was last brought up to date. A new row has
# missed no step: it joins at the current step, as ``flush`` leaves every row (with
# zero moments, the steps it would otherwise catch up on move it by nothing anyway).
_ROW_LAST_STEP = "last_step"


def grow_tables(
    module: nn.Module, cardinalities: Sequence[int], generator: torch.Generator | None = None
) -> dict[nn.Parameter, torch.Tensor]:
    """Grow every ``FieldEmbedding`` of ``module`` to the per-field ``cardinalities``.

    Parameters
    ----------
    module : torch.nn.Module
        A network whose tables are ``FieldEmbedding`` modules of the same fields.
    cardinalities : sequence of int
        The new number of codes of each field, none below the current one.
    generator : torch.Generator or None, default=None
        Draws the new embedding rows (torch's global stream when None), on the CPU
        whatever the table's device, so that the draws do not depend on it.

    Returns
    -------
    positions : dict of Parameter to LongTensor
        For each table that grew, the new row of each of its old rows.
    """
    grown = {}
    for table in module.modules():
        if isinstance(table, FieldEmbedding):
            positions = _grow_table(table, cardinalities, generator)
            if positions is not None:
                grown[table.embedding.weight] = positions
    return grown


def grow_optimizer_state(
    optimizer: torch.optim.Optimizer, positions: dict[nn.Parameter, torch.Tensor]
) -> None:
    """Move ``optimizer``'s per-row state of the grown tables to the rows' new positions.

    Old rows keep their moments (and ``CatchUpAdam``'s last step); new rows start with
    zero moments, up to date at the current step. ``positions`` is what
    ``grow_tables`` returned; a parameter the optimizer has no state for is skipped.
    """
    for param, rows in positions.items():
        state = optimizer.state.get(param)
        if not state:  # not stepped yet: the optimizer sizes its state on its first step
            continue
        for key, value in list(state.items()):
            if key in _ROW_MOMENTS:
                state[key] = _spread(value, rows, len(param), fill=0)
            elif key == _ROW_LAST_STEP:
                state[key] = _spread(value, rows, len(param), fill=int(state["step"]))
            elif torch.is_tensor(value) and value.dim() == param.dim() and len(value) == len(rows):
                raise ValueError(
                    f"{type(optimizer).__name__}'s state {key!r} holds a value per table row, "
                    "which grow_optimizer_state does not know how to start for new rows."
                )


def field_layout(table: FieldEmbedding) -> tuple[torch.Tensor, torch.Tensor]:
    """Return each field's number of rows and of columns, read from the table's offsets.

    Consecutive columns with the same offset are one field's slots, as every field
    has at least one row.
    """
    starts, widths = torch.unique_consecutive(table.offsets.cpu(), return_counts=True)
    end = torch.tensor([table.embedding.num_embeddings])
    return torch.diff(starts, append=end), widths


def _grow_table(table, cardinalities, generator):
    """Grow one table; return the new positions of its old rows, or None if it kept its size."""
    old_sizes, widths = field_layout(table)
    new_sizes = torch.as_tensor(list(cardinalities), dtype=torch.long)
    if new_sizes.shape != old_sizes.shape or (new_sizes < old_sizes).any():
        raise ValueError(
            f"Tables grow to one cardinality per field, none below the current "
            f"{old_sizes.tolist()}. Got {new_sizes.tolist()}."
        )
    if torch.equal(new_sizes, old_sizes):
        return None
    old_starts, new_starts = field_starts(old_sizes), field_starts(new_sizes)
    # every row of field f moves down by as many rows as the fields before f gained
    positions = torch.arange(int(old_sizes.sum())) + torch.repeat_interleave(
        new_starts - old_starts, old_sizes
    )
    added = torch.ones(int(new_sizes.sum()), dtype=torch.bool)
    added[positions] = False
    weight = table.embedding.weight
    fresh = _new_rows(int(added.sum()), weight.shape[1], table.init_std, weight.dtype, generator)
    with torch.no_grad():
        data = empty_rows_like(weight, len(added))
        data[positions.to(weight.device)] = weight
        data[added.to(weight.device)] = fresh.to(weight.device)
    weight.data = data  # the same Parameter object: optimizers keep holding it
    weight.grad = None  # a gradient of the old shape would not fit
    table.embedding.num_embeddings = len(added)
    table.offsets = new_starts.repeat_interleave(widths).to(table.offsets.device)
    return positions


def _new_rows(n_rows, width, init_std, dtype, generator):
    """Rows as ``FieldEmbedding`` starts them: normal with ``init_std``, zeros for 0."""
    if init_std == 0:
        return torch.zeros((n_rows, width), dtype=dtype)
    return torch.empty((n_rows, width), dtype=dtype).normal_(0, init_std, generator=generator)


def _spread(value, rows, n_rows, fill):
    """Return ``value`` (one entry per old row) at ``rows`` of ``n_rows``, ``fill`` elsewhere."""
    grown = empty_rows_like(value, n_rows).fill_(fill)
    grown[rows.to(value.device)] = value
    return grown
