"""The skorch net behind the estimators: loss, optimizers, epoch hooks and the forward path.

skorch's defaults suit generic data; CTR training wants a loss weighted per row,
sparse embedding updates and batches cut whole by the data (``data.FieldData``).
Training, validation and prediction all run the module through ``CTRNet.infer``.
``build_net`` routes an estimator's parameters to a ``CTRNet``; the callbacks it is
given live in ``_callbacks``.
"""

import numpy as np
import torch
from skorch import NeuralNet
from skorch.callbacks import ProgressBar
from skorch.helper import predefined_split

from .. import _slots
from ..data import BatchIterator, part_of
from ..nn import MODELS, CatchUpAdam, FieldEmbedding, reuse_freed_memory
from . import _distributed
from ._callbacks import EpochLog, scale_learning_rates

# Rows per forward pass at prediction and validation: enough to amortise the call
# overhead, few enough that the activations (20 MB of embeddings in the default
# network) stay below glibc's 32 MiB threshold and reuse the memory the chunk before
# freed (``nn.reuse_freed_memory``): 4,096 predicted 100k rows 1.75-1.96x as fast as
# 65,536, whose 330 MB were faulted in anew each chunk (``benchmarks/README.md``).
_PREDICT_BATCH_SIZE = 4096


class CTRNet(NeuralNet):
    """skorch net with a per-row weighted loss and optional sparse embedding updates.

    Batches are ``(inputs, targets)`` of a ``FieldData``: ``inputs`` go to the
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
        Weight of an L2 penalty on the embedding and order-1 tables, added to
        each batch's loss: on every row of dense tables, on the rows each batch
        uses of sparse ones (see ``_embedding_penalty``).
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
        """Run one pass; a training pass ends by bringing every embedding row up to date.

        In a data-parallel fit it also ends with the ranks' batch-norm statistics
        averaged, so that validation, checkpoints and the fitted model agree on every rank.
        """
        super().run_single_epoch(iterator, training, prefix, step_fn, **fit_params)
        if training:
            self._flush_sparse()
            _distributed.average_batch_norm(self.module_)

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        """Start every call at the first learning rates: a plateau decay lasts one fit."""
        scale_learning_rates(self, 1.0)

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

    def validation_step(self, batch, **fit_params):
        """Score a validation batch; in a data-parallel fit each rank infers only its slice.

        The slices are gathered, so every rank scores the whole batch, as one process
        would, at a share of the inference.
        """
        size = _distributed.world_size()
        if size == 1:
            return super().validation_step(batch, **fit_params)
        self._set_training(False)
        inputs, targets = batch
        mine, _ = part_of(batch, _distributed.rank(), size)
        with torch.no_grad():
            y_pred = _distributed.gathered_rows(
                self.infer(mine, **fit_params), len(inputs["codes"])
            )
            loss = self.get_loss(y_pred, targets, X=inputs, training=False)
        return {"loss": loss, "y_pred": y_pred}

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
            penalty = _embedding_penalty(self.module_, X, whole=not self.sparse_embeddings)
            loss = loss + self.embedding_l2 * penalty
        if "loss_scale" in y_true:  # a data-parallel rank's share (see data's part_of)
            loss = loss * y_true["loss_scale"].to(loss.device)
        return loss

    def predict_logits(self, dataset, batch_size, *, with_targets=False):
        """Return the module's float64 logits for every row of ``dataset``, without autograd.

        With ``with_targets``, return ``(logits, y, sample_weight)``, the targets as
        the batches carry them (``sample_weight`` None when the dataset has none).
        """
        reuse_freed_memory()  # a fitted model may predict in a process that never trained
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


def build_net(
    estimator,
    module=None,
    *,
    model=None,
    criterion,
    optimizer_sparse,
    seed,
    batch_size,
    valid,
    callbacks,
    part=(0, 1),
):
    """Build the skorch net of an estimator: the one place that knows skorch's parameter routing.

    Parameters
    ----------
    estimator : BaseDeepFM
        Its parameters (the network's shape, learning rates, ``max_epochs``,
        ``embedding_l2``, ``device``, ...) and fields go to the net.
    module : tuple or None
        ``(class, arguments)`` of a saved network; None builds ``model``'s.
    model : str or None
        A name of ``nn.MODELS``; None takes ``estimator.model``.
    criterion, optimizer_sparse : class
        The loss and the sparse embedding tables' optimizer.
    seed : int
        Seeds the order of the training batches.
    batch_size : int
    valid : FieldData or None
        The validation split, scored after each epoch.
    callbacks : list of tuple
    part : tuple of int, default=(0, 1)
        ``(rank, world_size)`` of a data-parallel fit.

    Returns
    -------
    CTRNet
    """
    # files of versions before these settings' "auto" have neither fitted attribute
    embedding_l2 = getattr(estimator, "embedding_l2_", estimator.embedding_l2)
    if module is None:
        sparse = estimator.sparse_embeddings_ and _distributed.sparse_gradients_allowed()
        module_class, parts = MODELS[model or estimator.model]
        module_args = {
            **module_fields(estimator),
            "embedding_dim": estimator.embedding_dim,
            "hidden_layer_sizes": tuple(estimator.hidden_layer_sizes),
            "dropout": estimator.dropout,
            "batch_norm": estimator.batch_norm_,
            "sparse": sparse,
            **parts,
        }
    else:
        module_class, module_args = module
        sparse = module_args.get("sparse", False)
    return CTRNet(
        module=module_class,
        **{f"module__{name}": value for name, value in module_args.items()},
        criterion=criterion,
        criterion__reduction="none",
        optimizer=torch.optim.Adam,
        optimizer_sparse=optimizer_sparse,
        lr=estimator.learning_rate,
        **_table_optimizer_params(estimator, sparse),
        max_epochs=estimator.max_epochs,
        batch_size=batch_size,
        iterator_train=BatchIterator,
        iterator_train__shuffle=True,
        iterator_train__generator=torch.Generator().manual_seed(seed),
        iterator_train__part=part,
        iterator_valid=BatchIterator,
        iterator_valid__batch_size=_PREDICT_BATCH_SIZE,
        train_split=None if valid is None else predefined_split(valid),
        callbacks=callbacks,
        sparse_embeddings=sparse,
        embedding_l2=embedding_l2,
        verbose=_distributed.verbosity(estimator.verbose),
        device=estimator.device,
    )


def module_fields(estimator):
    """Return the network's fields: per-field cardinalities, widths, multi-valued flags."""
    names = getattr(estimator, "feature_names_in_", None)
    slices = estimator.field_slices_
    return {
        "cardinalities": [int(estimator.cardinalities_[s.start]) for s in slices],
        "widths": [s.stop - s.start for s in slices],
        "multi_valued": [_slots.is_multi_valued(names, s) for s in slices],
        "pooling": estimator.pooling,
    }


