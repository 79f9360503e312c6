"""``FieldEmbedding``: one table for the features of all fields, pooling multi-valued fields."""

from collections.abc import Sequence

import torch
from torch import nn

from .._slots import PADDING_CODE
from ._memory import empty_table


def field_starts(cardinalities):
    """Return each field's first row in a table holding the fields' blocks in order."""
    return torch.cumsum(cardinalities, 0) - cardinalities


class FieldEmbedding(nn.Module):
    """One table for the features of all fields, looked up through per-column offsets.

    Field ``f``'s code ``c`` reads row ``offsets[f] + c``, so one lookup serves
    every field and a single sparse gradient covers the whole batch.

    A multi-valued field (a movie's genres) spans several columns, its slots, all
    reading the field's rows; it contributes one vector, the mean (or sum) of its
    values' rows. Its code 0 pads a slot (``_slots.PADDING_CODE``) and is
    left out, so a row with no values contributes a zero vector. Pooling happens
    before the values' products, so the FM part and the deep part see one field.

    Parameters
    ----------
    cardinalities : sequence of int
        Number of codes of each field.
    embedding_dim : int
        Width of each row (``k`` in the paper; 1 for the order-1 weights).
    sparse : bool, default=False
        Produce sparse gradients, so an optimizer can update only the rows
        a batch touched.
    init_std : float, default=0.01
        Standard deviation of the normal initialisation; 0 gives zeros. (The
        common 1e-4 left the FM part barely trained when early stopping ended,
        on Frappe.)
    widths : sequence of int or None, default=None
        Number of columns of each field; None for one column each.
    multi_valued : sequence of bool or None, default=None
        Which fields are multi-valued (code 0 pads and is left out); None for none.
    pooling : {"mean", "sum"}, default="mean"
        How a multi-valued field combines its values' rows.

    Examples
    --------
    >>> import torch
    >>> embedding = FieldEmbedding([3, 5], embedding_dim=4)
    >>> embedding.offsets
    tensor([0, 3])
    >>> rows = embedding(torch.tensor([[0, 4], [2, 1]]))
    >>> rows.shape
    torch.Size([2, 2, 4])
    >>> torch.equal(rows[0, 1], embedding.embedding.weight[3 + 4])  # field 1, code 4
    True

    A field of three slots: the mean of the rows of codes 2 and 4, slot 2 padding.

    >>> genres = FieldEmbedding([6], 4, widths=[3], multi_valued=[True])
    >>> pooled = genres(torch.tensor([[2, 4, 0]]))
    >>> pooled.shape
    torch.Size([1, 1, 4])
    >>> torch.allclose(pooled[0, 0], genres.embedding.weight[[2, 4]].mean(dim=0))
    True
    """

    def __init__(
        self,
        cardinalities: Sequence[int],
        embedding_dim: int,
        sparse: bool = False,
        init_std: float = 0.01,
        widths: Sequence[int] | None = None,
        multi_valued: Sequence[bool] | None = None,
        pooling: str = "mean",
    ):
        super().__init__()
        if pooling not in ("mean", "sum"):
            raise ValueError(f"pooling must be 'mean' or 'sum'. Got {pooling!r}.")
        cardinalities = torch.as_tensor(list(cardinalities), dtype=torch.long)
        n_fields = len(cardinalities)
        widths = (
            torch.ones(n_fields, dtype=torch.long)
            if widths is None
            else torch.as_tensor(list(widths), dtype=torch.long)
        )
        multi_valued = (
            torch.zeros(n_fields, dtype=torch.bool)
            if multi_valued is None
            else (torch.as_tensor(list(multi_valued), dtype=torch.bool))
        )
        if widths.shape != (n_fields,) or multi_valued.shape != (n_fields,) or (widths < 1).any():
            raise ValueError("widths and multi_valued need one entry per field, widths >= 1.")
        offsets = field_starts(cardinalities).repeat_interleave(widths)  # one per column
        self.register_buffer("offsets", offsets)
        # in memory that a large table asks to have on huge pages; the first draw is
        # nn.Embedding's own, kept so that a seed gives the tables it gave before
        weight = empty_table(int(cardinalities.sum()), embedding_dim).normal_()
        nn.init.normal_(weight, std=init_std)
        self.embedding = nn.Embedding(*weight.shape, sparse=sparse, _weight=weight)
        self.init_std = init_std  # how rows added later start (see ``grow_tables``)
        self.pooling = pooling
        if multi_valued.any() or (widths > 1).any():
            field = torch.arange(n_fields).repeat_interleave(widths)
            # pool[c, f] = 1 where column c belongs to field f: pooling is one matmul
            self.register_buffer("pool", nn.functional.one_hot(field, n_fields).float())
            self.register_buffer("padded", multi_valued.repeat_interleave(widths))
        else:  # one column per field: nothing to pool, and the state dict is as before
            self.pool = self.padded = None

    def forward(self, codes: torch.Tensor, values: torch.Tensor | None = None) -> torch.Tensor:
        """Embed ``codes`` (batch, columns) to (batch, fields, embedding_dim), scaled by values."""
        embedded = self.embedding(codes + self.offsets)
        if values is not None:
            embedded = embedded * values.unsqueeze(-1)
        if self.pool is None:
            return embedded
        return self._pool(codes, embedded)

    def lookup(self, codes: torch.Tensor, values: torch.Tensor | None = None):
        """Return the table row each column reads and the weight it has in its field.

        A field's output is the sum of its columns' rows times their weights: the
        value (1 for a code), times the pooling weight of a multi-valued field's slot.
        Together they are the module's input as a sparse matrix with one column per
        table row, which a linear model can be fitted on.

        Returns
        -------
        rows : LongTensor of shape (batch, columns)
        weights : FloatTensor of shape (batch, columns)
        """
        codes = codes.to(self.offsets.device)
        weights = torch.ones(codes.shape) if values is None else values.float()
        weights = weights.to(self.offsets.device)
        if self.pool is not None:
            weights = weights * self._pool_weights(codes, weights.dtype)
        return codes.long() + self.offsets, weights

    def _pool(self, codes: torch.Tensor, embedded: torch.Tensor) -> torch.Tensor:
        """Sum, or average, each field's columns: (batch, columns, k) to (batch, fields, k)."""
        weighted = embedded * self._pool_weights(codes, embedded.dtype).unsqueeze(-1)
        return (weighted.transpose(1, 2) @ self.pool).transpose(1, 2)

    def _pool_weights(self, codes: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
        """Each column's weight in its field's pooled row: 0 for padding, 1/count for mean."""
        weights = ((codes != PADDING_CODE) | ~self.padded).to(dtype)
        if self.pooling == "mean":  # an empty list: no weight, so a zero vector
            counts = weights @ self.pool
            weights = weights / (counts.clamp(min=1) @ self.pool.T)
        return weights
