"""The pairwise interactions of embedded fields, pure functions of ``(batch, fields, k)``."""

import torch


def fm_interaction(embedded: torch.Tensor) -> torch.Tensor:
    """Sum of ``<v_i x_i, v_j x_j>`` over all field pairs ``i < j``, per row.

    Uses ``0.5 * ((sum_i e_i)^2 - sum_i e_i^2)`` summed over the embedding
    dimension: O(k * fields) instead of O(k * fields^2). When a gradient is
    wanted, ``_FMInteraction`` computes it in one pass (autograd's took five
    passes and as many (batch, fields, k) temporaries).

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
    if embedded.requires_grad and torch.is_grad_enabled() and not _compiling():
        return _FMInteraction.apply(embedded)
    square_of_sum = embedded.sum(dim=1).square()
    sum_of_squares = embedded.square().sum(dim=1)
    return 0.5 * (square_of_sum - sum_of_squares).sum(dim=1)


class _FMInteraction(torch.autograd.Function):
    """``fm_interaction`` with its gradient written out: ``d/de_f = sum_g e_g - e_f``.

    The forward pass keeps only the (batch, k) sum; the backward pass writes the
    gradient, ``grad * (sum - e_f)``, into one new tensor: a fifth to a quarter of the
    default network's training step (``benchmarks/README.md``, "Training speed").
    """

    @staticmethod
    def forward(ctx, embedded):
        summed = embedded.sum(dim=1)
        squares = torch.linalg.vector_norm(embedded.flatten(start_dim=1), dim=1).square()
        ctx.save_for_backward(embedded, summed)
        return 0.5 * (summed.square().sum(dim=1) - squares)

    @staticmethod
    def backward(ctx, grad):
        embedded, summed = ctx.saved_tensors
        return (summed.unsqueeze(1) - embedded).mul_(grad[:, None, None])


def _compiling():
    """Tell whether torch is tracing the module (``torch.compile``, ``torch.export``)."""
    is_compiling = getattr(torch.compiler, "is_compiling", None)
    return is_compiling is not None and is_compiling()


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