def _table_optimizer_params(estimator, sparse):
    """Route ``embedding_learning_rate`` and ``embedding_epsilon`` to the tables' Adam.

    Sparse tables have an optimizer of their own; dense ones are a parameter
    group of the one Adam (skorch's ``param_groups``, matched by name).
    """
    lr = estimator.embedding_learning_rate
    lr = estimator.learning_rate if lr is None else lr
    table = {"lr": lr, "eps": estimator.embedding_epsilon}
    if sparse:
        return {f"optimizer_sparse__{name}": value for name, value in table.items()}
    return {"optimizer__param_groups": [("*embedding.weight", table)]}


def _is_embedding(parameter_name):
    return parameter_name.endswith("embedding.weight")


def _embedding_penalty(module, X, whole):
    """Half the squared norm of the embedding and order-1 tables: ``whole``, or the batch's rows.

    On the whole table (dense tables) every row is pulled toward zero at every
    step, so a row the data rarely moves ends near zero, as in an L2 logistic
    regression; with batch normalisation after the first hidden layer the deep
    part does not feel the shrinking of the frequent rows. On the rows the batch
    uses, each once (sparse tables), the gradient stays sparse: that is the whole
    table's restricted to those rows, so rare rows are shrunk only when they appear.
    """
    tables = [m for m in module.modules() if isinstance(m, FieldEmbedding)]
    if not tables:
        return torch.zeros(())
    if whole:
        return sum(table.embedding.weight.square().sum() for table in tables) / 2
    codes = X["codes"].to(tables[0].offsets.device)
    rows = torch.unique(codes + tables[0].offsets)
    return sum(table.embedding(rows).square().sum() for table in tables) / 2
