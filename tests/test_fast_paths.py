"""The fast paths give what the straightforward paths give (issue 4).

Training cuts batches from whole tensors and updates only the embedding rows a
batch uses; prediction runs the module in large batches without autograd, on
codes used without a copy where possible; the encoder works column by column.
Each is checked against a plain reference: a hand-written PyTorch loop, the
module's own forward, one row at a time. Nothing here is timed; the speed
itself is measured by ``benchmarks/speed.py``, smoke-run at the end.
"""

import bisect

import numpy as np
import pandas as pd
import pytest
import torch
from scipy.special import expit
from sklearn.pipeline import make_pipeline
from torch import nn

from sklearn_deepfm import DeepFMClassifier, FieldEncoder, make_ctr_classification
from sklearn_deepfm.data._arrays import BatchIterator, FieldDataset, as_tensors
from sklearn_deepfm.estimators import _base
from sklearn_deepfm.estimators._net import CTRNet
from sklearn_deepfm.nn import DeepFM
from sklearn_deepfm.nn._optim import CatchUpAdam

FAST = dict(
    embedding_dim=4,
    hidden_layer_sizes=(16,),
    max_epochs=2,
    batch_size=64,
    early_stopping=False,
    random_state=0,
)


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread():
    """Nothing here is timed; one thread never waits on another on a busy machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def codes_data():
    return make_ctr_classification(n_samples=500, random_state=0)


@pytest.fixture(scope="module")
def fitted(codes_data):
    X, y = codes_data
    return DeepFMClassifier(**FAST).fit(X, y)


@pytest.fixture(scope="module")
def frame_data():
    X, y = make_ctr_classification(n_samples=600, n_numeric=2, as_frame=True, random_state=1)
    X = X.astype({"C1": object})
    X.loc[::7, "C1"] = None  # missing categories
    X.loc[::11, "I1"] = np.nan  # missing numbers
    return X, y


def manual_logits(clf, X):
    """The fitted module's forward on every row at once, in eval mode, as float64."""
    X = np.asarray(X, dtype=np.float64)
    codes = torch.as_tensor(np.where(clf.value_fields_, 0, X), dtype=torch.long)
    values = None
    if clf.value_fields_.any():
        values = torch.as_tensor(np.where(clf.value_fields_, X, 1.0), dtype=torch.float32)
    module = clf.net_.module_.eval()
    with torch.no_grad():
        logits = module(codes, values).double().numpy()
    scale, shift = getattr(clf, "calibration_", (1.0, 0.0))
    return scale * logits + shift


# prediction -------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.float64])
@pytest.mark.parametrize("order", ["C", "F"])
def test_predict_proba_matches_the_module_forward_and_skorch(codes_data, fitted, dtype, order):
    X, _ = codes_data
    clf = fitted
    X_in = np.asarray(X, dtype=dtype, order=order)
    expected = expit(manual_logits(clf, X))
    np.testing.assert_allclose(clf.predict_proba(X_in)[:, 1], expected, rtol=1e-6, atol=1e-7)
    skorch_logits = clf.net_.forward(FieldDataset(torch.as_tensor(X))).double().numpy()
    np.testing.assert_allclose(clf.decision_function(X_in), skorch_logits, rtol=1e-5, atol=1e-6)


def test_predict_proba_with_continuous_fields_matches_the_module_forward(codes_data):
    X, y = codes_data
    X = np.column_stack([X, np.random.default_rng(0).normal(size=len(X))])
    clf = DeepFMClassifier(**FAST).fit(X, y)
    assert clf.value_fields_.tolist() == [False] * (X.shape[1] - 1) + [True]
    np.testing.assert_allclose(
        clf.predict_proba(X)[:, 1], expit(manual_logits(clf, X)), rtol=1e-6, atol=1e-7
    )


