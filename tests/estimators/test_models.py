"""The DeepFM paper's comparison family: PNN's product layers, FNN's pre-training, all choices."""

import itertools
import re

import numpy as np
import pytest
import torch
from conftest import MODEL_NAMES, SHARED_DATA, TINY
from sklearn.metrics import roc_auc_score

from sklearn_deepfm import DeepFMClassifier, make_ctr_classification
from sklearn_deepfm.estimators._net import CTRNet
from sklearn_deepfm.nn import MODELS as _MODELS
from sklearn_deepfm.nn import PNN, DeepFM, inner_products, pooled_outer_product

FAST = dict(TINY, max_epochs=3)
FRAPPE = SHARED_DATA / "frappe" / "frappe.train.libfm"


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def ctr_data():
    return make_ctr_classification(n_samples=600, random_state=0)


def random_embedded(n_fields, k, seed=0):
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(5, n_fields, k, generator=generator, dtype=torch.float64)


# -- product layers against double loops -------------------------------------


@pytest.mark.parametrize("n_fields, k", [(2, 1), (3, 4), (7, 3), (39, 10)])
def test_inner_products_match_a_double_loop(n_fields, k):
    embedded = random_embedded(n_fields, k)
    expected = torch.stack(
        [
            (embedded[:, i] * embedded[:, j]).sum(dim=1)
            for i, j in itertools.combinations(range(n_fields), 2)
        ],
        dim=1,
    )
    torch.testing.assert_close(inner_products(embedded), expected)


@pytest.mark.parametrize("n_fields, k", [(1, 3), (3, 4), (6, 2)])
def test_pooled_outer_product_is_the_sum_of_all_pairs_outer_products(n_fields, k):
    embedded = random_embedded(n_fields, k)
    expected = torch.zeros(embedded.shape[0], k, k, dtype=embedded.dtype)
    for i, j in itertools.product(range(n_fields), repeat=2):
        expected += embedded[:, i, :, None] * embedded[:, j, None, :]
    torch.testing.assert_close(pooled_outer_product(embedded), expected.flatten(1))


