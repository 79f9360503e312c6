"""The skorch net behind the estimators: loss, optimizers, epoch hooks and the forward path.

skorch's defaults suit generic data; CTR training wants a loss weighted per row,
sparse embedding updates, an AUC on the validation split and batches cut from
whole tensors (``_data``). Training, validation and prediction all run the
module through ``CTRNet.infer``.
"""

import re
import sys

import numpy as np
import torch
from sklearn.metrics import roc_auc_score
from skorch import NeuralNet
from skorch.callbacks import Callback, EarlyStopping, PrintLog, ProgressBar

from ..data import BatchIterator
from ..nn import CatchUpAdam, FieldEmbedding


class ValidAUC(Callback):
    """Record ``valid_auc``, the ROC AUC of the validation split, after each epoch."""

    def on_epoch_begin(self, net, **kwargs):
        self.logits_, self.targets_ = [], []

    def on_batch_end(self, net, batch, training, **kwargs):
        if not training:
            self.logits_.append(kwargs["y_pred"].detach().cpu())
            self.targets_.append(batch[1]["y"].cpu())

    def on_epoch_end(self, net, **kwargs):
        if not self.targets_:
            return
        targets = torch.cat(self.targets_).numpy()
        if len(np.unique(targets)) == 2:
            net.history.record("valid_auc", roc_auc_score(targets, torch.cat(self.logits_)))


class ResumableEarlyStopping(EarlyStopping):
    """skorch's ``EarlyStopping``, whose state a checkpoint can save and restore.

    ``resume_state`` (from ``state()``), when set, replaces the fresh state that
    ``on_train_begin`` gives, so that a resumed fit stops where the first would.
    """

    resume_state = None

    def on_train_begin(self, net, **kwargs):
        """Start as skorch does, or from ``resume_state``."""
        super().on_train_begin(net, **kwargs)
        if self.resume_state is not None:
            state, self.resume_state = self.resume_state, None
            self.misses_, self.best_epoch_ = state["misses"], state["best_epoch"]
            self.dynamic_threshold_ = state["threshold"]
            self.best_model_weights_ = state["best_model_weights"]

    def state(self):
        """Return the state a checkpoint keeps: misses, threshold, best epoch and weights."""
        return {
            "misses": int(self.misses_),
            "threshold": float(self.dynamic_threshold_),
            "best_epoch": int(self.best_epoch_),
            "best_model_weights": self.best_model_weights_,
        }


class EpochLog(PrintLog):
    """skorch's epoch table, with its colour codes only when it prints to a terminal."""

    def format_row(self, row, key, color):
        """Format one cell; drop the ANSI colour codes unless ``sink`` prints to a terminal."""
        text = super().format_row(row, key, color)
        if isinstance(text, str) and not (self.sink is print and sys.stdout.isatty()):
            text = _ANSI.sub("", text)
        return text


_ANSI = re.compile(r"\x1b\[[0-9;]*m")


