"""Dense building blocks: a cheaper ``Dropout`` and the ``MLP`` that ends in one logit."""

from collections.abc import Sequence

import torch
from torch import nn


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
