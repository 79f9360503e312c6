"""The linear start: the order-1 part begins as a fitted L2 linear model, scored as epoch 0.

DeepFM contains logistic regression (its bias and order-1 weights). Trained from
zero with Adam, it memorises rare codes within the first epoch, and early stopping
can then only choose among over-fitted epochs: on Criteo at 100k rows the default
lost to a tuned logistic regression. So, as the paper's FNN starts from a
pre-trained FM, the order-1 part starts from scikit-learn's L2 ``LogisticRegression``
fitted on the training split's one-hot codes (seconds at 100k rows). Early stopping
scores that start before training, as epoch 0, and the fit keeps it when no
trained epoch scores better: the kept network is never worse on the validation
split than the linear model. Training itself runs as before, so a deep part that
needs a few epochs to pass the start still gets them.
"""

import numpy as np
import scipy.sparse as sp
import torch
from threadpoolctl import threadpool_limits

from ..data import BatchIterator
from ._net import _PREDICT_BATCH_SIZE


def design_matrix(module, data):
    """Return the order-1 part's input on ``data`` as CSR, a column per table row, and ``y``.

    Returns
    -------
    X : scipy.sparse.csr_matrix of shape (len(data), table rows)
    y : ndarray of shape (len(data),)
        The loss's targets.
    sample_weight : ndarray of shape (len(data),) or None
    """
    table = module.first_order
    parts, targets, weights = [], [], []
    for inputs, batch_targets in BatchIterator(data, _PREDICT_BATCH_SIZE):
        rows, values = table.lookup(inputs["codes"], inputs.get("values"))
        n, columns = rows.shape
        matrix = sp.csr_matrix(
            (
                values.cpu().double().numpy().ravel(),
                rows.cpu().numpy().ravel(),
                np.arange(0, n * columns + 1, columns),
            ),
            shape=(n, table.embedding.num_embeddings),
        )
        matrix.sum_duplicates()  # a multi-valued field's repeated values
        parts.append(matrix)
        targets.append(batch_targets["y"].numpy())
        weights.append(batch_targets.get("sample_weight"))
    weight = None if weights[0] is None else torch.cat(weights).numpy()
    return sp.vstack(parts, format="csr"), np.concatenate(targets), weight


def fit_linear(module, data, model, warm=None):
    """Fit ``model`` (a scikit-learn linear model) on ``data``; start the order-1 part from it.

    ``warm``, the state dict of a module whose order-1 part an earlier fit on the
    same columns set (a refit's first fit), starts the solver there: a refit's
    rows add a tenth to the first fit's, and the solver takes half the iterations.
    """
    X, y, weight = design_matrix(module, data)
    if warm is not None:
        model.set_params(warm_start=True)
        model.coef_ = warm["first_order.embedding.weight"][:, 0].double().numpy()[np.newaxis]
        model.intercept_ = warm["bias"].double().numpy().reshape(1)
    with threadpool_limits(1):  # lbfgs is serial: more threads only contend
        model.fit(X, y, sample_weight=weight)
    with torch.no_grad():
        table = module.first_order.embedding.weight
        table[:, 0] = torch.as_tensor(np.ravel(model.coef_), dtype=table.dtype)
        module.bias.fill_(float(np.ravel(model.intercept_)[0]))
