import itertools

import pytest
import torch

from sklearn_deepfm.nn import (
    MLP,
    MODEL_PARTS,
    DeepFM,
    Dropout,
    FieldEmbedding,
    fm_interaction,
    train_in,
)
from sklearn_deepfm.nn._interactions import fm_interaction_and_flat


def brute_force_pairs(embedded):
    """sum_{i<j} <e_i, e_j> with an explicit loop over field pairs."""
    n_fields = embedded.shape[1]
    total = torch.zeros(embedded.shape[0], dtype=embedded.dtype)
    for i, j in itertools.combinations(range(n_fields), 2):
        total += (embedded[:, i] * embedded[:, j]).sum(dim=1)
    return total


@pytest.mark.parametrize("n_fields, k", [(1, 3), (2, 1), (5, 4), (39, 10)])
def test_fm_interaction_matches_brute_force_pairs(n_fields, k):
    embedded = torch.randn(
        7, n_fields, k, generator=torch.Generator().manual_seed(n_fields), dtype=torch.float64
    )
    torch.testing.assert_close(fm_interaction(embedded), brute_force_pairs(embedded))


def test_field_embedding_reads_each_field_from_its_own_rows():
    embedding = FieldEmbedding([2, 3], embedding_dim=1, init_std=0.0)
    with torch.no_grad():
        embedding.embedding.weight.copy_(torch.arange(5.0).unsqueeze(1))
    out = embedding(torch.tensor([[0, 0], [1, 2]]))
    # field 1's code c lives at row 2 + c
    assert out.squeeze(-1).tolist() == [[0.0, 2.0], [1.0, 4.0]]


def test_field_embedding_scales_rows_by_values():
    embedding = FieldEmbedding([1, 4], embedding_dim=3)
    codes = torch.tensor([[0, 2]])
    values = torch.tensor([[2.5, 1.0]])
    torch.testing.assert_close(embedding(codes, values)[0, 0], 2.5 * embedding(codes)[0, 0])


def test_deepfm_logit_is_sum_of_its_parts():
    torch.manual_seed(0)
    net = DeepFM([4, 6, 3], embedding_dim=5, hidden_layer_sizes=(8,), init_std=0.1).eval()
    with torch.no_grad():
        net.first_order.embedding.weight.normal_()
        net.bias.fill_(0.3)
    codes = torch.tensor([[0, 5, 2], [3, 1, 0]])
    embedded = net.embedding(codes)
    expected = (
        0.3
        + net.first_order(codes).sum(dim=(1, 2))
        + brute_force_pairs(embedded)
        + net.dnn(embedded.flatten(1)).squeeze(-1)
    )
    torch.testing.assert_close(net(codes), expected)


@pytest.mark.parametrize("model", sorted(MODEL_PARTS))
def test_presets_build_only_their_parts(model):
    parts = MODEL_PARTS[model]
    net = DeepFM([3, 3], embedding_dim=2, hidden_layer_sizes=(4,), **parts)
    assert (net.first_order is not None) == parts["first_order"]
    assert (net.dnn is not None) == parts["dnn"]
    assert net(torch.tensor([[1, 2]])).shape == (1,)


def test_deepfm_needs_a_part():
    with pytest.raises(ValueError, match="at least one"):
        DeepFM([3], first_order=False, fm=False, dnn=False)


def test_sparse_embeddings_give_sparse_gradients():
    net = DeepFM([10, 10], embedding_dim=2, hidden_layer_sizes=(4,), sparse=True)
    net(torch.tensor([[1, 2], [3, 4]])).sum().backward()
    assert net.embedding.embedding.weight.grad.is_sparse
    assert not net.dnn[0].weight.grad.is_sparse


def test_mlp_with_batch_norm_evaluates_a_single_row():
    mlp = MLP(4, (8, 8), dropout=0.5, batch_norm=True).eval()
    assert mlp(torch.randn(1, 4)).shape == (1, 1)


