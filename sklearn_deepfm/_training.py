"""The skorch pieces behind ``DeepFMClassifier``: data, batching, loss, optimizers.

skorch's defaults suit generic data; CTR training wants batches cut from
contiguous tensors (no per-row ``__getitem__`` and collation), a loss weighted
per row, sparse embedding updates and an AUC on the validation split.
"""

import numpy as np
import torch
from sklearn.metrics import roc_auc_score
from skorch import NeuralNet
from skorch.callbacks import Callback
from torch.utils.data import Dataset

from ._optim import CatchUpAdam
from .network import FieldEmbedding


class FieldDataset(Dataset):
    """Field codes, optional values, targets and sample weights as whole tensors.

    Parameters
    ----------
    codes : LongTensor of shape (n, fields)
    values : FloatTensor of shape (n, fields) or None
        ``x_i`` of each field; None when every field is categorical (all ones).
    y : FloatTensor of shape (n,) or None
    sample_weight : FloatTensor of shape (n,) or None
    """

    def __init__(self, codes, values=None, y=None, sample_weight=None):
        self.codes = codes
        self.values = values
        self.y = y
        self.sample_weight = sample_weight

    def __len__(self):
        return len(self.codes)

    def __getitem__(self, index):
        return self.batch(index)

    def batch(self, index):
        """Return ``(X, y)`` for the rows at ``index`` (an int, slice or index tensor)."""
        X = {"codes": self.codes[index]}
        if self.values is not None:
            X["values"] = self.values[index]
        if self.sample_weight is not None:
            X["sample_weight"] = self.sample_weight[index]
        y = self.y[index] if self.y is not None else torch.zeros(0)
        return X, y


class BatchIterator:
    """Yield batches of a ``FieldDataset`` by slicing, in place of a DataLoader.

    A training pass shuffles with ``generator`` (shared across epochs, so each
    epoch gets a new order) and never ends on a batch of one row, which batch
    normalisation cannot train on: such a row joins the batch before it.

    Parameters
    ----------
    dataset : FieldDataset
    batch_size : int
    shuffle : bool, default=False
    generator : torch.Generator or None, default=None
    """

    def __init__(self, dataset, batch_size, shuffle=False, generator=None):
        self.dataset = dataset
        self.batch_size = max(1, int(batch_size))
        self.shuffle = shuffle
        self.generator = generator

    def __len__(self):
        return len(self._bounds())

    def _bounds(self):
        n = len(self.dataset)
        starts = list(range(0, n, self.batch_size))
        if self.shuffle and len(starts) > 1 and n - starts[-1] == 1:
            starts.pop()
        return [(start, min(end, n)) for start, end in zip(starts, starts[1:] + [n], strict=True)]

    def __iter__(self):
        order = None
        if self.shuffle:
            order = torch.randperm(len(self.dataset), generator=self.generator)
        for start, end in self._bounds():
            yield self.dataset.batch(slice(start, end) if order is None else order[start:end])


class ValidAUC(Callback):
    """Record ``valid_auc``, the ROC AUC of the validation split, after each epoch."""

    def on_epoch_begin(self, net, **kwargs):
        self.logits_, self.targets_ = [], []

    def on_batch_end(self, net, batch, training, **kwargs):
        if not training:
            self.logits_.append(kwargs["y_pred"].detach().cpu())
            self.targets_.append(batch[1].cpu())

    def on_epoch_end(self, net, **kwargs):
        if not self.targets_:
            return
        targets = torch.cat(self.targets_).numpy()
        if len(np.unique(targets)) == 2:
            net.history.record("valid_auc", roc_auc_score(targets, torch.cat(self.logits_)))


