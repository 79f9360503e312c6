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
    return fm_interaction_and_flat(embedded)[0]


def fm_interaction_and_flat(embedded: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``fm_interaction`` of ``embedded`` and ``embedded`` flattened: DeepFM's two readers.

    Under autograd both come from one function, whose backward pass adds the FM
    part's gradient into the flattened input's in one (batch, fields, k) tensor,
    where autograd would write each into its own and add them. Those tensors
    outgrow the cache, so the extra passes cost a few percent of the default
    network's training step (``benchmarks/README.md``, "Training speed").

    Returns
    -------
    fm : Tensor of shape (batch,)
    flat : Tensor of shape (batch, fields * k)
    """
    if embedded.requires_grad and torch.is_grad_enabled() and not _compiling():
        return _FMInteraction.apply(embedded)
    square_of_sum = embedded.sum(dim=1).square()
    sum_of_squares = embedded.square().sum(dim=1)
    return 0.5 * (square_of_sum - sum_of_squares).sum(dim=1), embedded.flatten(start_dim=1)


class _FMInteraction(torch.autograd.Function):
    """``fm_interaction_and_flat`` with its gradient written out: ``d/de_f = sum_g e_g - e_f``.

    The forward pass keeps only the (batch, k) sum; the backward pass writes the
    gradient, ``grad * (sum - e_f)`` plus the flattened output's, into one new
    tensor: autograd's own took a fifth to a quarter of the default network's
    training step (``benchmarks/README.md``, "Training speed").
    """

    @staticmethod
    def forward(ctx, embedded):
        ctx.set_materialize_grads(False)  # an unused output's gradient stays None, not zeros
        summed = embedded.sum(dim=1)
        squares = torch.linalg.vector_norm(embedded.flatten(start_dim=1), dim=1).square()
        ctx.save_for_backward(embedded, summed)
        fm = 0.5 * (summed.square().sum(dim=1) - squares)
        return fm, embedded.flatten(start_dim=1)

    @staticmethod
    def backward(ctx, grad, grad_flat):
        embedded, summed = ctx.saved_tensors
        if grad is None:
            return None if grad_flat is None else grad_flat.reshape(embedded.shape)
        grad = grad[:, None, None]
        # grad * sum - grad * e_f in one pass over (batch, fields, k)
        out = torch.addcmul(summed.unsqueeze(1) * grad, embedded, grad, value=-1)
        if grad_flat is not None:
            out.add_(grad_flat.reshape(embedded.shape))
        return out


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
