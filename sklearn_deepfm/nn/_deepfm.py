"""``DeepFM`` (Guo et al., IJCAI 2017) and its presets, the paper's baselines."""

from collections.abc import Sequence

import torch
from torch import nn

from ._embedding import FieldEmbedding
from ._interactions import fm_interaction, fm_interaction_and_flat
from ._layers import MLP

# Presets of the DeepFM module that give the paper's baselines (see ``MODELS``).
MODEL_PARTS = {
    "deepfm": {"first_order": True, "fm": True, "dnn": True},
    "fm": {"first_order": True, "fm": True, "dnn": False},
    "lr": {"first_order": True, "fm": False, "dnn": False},
    "dnn": {"first_order": False, "fm": False, "dnn": True},
    "wide_deep": {"first_order": True, "fm": False, "dnn": True},
}


class DeepFM(nn.Module):
    """DeepFM: an FM part and a deep part reading one shared embedding table.

    ``logit = w0 + sum_i w_i x_i + sum_{i<j} <v_i, v_j> x_i x_j + MLP([v_1 x_1, ..., v_F x_F])``

    Switching parts off gives the paper's baselines: ``dnn=False`` is an FM,
    ``fm=False, dnn=False`` logistic regression, ``first_order=False, fm=False``
    a plain DNN on embeddings and ``fm=False`` Wide & Deep in its LR & DNN form
    (see ``MODEL_PARTS``).

    Parameters
    ----------
    cardinalities : sequence of int
        Number of codes of each field (a continuous field has one).
    embedding_dim : int, default=10
    hidden_layer_sizes : sequence of int, default=(400, 400, 400)
    dropout : float, default=0.0
    batch_norm : bool, default=False
    first_order : bool, default=True
        Include the bias and the order-1 weights ``w_i``.
    fm : bool, default=True
        Include the pairwise FM interactions.
    dnn : bool, default=True
        Include the deep part.
    sparse : bool, default=False
        Sparse gradients for the embedding tables (see ``FieldEmbedding``).
    init_std : float, default=0.01
        Standard deviation of the embedding initialisation.
    widths, multi_valued, pooling : see ``FieldEmbedding``
        The columns of each field, which fields are multi-valued, and how their
        values combine (``"mean"`` or ``"sum"``).

    Examples
    --------
    >>> import torch
    >>> net = DeepFM([3, 5], embedding_dim=4, hidden_layer_sizes=(8,))
    >>> net(torch.tensor([[0, 4], [2, 1]])).shape
    torch.Size([2])
    """

    def __init__(
        self,
        cardinalities: Sequence[int],
        embedding_dim: int = 10,
        hidden_layer_sizes: Sequence[int] = (400, 400, 400),
        dropout: float = 0.0,
        batch_norm: bool = False,
        first_order: bool = True,
        fm: bool = True,
        dnn: bool = True,
        sparse: bool = False,
        init_std: float = 0.01,
        widths: Sequence[int] | None = None,
        multi_valued: Sequence[bool] | None = None,
        pooling: str = "mean",
    ):
        super().__init__()
        if not (first_order or fm or dnn):
            raise ValueError("DeepFM needs at least one of first_order, fm and dnn.")
        n_fields = len(cardinalities)
        fields = {"widths": widths, "multi_valued": multi_valued, "pooling": pooling}
        self.first_order = (
            FieldEmbedding(cardinalities, 1, sparse, 0.0, **fields) if first_order else None
        )
        self.bias = nn.Parameter(torch.zeros(())) if first_order else None
        self.embedding = (
            FieldEmbedding(cardinalities, embedding_dim, sparse, init_std, **fields)
            if fm or dnn
            else None
        )
        self.fm = fm
        self.dnn = (
            MLP(n_fields * embedding_dim, hidden_layer_sizes, dropout, batch_norm) if dnn else None
        )

    def copy_embeddings_from(self, other: "DeepFM") -> None:
        """Start from ``other``'s embedding table (FNN: the embeddings of a fitted FM)."""
        with torch.no_grad():
            self.embedding.embedding.weight.copy_(other.embedding.embedding.weight)

    def forward(self, codes: torch.Tensor, values: torch.Tensor | None = None) -> torch.Tensor:
        """Return logits of shape (batch,) for ``codes`` and optional ``values`` (batch, fields)."""
        logit = torch.zeros(codes.shape[0], device=codes.device)
        if self.first_order is not None:
            logit = logit + self.bias + self.first_order(codes, values).sum(dim=(1, 2))
        if self.embedding is not None:
            embedded = self.embedding(codes, values)
            if self.fm and self.dnn is not None:  # one backward pass for both readers
                fm, flat = fm_interaction_and_flat(embedded)
                logit = logit + fm + self.dnn(flat).squeeze(-1)
            elif self.fm:
                logit = logit + fm_interaction(embedded)
            elif self.dnn is not None:
                logit = logit + self.dnn(embedded.flatten(start_dim=1)).squeeze(-1)
        return logit
