"""Dense building blocks: a cheaper ``Dropout`` and the ``MLP`` that ends in one logit."""

from collections.abc import Sequence

import torch
from torch import nn

# Dropout's mask keeps an entry when 15 random bits are at least ``p * 2**15``: four
# entries from one draw of torch's generator (``random_`` of int64 fills 63 bits).
_MASK_BITS = 15


class Dropout(nn.Dropout):
    """``nn.Dropout`` whose CPU mask costs a quarter of a random draw per entry.

    On the CPU torch draws dropout's mask with ``bernoulli_``, and ``rand_like``
    costs one draw of its Mersenne Twister per entry: 5 ms for a 4096 x 400
    activation, a tenth of the paper's network's training step once its matrix
    products run in bfloat16 (``MLP.training_dtype``), and slower still on a
    bfloat16 activation. Here each draw gives four masks of 15 bits: an entry is
    dropped with probability ``round(p * 2**15) / 2**15``, within 2e-5 of ``p``,
    and kept entries are scaled by ``1 / (1 - p)`` as in torch. Other devices
    keep torch's fused kernel.

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
        n = x.numel()
        draws = torch.empty(-(-n // 4), dtype=torch.int64).random_()
        bits = draws.view(torch.int16)[:n].view(x.shape) & (2**_MASK_BITS - 1)
        kept = bits >= round(self.p * 2**_MASK_BITS)
        return x * (kept * (1 / (1 - self.p))).to(x.dtype)


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

    Attributes
    ----------
    training_dtype : torch.dtype or None
        In training mode, run the layers under ``torch.autocast`` to this dtype
        (mixed precision: the weights and the output stay float32); None runs
        them in the parameters' dtype. Not part of the state: the estimator
        sets it for each fit (``precision``), so evaluation and prediction, and
        a module loaded from a file, run in float32.

    Examples
    --------
    >>> import torch
    >>> mlp = MLP(6, (8, 4), dropout=0.5, batch_norm=True)
    >>> [type(layer).__name__ for layer in mlp][:4]
    ['Linear', 'BatchNorm1d', 'ReLU', 'Dropout']
    >>> mlp.eval()(torch.zeros(3, 6)).shape  # one logit per row
    torch.Size([3, 1])
    """

    # a class default, so that modules pickled before the attribute train as they did
    training_dtype: torch.dtype | None = None

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

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return one logit per row, shape (batch, 1), float32 like ``x``."""
        if not self.training or self.training_dtype is None:
            return super().forward(x)
        with torch.autocast(x.device.type, dtype=self.training_dtype):
            return super().forward(x).to(x.dtype)


def train_in(module: nn.Module, dtype: torch.dtype | None) -> None:
    """Set the ``training_dtype`` of every ``MLP`` inside ``module`` (None: full precision)."""
    for layer in module.modules():
        if isinstance(layer, MLP):
            layer.training_dtype = dtype
