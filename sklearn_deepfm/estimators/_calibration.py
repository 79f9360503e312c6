"""Platt scaling of logits on held-out rows.

A network stopped at its best validation AUC ranks well but tends to be
overconfident; an affine map of its logit, ``scale * logit + shift`` with
``scale > 0``, fixes the log loss without changing the ranking (so the AUC).
"""

import numpy as np
from scipy.optimize import minimize
from scipy.special import log_expit


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
