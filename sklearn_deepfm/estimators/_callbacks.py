"""The skorch callbacks of a fit: scoring, early stopping, the epoch log and the epoch checkpoint.

``fit_callbacks`` gives a fit's net its callbacks in the order they must run;
``CTRNet`` puts ``EpochLog`` in place of skorch's epoch table.
"""

import re
import sys

import numpy as np
import torch
from sklearn.metrics import roc_auc_score
from skorch.callbacks import Callback, EarlyStopping, PrintLog
from skorch.utils import noop

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
# Early stopping improves by more than ``tol`` itself, and ends on the best epoch's weights.
_STOPPING_RULE = {"threshold_mode": "abs", "load_best": True}


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
    """skorch's ``EarlyStopping`` with an epoch 0 and a plateau decay, resumable from a checkpoint.

    ``initial_``, when set before training, is ``(score, weights)`` of the network
    before its first epoch (the linear start): training ends on those weights when
    no trained epoch scores better. ``plateau_factor`` below 1 multiplies every
    learning rate by it after each epoch that does not improve (torch's
    ``ReduceLROnPlateau`` with patience 0, on early stopping's own count); each
    epoch's scale is recorded as ``lr_scale`` in the history, for a refit to replay.
    ``resume_state`` (from ``state()``), when set, replaces the fresh state that
    ``on_train_begin`` gives, so that a resumed fit stops where the first would.
    """

    resume_state = None
    initial_ = None

    def __init__(self, *args, plateau_factor=1.0, **kwargs):
        super().__init__(*args, **kwargs)
        self.plateau_factor = plateau_factor

    def on_train_begin(self, net, **kwargs):
        """Start as skorch does, or from ``resume_state``."""
        super().on_train_begin(net, **kwargs)
        self.lr_scale_ = 1.0
        if self.resume_state is not None:
            state, self.resume_state = self.resume_state, None
            self.misses_, self.best_epoch_ = state["misses"], state["best_epoch"]
            self.dynamic_threshold_ = state["threshold"]
            self.best_model_weights_ = state["best_model_weights"]
            self.initial_ = state.get("initial")
            self.lr_scale_ = state.get("lr_scale", 1.0)
            scale_learning_rates(net, self.lr_scale_)  # the net starts each call at scale 1

    def on_epoch_end(self, net, **kwargs):
        """Count the epoch as skorch does (stopping on the last miss), then decay on a miss."""
        if self.plateau_factor != 1:
            net.history.record("lr_scale", self.lr_scale_)
        super().on_epoch_end(net, **kwargs)  # a miss counts; an improvement resets the count
        if self.misses_ and self.plateau_factor != 1:
            self.lr_scale_ *= self.plateau_factor
            scale_learning_rates(net, self.lr_scale_)

    def on_train_end(self, net, **kwargs):
        """End on the best epoch's weights, or on epoch 0's when none beats them."""
        super().on_train_end(net, **kwargs)
        if self.initial_ is None or not len(net.history):
            return
        score, weights = self.initial_
        if self.best_epoch_:
            best = net.history[self.best_epoch_ - 1, self.monitor]
            if (best <= score) if self.lower_is_better else (best >= score):
                return
        net.module_.load_state_dict(weights)
        self.best_epoch_ = 0
        self._sink(f"Restoring the start (epoch 0): {self.monitor} {score:.4f}.", net.verbose)

    def state(self):
        """Return the state a checkpoint keeps: misses, threshold, best epoch, weights, epoch 0."""
        return {
            "misses": int(self.misses_),
            "threshold": float(self.dynamic_threshold_),
            "best_epoch": int(self.best_epoch_),
            "best_model_weights": self.best_model_weights_,
            "initial": self.initial_,
            "lr_scale": self.lr_scale_,
        }


class LearningRateReplay(Callback):
    """Train each epoch at the learning-rate scale of the same epoch of another fit.

    A refit replays the plateau decay of the fit whose epochs it repeats
    (``ResumableEarlyStopping``'s ``lr_scale`` history).
    """

    def __init__(self, scales):
        self.scales = scales

    def on_epoch_begin(self, net, **kwargs):
        epoch = min(len(net.history), len(self.scales)) - 1
        scale_learning_rates(net, self.scales[epoch])


def scale_learning_rates(net, scale):
    """Set the learning rate of every parameter group of ``net`` to ``scale`` times its first."""
    for optimizer in net.optimizers().values():
        for group in optimizer.param_groups:
            group["lr"] = group.setdefault("initial_lr", group["lr"]) * scale


class EpochLog(PrintLog):
    """skorch's epoch table, with its colour codes only when it prints to a terminal."""

    def format_row(self, row, key, color):
        """Format one cell; drop the ANSI colour codes unless ``sink`` prints to a terminal."""
        text = super().format_row(row, key, color)
        if isinstance(text, str) and not (self.sink is print and sys.stdout.isatty()):
            text = _ANSI.sub("", text)
        return text


class EpochCheckpoint(Callback):
    """Call ``write_state(net)`` after each epoch (after early stopping has scored it)."""

    def __init__(self, write_state):
        self.write_state = write_state

    def on_epoch_end(self, net, **kwargs):
        self.write_state(net)


def fit_callbacks(
    monitor,
    *,
    patience,
    tol,
    verbose,
    plateau_factor=1.0,
    lr_scales=None,
    save_epoch=None,
    stopping_state=None,
):
    """Return the callbacks of a fit's net, as ``(name, callback)`` in the order they run.

    Parameters
    ----------
    monitor : tuple or None
        ``(history key, lower_is_better, scoring callbacks)``: what early stopping
        watches, and the callbacks that record it. None without a validation
        split, so without early stopping.
    patience : int
        ``n_iter_no_change``.
    tol : float
        The smallest change of the key that early stopping counts as improvement.
    verbose : int
        Early stopping reports its stop when true.
    plateau_factor : float
        Early stopping's decay of the learning rates on each epoch without improvement.
    lr_scales : list of float or None
        Without early stopping, the learning-rate scale of each epoch (a refit's replay).
    save_epoch : callable or None
        The checkpoint: called with the net after each epoch.
    stopping_state : dict or None
        Early stopping's state in a checkpoint (``ResumableEarlyStopping.state``),
        for a resumed fit to stop where the first would.

    Returns
    -------
    list of tuple
    """
    callbacks = []
    if monitor is not None:
        key, lower_is_better, scoring = monitor
        stopping = ResumableEarlyStopping(
            monitor=key,
            lower_is_better=lower_is_better,
            patience=patience,
            threshold=tol,
            **_STOPPING_RULE,
            sink=print if verbose else noop,
            plateau_factor=plateau_factor,
        )
        if stopping_state is not None:
            stopping.resume_state = stopping_state
        callbacks += [*scoring, ("early_stopping", stopping)]
    elif lr_scales is not None and any(scale != 1 for scale in lr_scales):
        callbacks.append(("lr_replay", LearningRateReplay(lr_scales)))
    if save_epoch is not None:
        # after early stopping: an epoch that stops training is not saved, and a
        # resumed fit runs it again to the same decision
        callbacks.append(("checkpoint", EpochCheckpoint(save_epoch)))
    return callbacks


def early_stopping(net):
    """Return the early stopping callback of a fitted ``net``, or None."""
    return dict(net.callbacks_).get("early_stopping")


def kept_epochs(net):
    """Return the epochs whose weights ``net`` kept: early stopping's best, else all it ran.

    0 when early stopping kept the start (see ``ResumableEarlyStopping.initial_``).
    """
    stopping = early_stopping(net)
    return stopping.best_epoch_ if stopping is not None else len(net.history)