@pytest.mark.parametrize("product, n_products", [("inner", 3 * 2 // 2), ("outer", 4 * 4)])
def test_pnn_feeds_embeddings_and_products_to_its_mlp(product, n_products):
    torch.manual_seed(0)
    net = PNN([4, 6, 3], embedding_dim=4, hidden_layer_sizes=(8,), product=product, init_std=0.1)
    assert net.dnn[0].in_features == 3 * 4 + n_products
    codes = torch.tensor([[0, 5, 2], [3, 1, 0]])
    values = torch.tensor([[1.0, 0.5, 2.0], [1.0, 1.0, 1.0]])
    embedded = net.embedding(codes, values)
    products = inner_products(embedded) if product == "inner" else pooled_outer_product(embedded)
    expected = net.dnn(torch.cat([embedded.flatten(1), products], dim=1)).squeeze(-1)
    torch.testing.assert_close(net(codes, values), expected)


def test_pnn_rejects_an_unknown_product():
    with pytest.raises(ValueError, match="product must be 'inner' or 'outer'. Got 'kernel'"):
        PNN([3, 3], product="kernel")


@pytest.mark.parametrize("product", ["inner", "outer"])
def test_pnn_sparse_embedding_gets_sparse_gradients(product):
    net = PNN([10, 10, 4], embedding_dim=3, hidden_layer_sizes=(4,), product=product, sparse=True)
    net(torch.tensor([[1, 2, 3], [3, 4, 0]])).sum().backward()
    assert net.embedding.embedding.weight.grad.is_sparse
    assert not net.dnn[0].weight.grad.is_sparse


# -- every choice through the estimator --------------------------------------


def test_model_choices_are_registered():
    (choices,) = DeepFMClassifier._parameter_constraints["model"]
    assert sorted(choices.options) == sorted(MODEL_NAMES)
    documented = re.search(r"model : \{(.*)\}", DeepFMClassifier.__doc__)[1]
    assert sorted(re.findall(r'"(\w+)"', documented)) == sorted(MODEL_NAMES)


@pytest.mark.parametrize("model", MODEL_NAMES)
def test_every_model_fits_and_predicts(ctr_data, model):
    X, y = ctr_data
    # 5 epochs: at 3, OPNN's training AUC was 0.596 to 0.631 over seeds, at the threshold
    clf = DeepFMClassifier(model=model, random_state=0, **dict(FAST, max_epochs=5)).fit(X, y)
    proba = clf.predict_proba(X)
    assert proba.shape == (len(X), 2)
    assert np.isfinite(proba).all()
    assert roc_auc_score(y, proba[:, 1]) > 0.6  # learned something on its training data
    module, params = _MODELS[model]
    assert isinstance(clf.net_.module_, module)
    if module is PNN:
        assert clf.net_.module_.product == params["product"]


@pytest.mark.parametrize("model", ["ipnn", "opnn"])
def test_pnn_embedding_gets_the_sparse_optimizer(ctr_data, model):
    X, y = ctr_data
    clf = DeepFMClassifier(model=model, sparse_embeddings=True, embedding_l2=1e-3, **FAST)
    clf.set_params(random_state=0).fit(X, y)
    weight = clf.net_.module_.embedding.embedding.weight
    sparse_params = clf.net_.optimizer_sparse_.param_groups[0]["params"]
    assert len(sparse_params) == 1 and sparse_params[0] is weight
    assert not any(p is weight for g in clf.net_.optimizer_.param_groups for p in g["params"])


def test_fnn_starts_from_the_pretrained_fm_embedding(ctr_data, monkeypatch):
    """FNN fits an FM on the same split, then the DNN starts from its embedding table."""
    X, y = ctr_data
    params = dict(FAST, early_stopping=True, refit=False, random_state=0)
    runs = []  # (module, state at start, state at end) of each training
    partial_fit = CTRNet.partial_fit

    def state(net):
        return {name: t.detach().clone() for name, t in net.module_.state_dict().items()}

    def spy(net, *args, **kwargs):
        start = state(net)
        out = partial_fit(net, *args, **kwargs)
        runs.append((net.module_, start, state(net)))
        return out

    monkeypatch.setattr(CTRNet, "partial_fit", spy)
    fnn = DeepFMClassifier(model="fnn", **params).fit(X, y)
    (fm, fm_start, fm_end), (dnn, dnn_start, _) = runs
    table = "embedding.embedding.weight"
    assert fm.fm and fm.first_order is not None and fm.dnn is None
    assert dnn is fnn.net_.module_
    assert not dnn.fm and dnn.first_order is None and dnn.dnn is not None
    assert not torch.equal(fm_start[table], fm_end[table])  # the FM was trained ...
    assert torch.equal(dnn_start[table], fm_end[table])  # ... and the DNN starts from its table

    # the first stage is model="fm" with the same settings (same split and seed) ...
    # (FNN's FM starts from zeros, as its network has no order-1 part to start linearly)
    fm_alone = DeepFMClassifier(model="fm", linear_start_C=None, **params).fit(X, y)
    assert torch.equal(fm_alone.net_.module_.embedding.embedding.weight, fm_end[table])
    # ... and the second starts as model="dnn" does, but for the embedding table
    DeepFMClassifier(model="dnn", **params).fit(X, y)
    dnn_alone_start = runs[-1][1]
    assert dnn_alone_start.keys() == dnn_start.keys()
    assert not torch.equal(dnn_alone_start[table], dnn_start[table])
    for name in dnn_start.keys() - {table}:
        assert torch.equal(dnn_alone_start[name], dnn_start[name]), name


def test_fnn_is_reproducible(ctr_data):
    X, y = ctr_data
    first, second = (
        DeepFMClassifier(model="fnn", random_state=3, **FAST).fit(X, y).predict_proba(X)
        for _ in range(2)
    )
    np.testing.assert_array_equal(first, second)


def test_unknown_model_is_rejected(ctr_data):
    X, y = ctr_data
    with pytest.raises(ValueError, match="'model' parameter .* must be a str among"):
        DeepFMClassifier(model="xdeepfm").fit(X, y)


def test_deepfm_module_is_unchanged_by_the_registry():
    assert _MODELS["deepfm"] == (DeepFM, {"first_order": True, "fm": True, "dnn": True})
