"""The numbers behind ``inspection``'s pictures: a fit's kept epoch, the FM part's pairs.

Plain functions of a training history or of a fitted ``DeepFMClassifier``, with no
plotting, so that they are tested against references on their own.
"""

import numpy as np
import torch
from sklearn.utils.validation import validate_data

from ..data import as_tensors
from ..estimators._validation import check_codes

# Rows per pass through the embedding: bounds the (rows, fields, fields) products.
CHUNK = 8192


def history_column(history, key):
    """Return the values of ``key`` over the epochs, NaN where missing; None if none has it."""
    if not any(key in epoch for epoch in history):
        return None
    return np.array([epoch.get(key) for epoch in history], dtype=float)


def restored_epoch(history, monitor, *, lower_is_better, threshold):
    """Return the epoch whose weights skorch's ``EarlyStopping(load_best=True)`` kept.

    skorch's rule with ``threshold_mode="abs"``: an epoch improves when its ``monitor``
    score beats the best so far by more than ``threshold`` (NaN, None after ``load``,
    never does), and the last improving epoch is kept (the last epoch if none did).
    An epoch without ``monitor`` had no validation split, so no early stopping: when
    the history ends with one, the weights are that epoch's and None is returned.

    Parameters
    ----------
    history : sequence of dict
        Per-epoch records, such as a skorch ``History``, with ``"epoch"`` (from 1).
    monitor : str
        The key early stopping watched, ``"valid_auc"`` or ``"valid_loss"``.
    lower_is_better : bool
    threshold : float

    Returns
    -------
    int or None
    """
    if not history or monitor not in history[-1]:
        return None
    bound = np.inf if lower_is_better else -np.inf
    best = None
    for epoch in history:
        score = epoch.get(monitor)
        score = np.nan if score is None else float(score)
        if score < bound if lower_is_better else score > bound:
            bound = score - threshold if lower_is_better else score + threshold
            best = epoch["epoch"]
    return best if best is not None else history[-1]["epoch"]


def field_interactions(classifier, X):
    """Return the mean over the rows of ``X`` of ``|<v_i x_i, v_j x_j>|`` for each field pair.

    ``v_i x_i`` is field ``i``'s embedding row scaled by its value, as the FM part of
    ``classifier.net_.module_`` sees it.

    Parameters
    ----------
    classifier : DeepFMClassifier
        Fitted, with a network that has an ``embedding`` (a ``FieldEmbedding``).
    X : array-like of shape (n_samples, n_fields)
        The classifier's input: codes and values.

    Returns
    -------
    ndarray of shape (n_fields, n_fields)
        Symmetric, with a zero diagonal; one row per field of ``field_slices_``.
    """
    X = validate_data(classifier, X, reset=False, dtype=[np.float64, np.float32, np.int64])
    value_fields = classifier.value_fields_
    names = getattr(classifier, "feature_names_in_", None)
    check_codes(X, value_fields, classifier.cardinalities_, names)
    codes, values = as_tensors(X, value_fields, classifier.cardinalities_)
    net = classifier.net_
    n_fields = len(classifier.field_slices_)  # a multi-valued field's slots pool into one
    total = torch.zeros(n_fields, n_fields, dtype=torch.float64)
    with torch.inference_mode():
        for start in range(0, len(X), CHUNK):
            batch = slice(start, start + CHUNK)
            batch_values = None if values is None else values[batch].to(net.device)
            embedded = net.module_.embedding(codes[batch].to(net.device), batch_values)
            products = embedded @ embedded.transpose(1, 2)  # (rows, fields, fields)
            total += products.abs().sum(dim=0).double().cpu()
    mean = (total / len(X)).numpy()
    np.fill_diagonal(mean, 0.0)
    return mean