class CTRNet(NeuralNet):
    """skorch net with a per-row weighted loss and optional sparse embedding updates.

    Batches are ``(inputs, targets)`` of a ``FieldDataset``: ``inputs`` go to the
    module, ``targets["y"]`` and ``targets["sample_weight"]`` to the loss.

    Parameters beyond ``NeuralNet``'s
    ---------------------------------
    sparse_embeddings : bool, default=False
        The module's embedding tables produce sparse gradients; they get their
        own optimizer, ``optimizer_sparse``, the other parameters ``optimizer``.
    optimizer_sparse : torch optimizer class, default=CatchUpAdam
        The optimizer of the sparse embedding tables, with parameters routed as
        ``optimizer_sparse__NAME`` (``lr`` defaults to the net's). ``CatchUpAdam``
        makes the moves of dense Adam, only on the rows of each batch: the moves
        a row missed are made when it comes back, and for all rows at the end
        of each epoch's training pass, so the weights any epoch ends with are
        the same however the epochs are split into calls. An optimizer with a
        ``flush()`` method is flushed so.
    embedding_l2 : float, default=0.0
        Weight of an L2 penalty on the embedding rows each batch uses (each row
        once, see ``_embedding_penalty``), added to the batch's loss.
    """

    def __init__(
        self,
        *args,
        sparse_embeddings=False,
        optimizer_sparse=CatchUpAdam,
        embedding_l2=0.0,
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        self.sparse_embeddings = sparse_embeddings
        self.optimizer_sparse = optimizer_sparse
        self.embedding_l2 = embedding_l2

    def get_default_callbacks(self):
        """Return skorch's callbacks, with ``EpochLog`` and a progress bar at ``verbose >= 2``."""
        callbacks = [
            (name, EpochLog() if name == "print_log" else callback)
            for name, callback in super().get_default_callbacks()
        ]
        if self.verbose >= 2:  # per-batch progress: an epoch on large data takes long
            callbacks.append(("progress_bar", ProgressBar()))
        return callbacks

    def initialize_optimizer(self, triggered_directly=None):
        """Give sparse embedding tables ``optimizer_sparse`` and the rest ``optimizer``."""
        named = list(self.get_all_learnable_params())
        sparse = [(n, p) for n, p in named if self.sparse_embeddings and _is_embedding(n)]
        dense = [(name, p) for name, p in named if not any(p is s for _, s in sparse)]
        args, kwargs = self.get_params_for_optimizer("optimizer", dense)
        self.optimizer_ = self.optimizer(*args, **kwargs)
        if sparse:
            args, kwargs = self.get_params_for_optimizer("optimizer_sparse", sparse)
            self.optimizer_sparse_ = self.optimizer_sparse(*args, **kwargs)
        return self

    def optimizers(self):
        """Return the optimizers by name (``optimizer`` and, if any, ``optimizer_sparse``)."""
        names = ["optimizer"] + (["optimizer_sparse"] if hasattr(self, "optimizer_sparse_") else [])
        return {name: getattr(self, name + "_") for name in names}

    def run_single_epoch(self, iterator, training, prefix, step_fn, **fit_params):
        """Run one pass; a training pass ends by bringing every embedding row up to date."""
        super().run_single_epoch(iterator, training, prefix, step_fn, **fit_params)
        if training:
            self._flush_sparse()

    def on_train_end(self, net, X=None, y=None, **kwargs):
        """Bring every embedding row up to date, also after an interrupted epoch."""
        self._flush_sparse()

    def _flush_sparse(self):
        flush = getattr(getattr(self, "optimizer_sparse_", None), "flush", None)
        if flush is not None:
            flush()

    def train_step(self, batch, **fit_params):
        """One forward and backward pass, then a step of every optimizer.

        skorch's default passes a closure to each optimizer, which would run
        the forward pass once per optimizer.
        """
        self._zero_grad_optimizer(set_to_none=True)
        step = self.train_step_single(batch, **fit_params)
        for optimizer in self.optimizers().values():
            optimizer.step()
        return step

    def get_loss(self, y_pred, y_true, X=None, training=False):
        """Weighted mean of the per-row loss, plus the embedding penalty in training."""
        per_row = self.criterion_(y_pred, y_true["y"].to(y_pred.device))
        weight = y_true.get("sample_weight")
        if weight is None:
            loss = per_row.mean()
        else:
            weight = weight.to(per_row.device)
            loss = (per_row * weight).sum() / weight.sum().clamp_min(1e-12)
        if training and self.embedding_l2 > 0:
            loss = loss + self.embedding_l2 * _embedding_penalty(self.module_, X)
        if "loss_scale" in y_true:  # a data-parallel rank's share (see _data.part_of)
            loss = loss * y_true["loss_scale"].to(loss.device)
        return loss

    def predict_logits(self, dataset, batch_size, *, with_targets=False):
        """Return the module's float64 logits for every row of ``dataset``, without autograd.

        With ``with_targets``, return ``(logits, y, sample_weight)``, the targets as
        the batches carry them (``sample_weight`` None when the dataset has none).
        """
        logits, targets, weights = [], [], []
        self.module_.eval()
        with torch.inference_mode():
            for inputs, batch_targets in BatchIterator(dataset, batch_size):
                logits.append(self.infer(inputs).cpu().double())
                if with_targets:
                    targets.append(batch_targets["y"])
                    weights.append(batch_targets.get("sample_weight"))
        logits = torch.cat(logits).numpy() if logits else np.empty(0)
        if not with_targets:
            return logits
        weight = None if not weights or weights[0] is None else torch.cat(weights).numpy()
        return logits, torch.cat(targets).numpy(), weight


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