@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_dropout_drops_a_fraction_p_and_scales_the_rest(p):
    torch.manual_seed(0)
    x = (torch.rand(400, 500) + 0.5).requires_grad_()
    out = Dropout(p)(x)
    kept = out != 0
    assert abs(1 - kept.float().mean().item() - p) < 0.005
    torch.testing.assert_close(out[kept], x[kept] / (1 - p))
    out.sum().backward()  # the gradient passes the kept entries, scaled, and no other
    torch.testing.assert_close(x.grad, kept.float() / (1 - p))


def test_dropout_is_the_identity_in_eval_mode_and_repeats_under_a_seed():
    x = torch.randn(64, 32)
    assert torch.equal(Dropout(0.5).eval()(x), x)
    assert torch.equal(Dropout(0.0)(x), x)
    masks = []
    for _ in range(2):
        torch.manual_seed(3)
        masks.append(Dropout(0.5)(x) != 0)
    assert torch.equal(*masks)
    assert not torch.equal(Dropout(0.5)(x) != 0, masks[0])  # a new draw on each call


def test_dropout_masks_are_uniform_in_every_lane_of_a_draw():
    # four masks come from each 64-bit draw: a lane with a biased bit drops too few
    torch.manual_seed(0)
    kept = Dropout(0.5)(torch.ones(4 * 100_000)).view(-1, 4) != 0
    rates = 1 - kept.float().mean(dim=0)
    assert (rates - 0.5).abs().max() < 0.01, rates


def test_dropout_keeps_a_bfloat16_activation_bfloat16():
    torch.manual_seed(0)
    out = Dropout(0.5)(torch.ones(1000, dtype=torch.bfloat16))
    assert out.dtype == torch.bfloat16
    assert set(out.unique().tolist()) == {0.0, 2.0}


def test_mlp_trains_in_its_training_dtype_and_evaluates_in_float32():
    torch.manual_seed(0)
    mlp = MLP(16, (32, 32))
    x = torch.randn(64, 16)
    full = mlp(x)
    train_in(mlp, torch.bfloat16)
    mixed = mlp(x)
    assert mixed.dtype == torch.float32
    assert not torch.equal(mixed, full)  # the products ran in bfloat16 ...
    torch.testing.assert_close(mixed, full, atol=0.02, rtol=0.02)  # ... close to float32
    mixed.sum().backward()
    assert all(p.grad.dtype == torch.float32 for p in mlp.parameters())
    assert torch.equal(mlp.eval()(x), full)  # evaluation stays float32
    train_in(mlp, None)
    assert torch.equal(mlp.train()(x), full)


def test_fm_interaction_gradient_is_that_of_its_formula():
    embedded = torch.randn(6, 5, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(fm_interaction, (embedded,))
    formula = brute_force_pairs(embedded)  # autograd through the plain pair sum
    (expected,) = torch.autograd.grad(formula.square().sum(), embedded)
    (got,) = torch.autograd.grad(fm_interaction(embedded).square().sum(), embedded)
    torch.testing.assert_close(got, expected)
    with torch.no_grad():  # the inference path gives the same values
        torch.testing.assert_close(fm_interaction(embedded), formula)


@pytest.mark.parametrize("readers", ["both", "fm", "flat"])
def test_fm_interaction_and_flat_gradient_adds_both_readers(readers):
    """DeepFM's FM part and deep part read the embeddings through one backward pass."""
    embedded = torch.randn(6, 5, 3, dtype=torch.float64, requires_grad=True)
    weights = torch.randn(15, dtype=torch.float64)

    def loss(fm, flat):
        fm_term = fm.square().sum() if readers != "flat" else 0
        flat_term = (flat @ weights).tanh().sum() if readers != "fm" else 0
        return fm_term + flat_term

    assert torch.autograd.gradcheck(lambda e: loss(*fm_interaction_and_flat(e)), (embedded,))
    (expected,) = torch.autograd.grad(
        loss(brute_force_pairs(embedded), embedded.flatten(start_dim=1)), embedded
    )
    (got,) = torch.autograd.grad(loss(*fm_interaction_and_flat(embedded)), embedded)
    torch.testing.assert_close(got, expected)
