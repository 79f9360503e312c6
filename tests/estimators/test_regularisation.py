"""The large-data regularisation: embedding_l2 on the whole tables and plateau_factor's decay.

"auto" turns both on from 50,000 training rows of each class (Frappe 260k); the rules,
the penalty's reach (every row of dense tables, the batch's rows of sparse ones) and the
decay's schedule, reset and replay in a refit are checked here through the estimator.
"""

import numpy as np
import pytest
import torch

from sklearn_deepfm import DeepFMClassifier, make_ctr_classification
from sklearn_deepfm.data import FieldDataset
from sklearn_deepfm.estimators import _callbacks
from sklearn_deepfm.estimators._defaults import large_data, regularisation_for

SMALL = {"embedding_dim": 4, "hidden_layer_sizes": (8,), "linear_start_C": None}


def labelled(n_positive, n_negative):
    y = torch.cat([torch.ones(n_positive), torch.zeros(n_negative)])
    return FieldDataset(torch.zeros(len(y), 1, dtype=torch.long), y=y)


@pytest.mark.parametrize(
    "counts, rows, large",
    [((50_000, 50_000), 100_000, True), ((49_999, 10**6), 10, False)]
    + [((50_000, 50_000), 100_001, False)],
)
def test_large_data_is_many_rows_of_each_class_on_small_tables(counts, rows, large):
    assert large_data(labelled(*counts), rows) == large


@pytest.mark.parametrize(
    "settings, counts, rows, expected",
    [
        ({}, (50_000, 50_000), 5_000, (0.003, 0.1, False)),  # large: dense, penalty, decay
        ({}, (49_999, 50_000), 5_000, (0.0, 1.0, True)),
        ({}, (50_000, 50_000), 200_000, (0.0, 1.0, True)),
        ({"sparse_embeddings": True}, (50_000, 50_000), 5_000, (0.0, 0.1, True)),
        ({"embedding_l2": 0.5}, (10, 10), 100_000, (0.5, 1.0, False)),  # reaches every row
        ({"embedding_l2": 0.5}, (10, 10), 100_001, (0.5, 1.0, True)),
        ({"plateau_factor": 0.5, "embedding_l2": 0.0}, (10, 10), 10, (0.0, 0.5, True)),
    ],
)
def test_auto_regularisation_rules(settings, counts, rows, expected):
    estimator = DeepFMClassifier(**settings)
    assert regularisation_for(estimator, labelled(*counts), rows) == expected


def test_small_data_keeps_the_constant_rate_and_no_penalty(one_thread):
    X, y = make_ctr_classification(n_samples=600, random_state=0)
    model = DeepFMClassifier(max_epochs=2, random_state=0, **SMALL).fit(X, y)
    assert (model.embedding_l2_, model.plateau_factor_) == (0.0, 1.0)
    assert model.net_.sparse_embeddings


def unused_row_norms(one_thread, **params):
    """Fit with code 5 of field 0 never used; return its embedding row's norm."""
    X, y = make_ctr_classification(n_samples=600, random_state=0)
    X = np.asarray(X).copy()
    X[:, 0] = np.where(X[:, 0] == 5, 6, X[:, 0])
    X[0, 0] = max(X[:, 0].max(), 6)  # the table has a row for code 5
    model = DeepFMClassifier(max_epochs=3, random_state=0, early_stopping=False, **SMALL)
    model.set_params(**params).fit(X, y)
    table = model.net_.module_.embedding
    return float(table.embedding.weight[table.offsets[0] + 5].detach().norm())


def test_the_penalty_reaches_every_row_of_dense_tables_and_the_batchs_of_sparse(one_thread):
    start = unused_row_norms(one_thread, embedding_l2=0.0, sparse_embeddings=False)
    dense = unused_row_norms(one_thread, embedding_l2=1.0, sparse_embeddings=False)
    sparse = unused_row_norms(one_thread, embedding_l2=1.0, sparse_embeddings=True)
    assert dense < 0.5 * start
    assert sparse == pytest.approx(start, rel=1e-6)


def test_each_miss_decays_the_rates_and_the_next_call_starts_afresh(one_thread):
    # tol=1 makes every epoch after the first a miss: decays after the second and third
    X, y = make_ctr_classification(n_samples=2_000, random_state=0)
    model = DeepFMClassifier(
        max_epochs=10, random_state=0, tol=1.0, plateau_factor=0.5, refit=False, **SMALL
    ).fit(X, y)
    assert [epoch["lr_scale"] for epoch in model.net_.history] == [1.0, 1.0, 0.5, 0.25]
    assert model.net_.optimizer_.param_groups[0]["lr"] == pytest.approx(0.25e-3)
    model.partial_fit(X, y)
    assert model.net_.optimizer_.param_groups[0]["lr"] == 1e-3
    assert model.net_.optimizer_sparse_.param_groups[0]["lr"] == 1e-3


def test_a_refit_replays_the_rates_of_the_epochs_it_repeats(one_thread, monkeypatch):
    # epochs 1 and 3 improve: the decay after epoch 2 is among the three kept epochs
    verdicts = iter([True, False, True, False, False, False])
    monkeypatch.setattr(
        _callbacks.ResumableEarlyStopping, "_is_score_improved", lambda self, score: next(verdicts)
    )
    seen = []
    replay = _callbacks.LearningRateReplay.on_epoch_begin

    def record(self, net, **kwargs):
        replay(self, net, **kwargs)
        seen.append(net.optimizer_.param_groups[0]["lr"])

    monkeypatch.setattr(_callbacks.LearningRateReplay, "on_epoch_begin", record)
    X, y = make_ctr_classification(n_samples=2_000, random_state=0)
    model = DeepFMClassifier(max_epochs=10, random_state=0, plateau_factor=0.5, refit=True, **SMALL)
    model.fit(X, y)
    history = model.early_stopping_history_
    assert [epoch["lr_scale"] for epoch in history] == [1.0, 1.0, 0.5, 0.5, 0.25, 0.125]
    assert seen == pytest.approx([1e-3, 1e-3, 0.5e-3])
    assert len(model.net_.history) == 3


@pytest.mark.parametrize(
    "counts, rows, expected",
    [((50_000, 50_000), 5_000, 4096)]
    + [((50_000, 50_000), 200_000, 1024), ((10, 10), 5_000, 1024)],
)
def test_large_data_takes_batches_of_up_to_4096_rows(counts, rows, expected):
    assert DeepFMClassifier()._auto_batch_max_for(labelled(*counts), rows) == expected
