"""PyTorch modules of DeepFM (Guo et al., IJCAI 2017) and PNN, in pure torch.

Every module takes a batch of field codes ``codes`` of shape ``(batch, n_fields)``
(column ``codes[:, f]`` indexes field ``f``'s own vocabulary) and optional
``values`` of the same shape: the ``x_i`` of the paper, 1 for a categorical
field and the (scaled) number for a continuous field. A multi-valued field spans
several columns, one per value (see ``FieldEmbedding``). Modules return logits;
the loss applies the sigmoid.

It imports neither scikit-learn, pandas nor pyarrow (``tests/test_architecture.py``).
"""

from ._deepfm import MODEL_PARTS, DeepFM
from ._embedding import FieldEmbedding
from ._growth import grow_optimizer_state, grow_tables
from ._interactions import fm_interaction, inner_products, pooled_outer_product
from ._layers import MLP, Dropout, train_in
from ._memory import reuse_freed_memory
from ._optim import CatchUpAdam
from ._pnn import PNN
from ._registry import MODELS, MODULES, has_batch_norm

__all__ = [
    "MLP",
    "MODELS",
    "MODEL_PARTS",
    "MODULES",
    "PNN",
    "CatchUpAdam",
    "DeepFM",
    "Dropout",
    "FieldEmbedding",
    "fm_interaction",
    "grow_optimizer_state",
    "grow_tables",
    "has_batch_norm",
    "inner_products",
    "pooled_outer_product",
    "reuse_freed_memory",
    "train_in",
]
