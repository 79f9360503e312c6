"""The numbers the displays draw, against references: the epoch early stopping kept."""

from types import SimpleNamespace

import numpy as np
import pytest
import torch
from skorch.callbacks import EarlyStopping
from skorch.history import History

from sklearn_deepfm.inspection._learned import restored_epoch


def history(scores, key="valid_auc"):
    return [{"epoch": i + 1, **({} if s == "absent" else {key: s})} for i, s in enumerate(scores)]


@pytest.mark.parametrize(
    "scores, lower_is_better, expected",
    [
        ([0.70, 0.75, 0.74], False, 2),
        ([0.70, 0.75, 0.75005], False, 2),  # up by less than tol: no improvement
        ([0.70, 0.70008, 0.70016], False, 3),  # tol counts from the last improvement
        ([0.50, 0.40, 0.45, 0.39995], True, 2),
        ([0.50, 0.40, 0.45, 0.3], True, 4),
        ([None, 0.6, float("nan")], False, 2),  # NaN (None after load) never improves
        ([float("nan"), float("nan")], False, 2),  # nothing to restore: the last epoch
        ([0.7, 0.8, "absent"], False, None),  # then partial_fit: the last epoch's weights
        (["absent", "absent"], False, None),  # no validation split
        ([], False, None),
    ],
)
def test_restored_epoch_on_handmade_histories(scores, lower_is_better, expected):
    got = restored_epoch(
        history(scores), "valid_auc", lower_is_better=lower_is_better, threshold=1e-4
    )
    assert got == expected


@pytest.mark.parametrize("lower_is_better", [False, True])
@pytest.mark.parametrize("seed", range(5))
def test_restored_epoch_matches_skorch_early_stopping(lower_is_better, seed):
    # Noisy scores on a plateau, so that many epochs come within the threshold.
    scores = 0.8 + np.round(np.random.default_rng(seed).normal(0, 0.002, 30), 4)
    net = SimpleNamespace(history=History(), module_=torch.nn.Linear(1, 1), verbose=0)
    callback = EarlyStopping(
        "valid_auc",
        patience=100,
        threshold=1e-3,
        threshold_mode="abs",
        lower_is_better=lower_is_better,
        load_best=True,
    )
    callback.on_train_begin(net)
    for epoch, score in enumerate(scores, start=1):
        net.history.new_epoch()
        net.history.record("epoch", epoch)
        net.history.record("valid_auc", float(score))
        callback.on_epoch_end(net)
    got = restored_epoch(
        list(net.history), "valid_auc", lower_is_better=lower_is_better, threshold=1e-3
    )
    assert got == callback.best_epoch_
