"""Multi-valued fields in the network and the estimators: one pooled field per run of slots."""

import itertools
import json
import pickle

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.metrics import roc_auc_score

from sklearn_deepfm import DeepFMClassifier, DeepFMRegressor, load, save
from sklearn_deepfm.io._export import export_onnx, export_torch
from sklearn_deepfm.nn import DeepFM, FieldEmbedding

FAST = dict(embedding_dim=4, hidden_layer_sizes=(16,), max_epochs=3, random_state=0)
WIDTH = 4  # slots of the "tags" field
N_TAGS = 8  # tag codes 2..9 (0 pads, 1 is "unknown")

pytestmark = pytest.mark.usefixtures("one_thread")


def tag_frame(n=600, seed=0):
    """Rows with a site (one code) and up to WIDTH tags; a click when tag 5 or 7 is there."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(0, WIDTH + 1, size=n)
    tags = np.zeros((n, WIDTH), dtype=np.int64)
    for i, length in enumerate(lengths):
        tags[i, :length] = rng.choice(np.arange(2, 2 + N_TAGS), size=length, replace=False)
    site = rng.integers(0, 5, size=n)
    clicked = np.isin(tags, [5, 7]).any(axis=1) ^ (rng.random(n) < 0.1)
    columns = {"site": site, **{f"tags[{i}]": tags[:, i] for i in range(WIDTH)}}
    return pd.DataFrame(columns), clicked.astype(int)


@pytest.fixture(scope="module")
def fitted():
    X, y = tag_frame()
    model = DeepFMClassifier(**FAST).fit(X, y)
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():  # shake the weights so that every row of the tables matters
        for parameter in model.net_.module_.parameters():
            parameter.add_(0.3 * torch.randn(parameter.shape, generator=generator))
    return model


def brute_force_pool(table, codes, pooling):
    """The field's vector by the definition: mean or sum of the rows of its non-padding codes."""
    rows = [table[c] for c in codes if c != 0]
    if not rows:
        return torch.zeros(table.shape[1])
    total = torch.stack(rows).sum(dim=0)
    return total / len(rows) if pooling == "mean" else total


@pytest.mark.parametrize("pooling", ["mean", "sum"])
def test_field_embedding_pools_the_slots_as_the_definition_says(pooling):
    embedding = FieldEmbedding(
        [3, 7], 5, widths=[1, 3], multi_valued=[False, True], pooling=pooling
    )
    codes = torch.tensor([[2, 4, 6, 0], [1, 0, 0, 0], [0, 3, 3, 5], [1, 1, 0, 2]])
    pooled = embedding(codes)
    assert pooled.shape == (4, 2, 5)
    table = embedding.embedding.weight.detach()
    for row, row_codes in enumerate(codes.tolist()):
        torch.testing.assert_close(pooled[row, 0], table[row_codes[0]])  # the plain field
        rows = [3 + c if c else 0 for c in row_codes[1:]]  # field 1's rows start at 3
        expected = brute_force_pool(table, rows, pooling)
        torch.testing.assert_close(pooled[row, 1], expected)


def test_padding_rows_never_reach_the_output():
    """Whatever the padding code's row holds, the output is the same; an empty list gives 0."""
    net = DeepFM(
        [3, 7], embedding_dim=4, hidden_layer_sizes=(8,), widths=[1, 3], multi_valued=[False, True]
    ).eval()
    codes = torch.tensor([[2, 4, 6, 0], [1, 0, 0, 0], [0, 3, 5, 2]])
    before = net(codes)
    with torch.no_grad():
        net.embedding.embedding.weight[3].fill_(100.0)  # field 1, code 0: padding
        net.first_order.embedding.weight[3].fill_(-50.0)
    torch.testing.assert_close(net(codes), before)
    assert torch.count_nonzero(net.embedding(codes)[1, 1]) == 0


def test_a_width_of_one_masks_padding_too():
    embedding = FieldEmbedding([4], 3, widths=[1], multi_valued=[True])
    pooled = embedding(torch.tensor([[0], [2]]))
    assert torch.count_nonzero(pooled[0]) == 0
    torch.testing.assert_close(pooled[1, 0], embedding.embedding.weight[2])


def test_the_estimator_groups_slot_columns_and_shares_their_table(fitted):
    assert fitted.field_slices_ == [slice(0, 1), slice(1, 1 + WIDTH)]
    assert fitted.cardinalities_[1:].tolist() == [fitted.cardinalities_[1]] * WIDTH
    assert fitted.cardinalities_[1] == 2 + N_TAGS
    module = fitted.net_.module_
    assert module.embedding.embedding.num_embeddings == fitted.cardinalities_[0] + 2 + N_TAGS
    assert module.dnn[0].in_features == 2 * FAST["embedding_dim"]  # two fields, not five


def shuffled_slots(X, seed):
    """X with each row's non-padding tags permuted (padding stays at the end)."""
    rng = np.random.default_rng(seed)
    tags = X.filter(like="tags[").to_numpy().copy()
    for row in tags:
        n = np.count_nonzero(row)
        row[:n] = rng.permutation(row[:n])
    return X.assign(**{f"tags[{i}]": tags[:, i] for i in range(WIDTH)})


def test_predictions_ignore_the_order_of_a_list(fitted):
    X, _ = tag_frame(n=200, seed=1)
    expected = fitted.predict_proba(X)
    assert expected[:, 1].std() > 0.05, "the test needs predictions that differ"
    for seed in range(3):
        np.testing.assert_allclose(
            fitted.predict_proba(shuffled_slots(X, seed)), expected, rtol=0, atol=1e-6
        )


