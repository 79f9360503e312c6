"""Platt scaling of logits on held-out rows, the classifier's calibration.

A network stopped at its best validation AUC ranks well but tends to be
overconfident; an affine map of its logit, ``scale * logit + shift`` with
``scale > 0``, fixes the log loss without changing the ranking (so the AUC).
"""

import numpy as np
from scipy.optimize import minimize
from scipy.special import expit, log_expit

from ._net import _PREDICT_BATCH_SIZE


def platt_scaling(net, valid):
    """Return ``(scale, shift)`` of the Platt scaling of ``net``'s logits on ``valid``."""
    logits, y, weight = net.predict_logits(valid, _PREDICT_BATCH_SIZE, with_targets=True)
    return fit_platt(logits, y, weight)


def carried_platt(calibration, stopped, refitted, train):
    """Return the Platt scaling of ``refitted``, towards ``stopped``'s calibrated probabilities.

    The scaling ``calibration`` was fitted to the early-stopped network's logits on
    rows it had not seen; the refitted network has no such rows. On the rows both
    trained on, ``train``, the refitted network's scaling is fitted with the first's
    calibrated probabilities as soft labels (each row once as a click with weight p,
    once as none with weight 1 - p): the log loss between the two is least where the
    probabilities matter, which a line between logits is not when clicks are rare.
    """
    scale, shift = calibration
    old = stopped.predict_logits(train, _PREDICT_BATCH_SIZE)
    new, _, weight = refitted.predict_logits(train, _PREDICT_BATCH_SIZE, with_targets=True)
    p = expit(scale * old + shift)
    weight = np.ones_like(p) if weight is None else weight
    return fit_platt(
        np.concatenate([new, new]),
        np.concatenate([np.ones_like(p), np.zeros_like(p)]),
        np.concatenate([p * weight, (1 - p) * weight]),
    )


def fit_platt(logits, y, sample_weight=None):
    """Return ``(scale, shift)`` minimising the log loss of ``scale * logits + shift``.

    Parameters
    ----------
    logits : ndarray of shape (n,)
    y : ndarray of shape (n,)
        0 or 1.
    sample_weight : ndarray of shape (n,) or None

    Returns
    -------
    scale, shift : float
        ``scale`` is positive; ``(1.0, 0.0)`` when ``y`` holds one class only.
    """
    logits = np.asarray(logits, dtype=np.float64)
    sign = 2.0 * np.asarray(y, dtype=np.float64) - 1.0
    weight = np.ones_like(logits) if sample_weight is None else np.asarray(sample_weight, float)
    if len(np.unique(sign)) < 2 or weight.sum() <= 0:
        return 1.0, 0.0
    weight = weight / weight.sum()

    def loss_and_grad(params):
        log_scale, shift = params
        scale = np.exp(log_scale)  # keeps the scale positive, so the ranking is kept
        margin = sign * (scale * logits + shift)
        loss = -(weight * log_expit(margin)).sum()
        # d(-log sigmoid(m))/dm = -sigmoid(-m)
        d_margin = -weight * np.exp(log_expit(-margin)) * sign
        return loss, np.array([(d_margin * logits).sum() * scale, d_margin.sum()])

    result = minimize(loss_and_grad, x0=[0.0, 0.0], jac=True, method="L-BFGS-B")
    log_scale, shift = result.x
    return float(np.exp(log_scale)), float(shift)
