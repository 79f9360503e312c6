"""``linear_update``: ``partial_fit`` updates the order-1 part as an online logistic regression.

One ``partial_fit`` epoch over a new day's rows trains every part of the network once on
them; the order-1 weights of the day's new codes then move only by that day of Adam
steps, and a second pass memorises the day. An L2 logistic regression, though, can be
updated a day at a time: each weight keeps a precision, the L2 penalty plus the
curvature ``p (1 - p) x**2`` of every row it has seen (a diagonal Laplace approximation
of its posterior), and the new rows' fit pulls each weight toward its current value by
that precision: a weight learned from many rows stays, a new code's weight starts from
the penalty alone. With the rest of the network's logit held as an offset, this update
of the bias and order-1 weights is convex, solved by L-BFGS in seconds; one epoch then
trains the rest with them held. (``benchmarks/README.md``, "Daily updates".)
"""

import contextlib

import numpy as np
import scipy.optimize
import torch
from scipy.special import expit
from threadpoolctl import threadpool_limits

from ._linear_start import design_matrix
from ._net import _PREDICT_BATCH_SIZE


class LinearUpdateMixin:
    """``linear_update`` for a ``BaseDeepFM`` with ``linear_start_C``: its three hooks."""

    def _start_linear_update(self, trained, run):
        """Set ``linear_precision_`` from the rows ``trained`` (see ``linear_update``)."""
        self.linear_precision_ = None
        if self.linear_update:
            _check_linear_update(self.linear_start_C, run.part[1], self.net_.module_)
            self.linear_precision_ = start_precision(self.net_, trained, self.linear_start_C)

    def _linear_update(self, net, train, run):
        """Refit the order-1 part on ``train``; return the context that holds it for the epoch."""
        if run.first or run.epochs is None or not self.linear_update:
            return contextlib.nullcontext()
        _check_linear_update(self.linear_start_C, run.part[1], net.module_)
        if getattr(self, "linear_precision_", None) is None:
            raise ValueError(
                "linear_update=True updates the precisions that a fit with linear_update=True "
                "keeps (linear_precision_), and this model has none: fit it with "
                "linear_update=True first."
            )
        self.linear_precision_ = update_linear(net, train, self.linear_precision_)
        return order1_held(net.module_)

    def _grow_row_state(self, positions):
        """Move the precisions with their rows; a new weight's starts at ``1 / linear_start_C``."""
        super()._grow_row_state(positions)
        precision = getattr(self, "linear_precision_", None)
        if precision is None:
            return
        table = self.net_.module_.first_order.embedding.weight
        rows = positions.get(table)
        if rows is None:
            return
        # without linear_start_C a new weight has no prior: the precisions end here
        C = self.linear_start_C
        self.linear_precision_ = None
        if C is not None:
            self.linear_precision_ = np.full(len(table), 1 / C)
            self.linear_precision_[rows.numpy()] = precision


def start_precision(net, data, C):
    """Return each order-1 weight's precision after ``net`` learned from ``data``.

    ``1 / C``, the L2 penalty of ``LogisticRegression(C=C)``, plus the curvature of
    the log loss at the network's logits on ``data``.
    """
    X, _, weight = design_matrix(net.module_, data)
    return 1.0 / C + _curvature(X, net.predict_logits(data, _PREDICT_BATCH_SIZE), weight)


def update_linear(net, data, precision):
    """Refit the bias and order-1 weights of ``net`` on ``data``; return the new precisions.

    Minimises the (weighted) log loss of ``data`` at the network's logits plus the
    change of the order-1 part, plus ``precision * change**2 / 2`` summed over the
    weights; the bias changes freely.
    """
    X, y, weight = design_matrix(net.module_, data)
    offset = net.predict_logits(data, _PREDICT_BATCH_SIZE)  # float64
    sign = 2.0 * y - 1.0
    rows_weight = np.ones(len(y)) if weight is None else weight.astype(np.float64)

    def loss_and_gradient(z):
        change, shift = z[:-1], z[-1]
        margin = sign * (offset + X @ change + shift)
        logit_gradient = -sign * expit(-margin) * rows_weight
        loss = rows_weight @ np.logaddexp(0, -margin) + 0.5 * (precision * change) @ change
        gradient = np.append(X.T @ logit_gradient + precision * change, logit_gradient.sum())
        return loss, gradient

    with threadpool_limits(1):  # as the linear start: serial sparse products
        z = scipy.optimize.minimize(
            loss_and_gradient, np.zeros(X.shape[1] + 1), jac=True, method="L-BFGS-B"
        ).x
    module = net.module_
    table = module.first_order.embedding.weight
    with torch.no_grad():
        table[:, 0] += torch.as_tensor(z[:-1], dtype=table.dtype, device=table.device)
        module.bias += float(z[-1])
    return precision + _curvature(X, offset + X @ z[:-1] + z[-1], weight)


@contextlib.contextmanager
def order1_held(module):
    """Keep the bias and order-1 weights of ``module`` out of training for the block."""
    parameters = [module.bias, module.first_order.embedding.weight]
    for parameter in parameters:
        parameter.requires_grad_(False)
    try:
        yield
    finally:
        for parameter in parameters:
            parameter.requires_grad_(True)


def _curvature(X, logits, weight):
    """Each column's ``sum of weight * p * (1 - p) * x**2`` over the rows of ``X``."""
    p = expit(logits)
    h = p * (1 - p) if weight is None else weight * p * (1 - p)
    return np.asarray(X.multiply(X).T @ h).ravel()


def _check_linear_update(C, world_size, module):
    """Refuse ``linear_update`` without ``linear_start_C``, an order-1 part or one process."""
    if getattr(module, "first_order", None) is None:
        raise ValueError(
            f"linear_update=True updates the order-1 part, which a {type(module).__name__} "
            "network of this model has not: use a model with one (deepfm, fm, lr, wide_deep)."
        )
    if C is None:
        raise ValueError(
            "linear_update=True needs linear_start_C, whose 1 / C is each order-1 weight's "
            "prior precision. Got linear_start_C=None: set a value (the default is 0.05)."
        )
    if world_size > 1:
        raise ValueError(
            f"linear_update=True refits the order-1 part on one process's rows, and this "
            f"fit runs on {world_size} data-parallel ranks: update on one process."
        )
