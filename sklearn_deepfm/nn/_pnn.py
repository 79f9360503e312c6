"""``PNN`` (Qu et al., ICDM 2016): an MLP over a product layer of the embedded fields."""

from collections.abc import Sequence

import torch
from torch import nn

from ._embedding import FieldEmbedding
from ._interactions import inner_products, pooled_outer_product
from ._layers import MLP


class PNN(nn.Module):
    """Product-based neural network (Qu et al., ICDM 2016): an MLP over a product layer.

    The product layer joins the linear signals ``z = [v_1 x_1, ..., v_F x_F]`` (the
    concatenated field embeddings) and the quadratic signals ``p``: the inner products
    of all field pairs (IPNN, ``F * (F - 1) / 2`` values, see ``inner_products``) or the
    outer product of the summed embeddings (OPNN with the paper's sum pooling, ``k * k``
    values, see ``pooled_outer_product``). The MLP's first linear layer over ``[z, p]``
    is the paper's ``l_1 = W_z z + W_p p + b_1``, with full-rank weights.

    ``logit = MLP([z, p])``

    Parameters
    ----------
    cardinalities : sequence of int
        Number of codes of each field (a continuous field has one).
    embedding_dim : int, default=10
    hidden_layer_sizes : sequence of int, default=(400, 400, 400)
    dropout : float, default=0.0
    batch_norm : bool, default=False
    product : {"inner", "outer"}, default="inner"
        The quadratic signals: IPNN's pairwise inner products or OPNN's pooled
        outer product.
    sparse : bool, default=False
        Sparse gradients for the embedding table (see ``FieldEmbedding``).
    init_std : float, default=0.01
        Standard deviation of the embedding initialisation.
    widths, multi_valued, pooling : see ``FieldEmbedding``
        The columns of each field, which fields are multi-valued, and how their
        values combine (``"mean"`` or ``"sum"``).

    Examples
    --------
    >>> import torch
    >>> net = PNN([3, 5, 2], embedding_dim=4, hidden_layer_sizes=(8,), product="outer")
    >>> net(torch.tensor([[0, 4, 1], [2, 1, 0]])).shape
    torch.Size([2])
    """

    def __init__(
        self,
        cardinalities: Sequence[int],
        embedding_dim: int = 10,
        hidden_layer_sizes: Sequence[int] = (400, 400, 400),
        dropout: float = 0.0,
        batch_norm: bool = False,
        product: str = "inner",
        sparse: bool = False,
        init_std: float = 0.01,
        widths: Sequence[int] | None = None,
        multi_valued: Sequence[bool] | None = None,
        pooling: str = "mean",
    ):
        super().__init__()
        n_fields = len(cardinalities)
        if product == "inner":
            n_products = n_fields * (n_fields - 1) // 2
        elif product == "outer":
            n_products = embedding_dim * embedding_dim
        else:
            raise ValueError(f"product must be 'inner' or 'outer'. Got {product!r}.")
        self.product = product
        self.embedding = FieldEmbedding(
            cardinalities, embedding_dim, sparse, init_std, widths, multi_valued, pooling
        )
        self.dnn = MLP(
            n_fields * embedding_dim + n_products, hidden_layer_sizes, dropout, batch_norm
        )

    def forward(self, codes: torch.Tensor, values: torch.Tensor | None = None) -> torch.Tensor:
        """Return logits of shape (batch,) for ``codes`` and optional ``values`` (batch, fields)."""
        embedded = self.embedding(codes, values)
        products = (
            inner_products(embedded) if self.product == "inner" else pooled_outer_product(embedded)
        )
        signals = torch.cat([embedded.flatten(start_dim=1), products], dim=1)
        return self.dnn(signals).squeeze(-1)