def test_mean_pooling_predicts_a_repeated_list_as_the_list(fitted):
    X, _ = tag_frame(n=200, seed=2)
    tags = X.filter(like="tags[").to_numpy()
    short = np.count_nonzero(tags, axis=1) <= WIDTH // 2
    X, tags = X[short], tags[short]
    repeated = tags.copy()
    for row, original in zip(repeated, tags, strict=True):
        n = np.count_nonzero(original)
        row[n : 2 * n] = original[:n]
    X_repeated = X.assign(**{f"tags[{i}]": repeated[:, i] for i in range(WIDTH)})
    assert (X_repeated.to_numpy() != X.to_numpy()).any()
    np.testing.assert_allclose(fitted.predict_proba(X_repeated), fitted.predict_proba(X), atol=1e-6)


def test_sum_pooling_counts_repeated_values():
    X, y = tag_frame(n=300)
    model = DeepFMClassifier(pooling="sum", **FAST).fit(X, y)
    one = X.iloc[:1].assign(**{f"tags[{i}]": 0 for i in range(WIDTH)}).assign(**{"tags[0]": 5})
    twice = one.assign(**{"tags[1]": 5})
    assert model.decision_function(one)[0] != pytest.approx(model.decision_function(twice)[0])


def test_the_pooled_field_learns_which_values_click(fitted):
    X, y = tag_frame(n=2000, seed=3)
    model = DeepFMClassifier(**{**FAST, "max_epochs": 10}).fit(*tag_frame(n=3000, seed=4))
    assert roc_auc_score(y, model.predict_proba(X)[:, 1]) > 0.8


def test_numpy_input_keeps_one_field_per_column():
    X, y = tag_frame(n=300)
    model = DeepFMClassifier(**FAST).fit(X.to_numpy(), y)
    assert model.field_slices_ == [slice(j, j + 1) for j in range(1 + WIDTH)]


def test_a_slot_column_with_continuous_values_is_refused():
    X, y = tag_frame(n=300)
    X = X.astype({"tags[1]": float})
    X.loc[X.index[0], "tags[1]"] = 0.5
    with pytest.raises(ValueError, match=r"'tags\[1\]'\) is a slot of a multi-valued"):
        DeepFMClassifier(**FAST).fit(X, y)


@pytest.mark.parametrize("estimator", [DeepFMClassifier, DeepFMRegressor])
def test_save_load_and_pickle_keep_the_fields(estimator, tmp_path):
    X, y = tag_frame(n=300)
    model = estimator(**FAST).fit(X, y)
    predict = model.predict_proba if hasattr(model, "predict_proba") else model.predict
    save(model, tmp_path / "model.zip")
    for copy in (load(tmp_path / "model.zip"), pickle.loads(pickle.dumps(model))):
        assert copy.field_slices_ == model.field_slices_
        copy_predict = copy.predict_proba if hasattr(copy, "predict_proba") else copy.predict
        np.testing.assert_array_equal(copy_predict(X), predict(X))


def test_a_file_whose_fields_contradict_its_network_is_refused(fitted, tmp_path):
    broken = pickle.loads(pickle.dumps(fitted))
    broken.field_slices_ = [slice(j, j + 1) for j in range(1 + WIDTH)]
    save(broken, tmp_path / "model.zip")
    with pytest.raises(ValueError, match="fields differ|cardinalities differ|do not fit"):
        load(tmp_path / "model.zip")


def test_onnx_and_torch_export_pool_as_the_estimator(fitted, tmp_path):
    X, _ = tag_frame(n=50, seed=5)
    codes = X.to_numpy().astype(np.int64)
    expected = fitted.predict_proba(X)[:, 1]
    export_torch(fitted, tmp_path / "model.pt2")
    program = torch.export.load(tmp_path / "model.pt2").module()
    with torch.no_grad():
        probability = program(codes=torch.from_numpy(codes))[1].numpy()
    np.testing.assert_allclose(probability, expected, atol=1e-5)
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnxscript")
    export_onnx(fitted, tmp_path / "model.onnx")
    session = ort.InferenceSession(tmp_path / "model.onnx", providers=["CPUExecutionProvider"])
    np.testing.assert_allclose(session.run(None, {"codes": codes})[1], expected, atol=1e-5)
    metadata = session.get_modelmeta().custom_metadata_map
    assert json.loads(metadata["sklearn_deepfm.field_slices"]) == [[0, 1], [1, 1 + WIDTH]]


def test_field_interactions_are_one_per_pooled_field(fitted):
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    from sklearn_deepfm.inspection import FieldInteractionDisplay

    X, _ = tag_frame(n=100, seed=6)
    display = FieldInteractionDisplay.from_estimator(fitted, X)
    assert display.field_names.tolist() == ["site", "tags"]
    assert display.interactions.shape == (2, 2)


def test_every_permutation_of_a_full_list_predicts_alike(fitted):
    X, _ = tag_frame(n=50, seed=7)
    row = X.iloc[:1].assign(**{f"tags[{i}]": code for i, code in enumerate([2, 5, 7, 9])})
    rows = pd.concat(
        [
            row.assign(**{f"tags[{i}]": c for i, c in enumerate(p)})
            for p in itertools.permutations([2, 5, 7, 9])
        ]
    )
    probabilities = fitted.predict_proba(rows)[:, 1]
    np.testing.assert_allclose(probabilities, probabilities[0], atol=1e-6)