def test_prediction_in_batches_matches_one_forward(codes_data, fitted, monkeypatch):
    X, _ = codes_data
    whole = fitted.decision_function(X)
    monkeypatch.setattr(_base, "_PREDICT_BATCH_SIZE", 7)  # 500 = 71 * 7 + 3
    np.testing.assert_allclose(fitted.decision_function(X), whole, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("dtype", [np.int32, np.float64, np.float32])
def test_fit_on_any_code_dtype_gives_the_same_model(codes_data, fitted, dtype):
    """Integer codes are used without a copy; other dtypes are converted: same model."""
    X, y = codes_data
    reference = fitted.predict_proba(X)
    other = DeepFMClassifier(**FAST).fit(X.astype(dtype), y).predict_proba(X)
    np.testing.assert_array_equal(other, reference)


def as_tensors_of(clf, X):
    return as_tensors(X, clf.value_fields_, clf.cardinalities_)


def test_integer_codes_reach_the_module_without_a_copy(codes_data, fitted):
    X, _ = codes_data
    clf = fitted
    codes, values = as_tensors_of(clf, X)
    assert values is None
    assert np.shares_memory(codes.numpy(), X)
    codes32, _ = as_tensors_of(clf, X.astype(np.int32))
    assert codes32.dtype == torch.int32
    converted, _ = as_tensors_of(clf, X.astype(np.float64))
    assert converted.dtype == torch.int32  # half the memory of int64 codes
    torch.testing.assert_close(converted.long(), torch.as_tensor(X))


@pytest.mark.parametrize("numeric_encoding", ["quantile", "value"])
def test_one_row_requests_match_the_batch(frame_data, numeric_encoding):
    X, y = frame_data
    model = make_pipeline(
        FieldEncoder(numeric_encoding=numeric_encoding), DeepFMClassifier(**FAST)
    ).fit(X, y)
    requests = X.iloc[:25].copy()
    requests.loc[requests.index[3], "C1"] = "never seen"
    requests.loc[requests.index[4], ["C2", "I2"]] = [None, np.nan]
    batch = model.predict_proba(requests)
    for i in range(len(requests)):
        one = model.predict_proba(requests.iloc[[i]])
        np.testing.assert_allclose(one, batch[i : i + 1], rtol=1e-6, atol=1e-7)


# encoder ----------------------------------------------------------------------------


def reference_transform(encoder, X):
    """Encode X one cell at a time with Python dicts and bisect, from the fitted attributes."""
    out = np.zeros(X.shape, dtype=np.float64)
    for j, name in enumerate(encoder.feature_names_in_):
        categories = encoder.categories_[j]
        is_vocabulary = categories.dtype == object
        if is_vocabulary:
            has_missing = len(categories) > 0 and pd.isna(categories[-1])
            known = categories[:-1] if has_missing else categories
            codes = {value: i + 1 for i, value in enumerate(known)}
            missing_code = len(categories) if has_missing else 0
        else:  # quantile edges
            n_bins = max(len(categories) - 1, 1)
            missing_code = n_bins + 1 if encoder.cardinalities_[j] == n_bins + 2 else 0
        for i, value in enumerate(X[name].tolist()):
            if pd.isna(value):
                out[i, j] = missing_code
            elif is_vocabulary:
                out[i, j] = codes.get(value, 0)
            else:
                out[i, j] = bisect.bisect_right(categories[1:-1].tolist(), value) + 1
    return out


def test_encoder_transform_matches_a_cell_by_cell_reference(frame_data):
    X, _ = frame_data
    encoder = FieldEncoder().fit(X.iloc[:400])
    new = X.iloc[400:].copy()
    new.loc[new.index[:5], "C1"] = ["unseen", "C1_1", None, "C1_2", "other"]
    new.loc[new.index[:3], "I1"] = [-1e9, 1e9, np.nan]
    np.testing.assert_array_equal(encoder.transform(new), reference_transform(encoder, new))


def test_encoder_one_row_transforms_match_the_batch(frame_data):
    X, _ = frame_data
    encoder = FieldEncoder().fit(X)
    batch = encoder.transform(X.iloc[:30])
    rows = np.vstack([encoder.transform(X.iloc[[i]]) for i in range(30)])
    np.testing.assert_array_equal(rows, batch)


# training ---------------------------------------------------------------------------


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


def sparse_batches(n_rows=40, n_steps=60, batch=12, seed=0):
    """Row indices of Zipf-like batches: some rows come often, some rarely, some never."""
    generator = torch.Generator().manual_seed(seed)
    weights = 1.0 / torch.arange(1, n_rows + 1) ** 1.3
    return [
        torch.multinomial(weights, batch, replacement=True, generator=generator)
        for _ in range(n_steps)
    ]


@pytest.mark.parametrize("betas", [(0.9, 0.999), (0.5, 0.9), (0.0, 0.99)])
def test_catch_up_adam_makes_the_moves_of_dense_adam(betas):
    """With gradients that do not depend on the weights, the paths are the same.

    (When they depend on the weights, the gradient of a row that missed steps is
    taken before their moves are applied, so the paths differ slightly.)

    Two tables share their indices (as DeepFM's order-1 weights and embeddings do),
    batches repeat rows, and rows skip many steps.
    """
    generator = torch.Generator().manual_seed(1)
    start = [torch.randn(40, 3, generator=generator), torch.randn(40, 1, generator=generator)]
    dense = [nn.Embedding(40, w.shape[1], _weight=w.clone()) for w in start]
    lazy = [nn.Embedding(40, w.shape[1], sparse=True, _weight=w.clone()) for w in start]
    dense_adam = torch.optim.Adam([e.weight for e in dense], lr=0.05, betas=betas)
    catch_up = CatchUpAdam([e.weight for e in lazy], lr=0.05, betas=betas)
    # gradients well above eps, whose share in the missed steps' denominators differs
    slopes = [torch.randn(40, w.shape[1], generator=generator) for w in start]
    slopes = [slope.sign() * (0.5 + slope.abs()) for slope in slopes]
    for rows in sparse_batches():
        for tables, optimizer in [(dense, dense_adam), (lazy, catch_up)]:
            optimizer.zero_grad()
            sum(
                (t(rows) * slope[rows]).sum() for t, slope in zip(tables, slopes, strict=True)
            ).backward()
            optimizer.step()
    catch_up.flush()
    for d, c in zip(dense, lazy, strict=True):
        torch.testing.assert_close(c.weight, d.weight, rtol=1e-5, atol=1e-6)


def test_catch_up_adam_touches_only_the_rows_of_the_batch():
    table = nn.Embedding(10, 2, sparse=True)
    optimizer = CatchUpAdam(table.parameters(), lr=0.1)
    for rows in ([0, 1, 2], [3, 4]):  # rows 0..2 get moments, then miss a step
        optimizer.zero_grad()
        table(torch.tensor(rows)).sum().backward()
        before = table.weight.detach().clone()
        optimizer.step()
        moved = (table.weight != before).any(dim=1)
        assert moved.nonzero().flatten().tolist() == rows
    optimizer.flush()  # now rows 0..2 make the momentum move they missed
    assert (table.weight[:3] != before[:3]).all()
    assert torch.equal(table.weight[5:], before[5:])  # never used: never moved


@pytest.mark.parametrize("kwargs", [dict(lr=0.0), dict(eps=0.0), dict(betas=(0.9, 1.0))])
def test_catch_up_adam_rejects_bad_settings(kwargs):
    with pytest.raises(ValueError, match="CatchUpAdam needs"):
        CatchUpAdam(nn.Embedding(3, 2, sparse=True).parameters(), **kwargs)


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


@pytest.mark.parametrize("n_rows, batch_size", [(10, 3), (10, 10), (9, 4), (1, 8)])
def test_batch_iterator_covers_every_row_once_in_slices(n_rows, batch_size):
    codes = torch.arange(2 * n_rows).reshape(n_rows, 2)
    dataset = FieldDataset(codes, y=torch.arange(n_rows).float())
    ordered = list(BatchIterator(dataset, batch_size))
    assert len(ordered) == len(BatchIterator(dataset, batch_size))
    torch.testing.assert_close(torch.cat([X["codes"] for X, _ in ordered]), codes)
    for X, _ in ordered:  # slices of the dataset's tensor, not copies
        assert X["codes"].untyped_storage().data_ptr() == codes.untyped_storage().data_ptr()
    shuffled = BatchIterator(dataset, batch_size, shuffle=True, generator=torch.Generator())
    batches = list(shuffled)
    assert len(batches) == len(shuffled)
    rows = torch.cat([y["y"] for _, y in batches]).long()
    assert sorted(rows.tolist()) == list(range(n_rows))
    assert n_rows == 1 or min(len(y["y"]) for _, y in batches) > 1  # batch norm needs two rows
