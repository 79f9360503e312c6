"""PyTorch modules of DeepFM (Guo et al., IJCAI 2017) and PNN, usable without scikit-learn.

Every module takes a batch of field codes ``codes`` of shape ``(batch, n_fields)``
(column ``codes[:, f]`` indexes field ``f``'s own vocabulary) and optional
``values`` of the same shape: the ``x_i`` of the paper, 1 for a categorical
field and the (scaled) number for a continuous field. A multi-valued field spans
several columns, one per value (see ``FieldEmbedding``). Modules return logits;
the loss applies the sigmoid.
"""

from collections.abc import Sequence

import torch
from torch import nn

from ._multi_valued import PADDING_CODE

__all__ = [
    "DeepFM",
    "Dropout",
    "FieldEmbedding",
    "MLP",
    "MODELS",
    "MODEL_PARTS",
    "MODULES",
    "PNN",
    "fm_interaction",
    "has_batch_norm",
    "inner_products",
    "pooled_outer_product",
]

# Presets of the DeepFM module that give the paper's baselines (see ``MODELS``).
MODEL_PARTS = {
    "deepfm": {"first_order": True, "fm": True, "dnn": True},
    "fm": {"first_order": True, "fm": True, "dnn": False},
    "lr": {"first_order": True, "fm": False, "dnn": False},
    "dnn": {"first_order": False, "fm": False, "dnn": True},
    "wide_deep": {"first_order": True, "fm": False, "dnn": True},
}


class FieldEmbedding(nn.Module):
    """One table for the features of all fields, looked up through per-column offsets.

    Field ``f``'s code ``c`` reads row ``offsets[f] + c``, so one lookup serves
    every field and a single sparse gradient covers the whole batch.

    A multi-valued field (a movie's genres) spans several columns, its slots, all
    reading the field's rows; it contributes one vector, the mean (or sum) of its
    values' rows. Its code 0 pads a slot (``_multi_valued.PADDING_CODE``) and is
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
        common 1e-4 left the FM part barely trained when early stopping ended
        on Frappe: held-out AUC 0.928 against 0.932-0.936 with 0.01.)
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
        offsets = torch.zeros_like(cardinalities)
        offsets[1:] = torch.cumsum(cardinalities, 0)[:-1]
        self.register_buffer("offsets", offsets.repeat_interleave(widths))  # one per column
        self.embedding = nn.Embedding(int(cardinalities.sum()), embedding_dim, sparse=sparse)
        nn.init.normal_(self.embedding.weight, std=init_std)
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

    def _pool(self, codes: torch.Tensor, embedded: torch.Tensor) -> torch.Tensor:
        """Sum, or average, each field's columns: (batch, columns, k) to (batch, fields, k)."""
        weights = ((codes != PADDING_CODE) | ~self.padded).to(embedded.dtype)
        if self.pooling == "mean":  # an empty list: no weight, so a zero vector
            counts = weights @ self.pool
            weights = weights / (counts.clamp(min=1) @ self.pool.T)
        weighted = embedded * weights.unsqueeze(-1)
        return (weighted.transpose(1, 2) @ self.pool).transpose(1, 2)


def fm_interaction(embedded: torch.Tensor) -> torch.Tensor:
    """Sum of ``<v_i x_i, v_j x_j>`` over all field pairs ``i < j``, per row.

    Uses ``0.5 * ((sum_i e_i)^2 - sum_i e_i^2)`` summed over the embedding
    dimension: O(k * fields) instead of O(k * fields^2).

    Parameters
    ----------
    embedded : Tensor of shape (batch, fields, k)

    Returns
    -------
    Tensor of shape (batch,)

    Examples
    --------
    >>> import itertools
    >>> import torch
    >>> embedded = torch.randn(2, 4, 3, generator=torch.Generator().manual_seed(0))
    >>> pairs = itertools.combinations(range(4), 2)
    >>> brute_force = sum((embedded[:, i] * embedded[:, j]).sum(dim=1) for i, j in pairs)
    >>> torch.allclose(fm_interaction(embedded), brute_force)
    True
    """
    square_of_sum = embedded.sum(dim=1).square()
    sum_of_squares = embedded.square().sum(dim=1)
    return 0.5 * (square_of_sum - sum_of_squares).sum(dim=1)


def inner_products(embedded: torch.Tensor) -> torch.Tensor:
    """Inner product ``<e_i, e_j>`` of every field pair ``i < j``: IPNN's quadratic signals.

    Parameters
    ----------
    embedded : Tensor of shape (batch, fields, k)

    Returns
    -------
    Tensor of shape (batch, fields * (fields - 1) // 2)
        Pairs in the order (0, 1), (0, 2), ..., (0, F-1), (1, 2), ...

    Examples
    --------
    >>> import torch
    >>> embedded = torch.tensor([[[1.0, 0.0], [2.0, 1.0], [0.0, 3.0]]])
    >>> inner_products(embedded)  # pairs (0, 1), (0, 2), (1, 2)
    tensor([[2., 0., 3.]])
    """
    n_fields = embedded.shape[1]
    rows, cols = torch.triu_indices(n_fields, n_fields, offset=1, device=embedded.device)
    gram = embedded @ embedded.transpose(1, 2)  # (batch, fields, fields)
    return gram[:, rows, cols]


