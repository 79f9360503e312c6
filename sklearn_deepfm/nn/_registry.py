"""The model family of the DeepFM paper by name, the one registry every layer reads."""

from torch import nn

from ._deepfm import MODEL_PARTS, DeepFM
from ._pnn import PNN


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
