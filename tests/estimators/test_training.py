"""Training's fast paths: batches cut from whole tensors, updates of the rows a batch uses.

CTRNet's steps are checked against a hand-written PyTorch loop; the sparse and dense
updates against each other. Nothing here is timed (see benchmarks/training.py).
"""

import numpy as np
import pytest
import torch
from conftest import TINY
from torch import nn

from sklearn_deepfm import DeepFMClassifier, make_ctr_classification
from sklearn_deepfm.data import BatchIterator, FieldDataset
from sklearn_deepfm.estimators._net import CTRNet
from sklearn_deepfm.nn import CatchUpAdam, DeepFM

FAST = dict(TINY, max_epochs=2, early_stopping=False, random_state=0)

# nothing here is timed: one thread never waits on another on a busy machine
pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def codes_data():
    return make_ctr_classification(n_samples=500, random_state=0)


def small_codes(n_rows=300, cardinalities=(5, 7, 3, 11), seed=0):
    rng = np.random.default_rng(seed)
    codes = np.column_stack([rng.integers(0, c, n_rows) for c in cardinalities])
    return torch.as_tensor(codes), torch.as_tensor(rng.integers(0, 2, n_rows)).float()


def make_net(cardinalities, sparse, batch_norm=True, **params):
    module = dict(
        cardinalities=list(cardinalities),
        embedding_dim=3,
        hidden_layer_sizes=(8,),
        dropout=0.3,
        batch_norm=batch_norm,
        sparse=sparse,
    )
    net = CTRNet(
        module=DeepFM,
        **{f"module__{key}": value for key, value in module.items()},
        criterion=nn.BCEWithLogitsLoss,
        criterion__reduction="none",
        optimizer=torch.optim.Adam,
        lr=0.01,
        iterator_train=BatchIterator,
        iterator_train__shuffle=True,
        iterator_train__generator=torch.Generator().manual_seed(1),
        train_split=None,
        sparse_embeddings=sparse,
        verbose=0,
        **params,
    )
    return net, module


@pytest.mark.parametrize("sparse", [True, False])
def test_training_matches_a_plain_pytorch_loop(sparse):
    """CTRNet's batches and optimizer steps are exactly those of a hand-written loop."""
    codes, y = small_codes()
    # no batch norm: the bias before it gets a gradient of rounding noise only,
    # which Adam scales up to full steps, so two summation orders drift apart
    net, module_params = make_net(
        (5, 7, 3, 11), sparse, batch_norm=False, max_epochs=2, batch_size=64
    )
    torch.manual_seed(0)
    net.fit(FieldDataset(codes, y=y), y=None)
    if sparse:
        assert isinstance(net.optimizer_sparse_, CatchUpAdam)

    torch.manual_seed(0)
    module = DeepFM(**module_params)
    tables = [p for n, p in module.named_parameters() if n.endswith("embedding.weight")]
    tables = tables if sparse else []
    rest = [p for p in module.parameters() if all(p is not t for t in tables)]
    optimizers = [torch.optim.Adam(rest, lr=0.01)]
    optimizers += [CatchUpAdam(tables, lr=0.01)] if tables else []
    generator = torch.Generator().manual_seed(1)
    module.train()
    for _ in range(2):
        order = torch.randperm(len(codes), generator=generator)
        for start in range(0, len(codes), 64):
            rows = order[start : start + 64]
            for optimizer in optimizers:
                optimizer.zero_grad()
            nn.functional.binary_cross_entropy_with_logits(module(codes[rows]), y[rows]).backward()
            for optimizer in optimizers:
                optimizer.step()
        if sparse:
            optimizers[-1].flush()  # as CTRNet does at the end of each epoch

    for (name, trained), (_, expected) in zip(
        net.module_.named_parameters(), module.named_parameters(), strict=True
    ):
        torch.testing.assert_close(trained, expected, rtol=1e-6, atol=1e-7, msg=name)


def test_fit_leaves_no_embedding_move_pending(codes_data):
    X, y = codes_data
    clf = DeepFMClassifier(**FAST).fit(X, y)
    optimizer = clf.net_.optimizer_sparse_
    for state in optimizer.state.values():
        assert (state["last_step"] == state["step"]).all()


@pytest.mark.parametrize("sparse", [True, False])
def test_batch_size_larger_than_the_data(codes_data, sparse):
    X, y = codes_data
    params = dict(FAST, max_epochs=1, sparse_embeddings=sparse)
    huge = DeepFMClassifier(**dict(params, batch_size=10**6)).fit(X, y)
    exact = DeepFMClassifier(**dict(params, batch_size=len(X))).fit(X, y)
    assert huge.net_.history[-1, "train_batch_count"] == 1
    np.testing.assert_array_equal(huge.predict_proba(X), exact.predict_proba(X))
    assert np.isfinite(huge.predict_proba(X)).all()


@pytest.mark.parametrize("sparse", [True, False])
def test_sparse_and_dense_updates_both_learn(codes_data, sparse):
    X, y = codes_data
    clf = DeepFMClassifier(**dict(FAST, max_epochs=3, sparse_embeddings=sparse)).fit(X, y)
    losses = clf.net_.history[:, "train_loss"]
    assert losses[-1] < losses[0]
    optimizers = {name: type(opt) for name, opt in clf.net_.optimizers().items()}
    expected = {"optimizer": torch.optim.Adam}
    expected |= {"optimizer_sparse": CatchUpAdam} if sparse else {}
    assert optimizers == expected