def pooled_outer_product(embedded: torch.Tensor) -> torch.Tensor:
    """Sum of the outer products ``e_i e_j^T`` over all field pairs: OPNN's quadratic signals.

    The sum pooling of the PNN paper: ``sum_{i,j} e_i e_j^T = (sum_i e_i)(sum_j e_j)^T``,
    so the pairs cost O(k^2) instead of O(fields^2 k^2).

    Parameters
    ----------
    embedded : Tensor of shape (batch, fields, k)

    Returns
    -------
    Tensor of shape (batch, k * k)
        The k x k matrix, flattened row by row.

    Examples
    --------
    >>> import torch
    >>> embedded = torch.tensor([[[1.0, 0.0], [2.0, 1.0], [0.0, 3.0]]])
    >>> pooled_outer_product(embedded)  # the summed embedding [3, 4] times itself
    tensor([[ 9., 12., 12., 16.]])
    """
    summed = embedded.sum(dim=1)
    return (summed.unsqueeze(2) * summed.unsqueeze(1)).flatten(start_dim=1)


class Dropout(nn.Dropout):
    """``nn.Dropout`` whose CPU mask comes from ``torch.rand``, at about half the cost.

    On the CPU torch draws dropout's mask with ``bernoulli_``: for a 1024 x 128
    activation 1.4 ms against 0.4 ms for ``rand_like`` (one thread), which made
    dropout a fifth of a Frappe training step. The mask keeps an entry with
    probability ``1 - p`` either way; other devices keep torch's fused kernel.

    Examples
    --------
    >>> import torch
    >>> _ = torch.manual_seed(0)
    >>> out = Dropout(0.25)(torch.ones(100_000))
    >>> sorted(out.unique().tolist()), round((out == 0).float().mean().item(), 2)
    ([0.0, 1.3333333730697632], 0.25)
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Zero each entry with probability ``p`` and scale the rest by ``1 / (1 - p)``."""
        if not self.training or self.p == 0 or self.p == 1 or x.device.type != "cpu":
            return super().forward(x)
        return x * ((torch.rand_like(x) >= self.p) * (1 / (1 - self.p)))


class MLP(nn.Sequential):
    """Feed-forward stack ``[Linear, BatchNorm?, ReLU, Dropout] * n`` ending in one logit.

    Parameters
    ----------
    input_dim : int
    hidden_layer_sizes : sequence of int
    dropout : float, default=0.0
    batch_norm : bool, default=False
        Batch normalisation after each hidden linear layer. In training mode it
        needs batches of at least two rows; the estimator's batching ensures that.

    Examples
    --------
    >>> import torch
    >>> mlp = MLP(6, (8, 4), dropout=0.5, batch_norm=True)
    >>> [type(layer).__name__ for layer in mlp][:4]
    ['Linear', 'BatchNorm1d', 'ReLU', 'Dropout']
    >>> mlp.eval()(torch.zeros(3, 6)).shape  # one logit per row
    torch.Size([3, 1])
    """

    def __init__(
        self,
        input_dim: int,
        hidden_layer_sizes: Sequence[int],
        dropout: float = 0.0,
        batch_norm: bool = False,
    ):
        layers = []
        for width in hidden_layer_sizes:
            layers.append(nn.Linear(input_dim, width))
            if batch_norm:
                layers.append(nn.BatchNorm1d(width))
            layers.append(nn.ReLU())
            if dropout > 0:
                layers.append(Dropout(dropout))
            input_dim = width
        layers.append(nn.Linear(input_dim, 1))
        super().__init__(*layers)


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
            if self.fm:
                logit = logit + fm_interaction(embedded)
            if self.dnn is not None:
                logit = logit + self.dnn(embedded.flatten(start_dim=1)).squeeze(-1)
        return logit


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


def has_batch_norm(module: nn.Module) -> bool:
    """Tell whether ``module`` holds batch normalisation, which cannot train on one row.

    Examples
    --------
    >>> has_batch_norm(DeepFM([3, 5], hidden_layer_sizes=(8,), batch_norm=True))
    True
    >>> has_batch_norm(DeepFM([3, 5], hidden_layer_sizes=(8,)))
    False
    """
    return any(isinstance(part, nn.BatchNorm1d) for part in module.modules())


# The model family of the DeepFM paper, the one registry that the estimator, model
# files and tests read: name -> (module class, its arguments beyond the shared ones).
# "fnn" is the "dnn" network started from the embeddings of a fitted "fm"
# (``DeepFM.copy_embeddings_from``).
MODELS = {
    **{name: (DeepFM, parts) for name, parts in MODEL_PARTS.items()},
    "fnn": (DeepFM, MODEL_PARTS["dnn"]),
    "ipnn": (PNN, {"product": "inner"}),
    "opnn": (PNN, {"product": "outer"}),
}
# The module classes by name: the only classes a model file may name.
MODULES = {cls.__name__: cls for cls, _ in MODELS.values()}