class CTRNet(NeuralNet):
    """skorch net with a per-row weighted loss and optional sparse embedding updates.

    Parameters beyond ``NeuralNet``'s
    ---------------------------------
    sparse_embeddings : bool, default=False
        The module's embedding tables produce sparse gradients; they get their
        own ``CatchUpAdam`` (the moves of dense Adam, made only on the rows of
        each batch), the other parameters get ``optimizer``. The moves a row
        missed are made when it comes back, and for all rows at the end of
        each epoch's training pass: the weights any epoch ends with (those the
        validation, checkpoints, ``warm_start`` and ``partial_fit`` see) are
        the same however the epochs are split into calls.
    embedding_l2 : float, default=0.0
        Weight of an L2 penalty on the embedding rows each batch uses (each row
        once, see ``_embedding_penalty``), added to the batch's loss.
    """

    def __init__(self, *args, sparse_embeddings=False, embedding_l2=0.0, **kwargs):
        super().__init__(*args, **kwargs)
        self.sparse_embeddings = sparse_embeddings
        self.embedding_l2 = embedding_l2

    def initialize_optimizer(self, triggered_directly=None):
        """Give sparse embedding tables CatchUpAdam and the rest ``optimizer``."""
        named = list(self.get_all_learnable_params())
        sparse = [p for name, p in named if self.sparse_embeddings and _is_embedding(name)]
        dense = [(name, p) for name, p in named if not any(p is s for s in sparse)]
        args, kwargs = self.get_params_for_optimizer("optimizer", dense)
        self.optimizer_ = self.optimizer(*args, **kwargs)
        if sparse:
            self.optimizer_sparse_ = CatchUpAdam(sparse, lr=kwargs["lr"])
        return self

    def run_single_epoch(self, iterator, training, prefix, step_fn, **fit_params):
        """Run one pass; a training pass ends by bringing every embedding row up to date."""
        super().run_single_epoch(iterator, training, prefix, step_fn, **fit_params)
        if training:
            self._flush_sparse()

    def on_train_end(self, net, X=None, y=None, **kwargs):
        """Bring every embedding row up to date, also after an interrupted epoch."""
        self._flush_sparse()

    def _flush_sparse(self):
        optimizer = getattr(self, "optimizer_sparse_", None)
        if isinstance(optimizer, CatchUpAdam):
            optimizer.flush()

    def train_step(self, batch, **fit_params):
        """One forward and backward pass, then a step of every optimizer.

        skorch's default passes a closure to each optimizer, which would run
        the forward pass once per optimizer.
        """
        self._zero_grad_optimizer(set_to_none=True)
        step = self.train_step_single(batch, **fit_params)
        for name in self._optimizers:
            getattr(self, name + "_").step()
        return step

    def infer(self, x, **fit_params):
        """Run the module on a batch, leaving its sample weights to the loss."""
        x = {key: value for key, value in x.items() if key != "sample_weight"}
        return super().infer(x, **fit_params)

    def get_loss(self, y_pred, y_true, X=None, training=False):
        """Weighted mean of the per-row loss, plus the embedding penalty in training."""
        per_row = self.criterion_(y_pred, y_true.to(y_pred.device))
        weight = X.get("sample_weight") if isinstance(X, dict) else None
        if weight is None:
            loss = per_row.mean()
        else:
            weight = weight.to(per_row.device)
            loss = (per_row * weight).sum() / weight.sum().clamp_min(1e-12)
        if training and self.embedding_l2 > 0:
            loss = loss + self.embedding_l2 * _embedding_penalty(self.module_, X)
        return loss


def _is_embedding(parameter_name):
    return parameter_name.endswith("embedding.weight")


def _embedding_penalty(module, X):
    """Half the squared norm of every embedding row the batch uses, each row once.

    This is the gradient of an L2 penalty on the whole table restricted to the
    rows of the batch: rare rows are shrunk as much as frequent ones when they
    appear, and the gradient stays sparse.
    """
    tables = [m for m in module.modules() if isinstance(m, FieldEmbedding)]
    if not tables:
        return torch.zeros(())
    codes = X["codes"].to(tables[0].offsets.device)
    rows = torch.unique(codes + tables[0].offsets)
    return sum(table.embedding(rows).square().sum() for table in tables) / 2
