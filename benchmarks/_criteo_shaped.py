"""The speed benchmarks' data, settings and reference: Criteo-shaped rows and a bare PyTorch loop.

``training.py``, ``prediction.py``, ``encoder.py`` and ``memory.py`` measure
``DeepFMClassifier`` against ``bare_fit`` and ``bare_predict``: the same
``sklearn_deepfm.nn.DeepFM`` module and optimizers, driven by a plain PyTorch loop. The
network and training settings are pinned here, so that a change of the estimator's
defaults does not move the comparison.
"""

import time

import numpy as np
import pandas as pd
import torch
from scipy.special import expit
from torch import nn

from sklearn_deepfm import DeepFMClassifier
from sklearn_deepfm.nn import CatchUpAdam, DeepFM

# Number of distinct values of Criteo's 26 categorical fields (Kaggle display
# advertising challenge); the data is scaled to the requested vocabulary.
CRITEO_CARDINALITIES = [
    1460, 583, 10131227, 2202608, 305, 24, 12517, 633, 3, 93145, 5683, 8351593, 3194,
    27, 14992, 5461306, 10, 5652, 2173, 4, 7046547, 18, 15, 286181, 105, 142572,
]  # fmt: skip
N_NUMERIC = 13
NUMERIC_CODES = 18  # 16 quantile bins, the unknown code 0 and a missing code

# The network and optimizer settings of the comparison, passed explicitly.
NETWORK = dict(embedding_dim=10, hidden_layer_sizes=(400, 400, 400), dropout=0.2, batch_norm=True)
TRAINING = dict(learning_rate=1e-3, batch_size=4096)
QUICK_NETWORK = dict(NETWORK, hidden_layer_sizes=(32, 32))
# DeepFMClassifier's default network, with the batch norm and batch that its "auto"
# rules choose on data of Criteo's size.
DEFAULT_NETWORK = dict(
    embedding_dim=32, hidden_layer_sizes=(128, 128, 128), dropout=0.5, batch_norm=True
)
DEFAULT_BATCH = 1024
# Rows per forward call of DeepFMClassifier.predict_proba: the bare reference predicts
# in the same chunks; and the classifier's chunks until 2026-12-08, whose activations glibc
# mapped and unmapped at every call.
PREDICT_CHUNK = 4096
PREVIOUS_PREDICT_CHUNK = 65_536


# data --------------------------------------------------------------------------------


def criteo_cardinalities(vocab):
    """Codes per field: 13 binned numeric fields, then Criteo's 26 scaled to ``vocab``."""
    scale = (vocab - N_NUMERIC * NUMERIC_CODES) / sum(CRITEO_CARDINALITIES)
    categorical = [max(round(c * scale), min(c, 10)) for c in CRITEO_CARDINALITIES]
    return [NUMERIC_CODES] * N_NUMERIC + categorical


def zipf_codes(rng, cardinality, n_rows, exponent=1.1):
    """Codes with probability proportional to 1 / rank**exponent, ranks shuffled."""
    cdf = np.cumsum(1.0 / np.arange(1, cardinality + 1) ** exponent)
    ranks = np.searchsorted(cdf, rng.random(n_rows) * cdf[-1])
    return rng.permutation(cardinality)[np.minimum(ranks, cardinality - 1)]


def make_codes(n_rows, vocab, seed=0):
    """Encoded Criteo-shaped data: int64 codes (n_rows, 39), 0/1 labels, cardinalities.

    The clicks follow a logistic model of one random weight per code.
    """
    rng = np.random.default_rng(seed)
    cardinalities = criteo_cardinalities(vocab)
    codes = np.empty((n_rows, len(cardinalities)), dtype=np.int64)
    score = np.zeros(n_rows)
    for f, cardinality in enumerate(cardinalities):
        codes[:, f] = zipf_codes(rng, cardinality, n_rows)
        score += rng.normal(scale=0.3, size=cardinality)[codes[:, f]]
    y = (rng.random(n_rows) < expit(score - 1.0)).astype(np.int64)
    return codes, y, cardinalities


def make_frame(n_rows, vocab, seed=0):
    """Raw Criteo-shaped data: 13 float columns I1..I13 and 26 string columns C1..C26.

    Categorical values are 8-digit hex strings as in Criteo; numbers have 10% and
    strings 3% missing values.
    """
    rng = np.random.default_rng(seed)
    frame = {}
    for f in range(N_NUMERIC):
        values = rng.lognormal(1.0, 1.5, n_rows).round()
        values[rng.random(n_rows) < 0.1] = np.nan
        frame[f"I{f + 1}"] = values
    for f, cardinality in enumerate(criteo_cardinalities(vocab)[N_NUMERIC:]):
        ids = rng.choice(2**32, size=cardinality, replace=False)
        names = np.array([f"{i:08x}" for i in ids.tolist()] + [None], dtype=object)
        codes = zipf_codes(rng, cardinality, n_rows)
        codes[rng.random(n_rows) < 0.03] = cardinality  # missing
        frame[f"C{f + 1}"] = names[codes]
    return pd.DataFrame(frame)


# the classifier and the bare loop ----------------------------------------------------


def classifier(network, sparse, epochs, seed=0, batch_size=None, precision="auto"):
    """``DeepFMClassifier`` with the pinned settings, ``epochs`` epochs, no early stopping."""
    return DeepFMClassifier(
        **network,
        **dict(TRAINING, batch_size=batch_size or TRAINING["batch_size"]),
        max_epochs=epochs,
        early_stopping=False,
        sparse_embeddings=sparse,
        random_state=seed,
        precision=precision,
    )


def bare_fit(
    codes,
    y,
    cardinalities,
    network,
    sparse,
    epochs,
    seed=0,
    max_batches=None,
    sparse_optimizer=CatchUpAdam,
    batch_size=None,
    variant="module",
):
    """The same training as ``DeepFMClassifier.fit``, written as a plain PyTorch loop.

    With ``sparse``, the embedding tables get ``sparse_optimizer``: by default the
    classifier's own, ``CatchUpAdam``; ``torch.optim.SparseAdam`` for comparison; the
    rest of the module gets Adam. ``codes`` (int64) and ``y`` (float32) are tensors
    already. The loop runs in float32, through the library's module (``variant``
    "module") or as a hand-written loop computes it (``plain_forward``): "autograd",
    or "compiled", its dense part through ``torch.compile``, compiled for the full and
    the last batch before the timed loop. Returns the module, the seconds spent in the
    training loop (end-of-epoch flushes included) and the seconds spent compiling.
    """
    torch.manual_seed(seed)
    module = DeepFM(cardinalities, **{k: network[k] for k in NETWORK}, sparse=sparse)
    batch_size = batch_size or TRAINING["batch_size"]
    forward, compile_seconds = module, 0.0
    if variant != "module":
        forward = plain_forward(module, compiled=variant == "compiled")
    if variant == "compiled":
        start = time.perf_counter()
        for size in {batch_size, len(codes) % batch_size or batch_size}:
            forward(codes[:size]).sum().backward()
        module.zero_grad(set_to_none=True)
        compile_seconds = time.perf_counter() - start
    tables = [p for name, p in module.named_parameters() if name.endswith("embedding.weight")]
    tables = tables if sparse else []
    rest = [p for p in module.parameters() if all(p is not t for t in tables)]
    optimizers = [torch.optim.Adam(rest, lr=TRAINING["learning_rate"])]
    if tables:
        optimizers.append(sparse_optimizer(tables, lr=TRAINING["learning_rate"]))
    loss_function = nn.BCEWithLogitsLoss()
    generator = torch.Generator().manual_seed(seed)
    flush = getattr(optimizers[-1], "flush", lambda: None)  # CatchUpAdam's
    module.train()
    n_steps = 0
    start_loop = time.perf_counter()
    for _ in range(epochs):
        order = torch.randperm(len(codes), generator=generator)
        for first in range(0, len(codes), batch_size):
            rows = order[first : first + batch_size]
            for optimizer in optimizers:
                optimizer.zero_grad(set_to_none=True)
            loss = loss_function(forward(codes[rows]), y[rows])
            loss.backward()
            for optimizer in optimizers:
                optimizer.step()
            n_steps += 1
            if n_steps == max_batches:
                flush()
                return module, time.perf_counter() - start_loop, compile_seconds
        flush()  # every row up to date at the end of each epoch, as in the classifier
    return module, time.perf_counter() - start_loop, compile_seconds


class RandLikeDropout(nn.Dropout):
    """Dropout with its mask from ``torch.rand_like``: the library's until version 0.5."""

    def forward(self, x):
        if not self.training or self.p == 0:
            return x
        return x * ((torch.rand_like(x) >= self.p) * (1 / (1 - self.p)))


def plain_forward(module, compiled=False):
    """``module``'s forward as a hand-written loop computes it, optionally compiled.

    The FM part's gradient comes from autograd and dropout's mask from
    ``torch.rand_like`` (``RandLikeDropout`` replaces the module's): the module as it
    was before version 0.5. ``compiled`` runs the dense part (FM and MLP) through
    ``torch.compile``; the embedding lookups stay eager, their sparse gradients being
    outside what the compiler handles. Dropout's random numbers then come from
    torch's generator (inductor's ``fallback_random``): inductor's own CPU generator
    made the compiled step slower still.
    """
    for i, layer in enumerate(module.dnn or ()):
        if isinstance(layer, nn.Dropout):
            module.dnn[i] = RandLikeDropout(layer.p)

    def dense(first, embedded):
        square_of_sum = embedded.sum(dim=1).square()
        sum_of_squares = embedded.square().sum(dim=1)
        fm = 0.5 * (square_of_sum - sum_of_squares).sum(dim=1)
        deep = module.dnn(embedded.flatten(start_dim=1)).squeeze(-1)
        return module.bias + first.sum(dim=(1, 2)) + fm + deep

    if compiled:
        import torch._inductor.config

        torch._inductor.config.fallback_random = True
        dense = torch.compile(dense)

    def forward(codes):
        return dense(module.first_order(codes), module.embedding(codes))

    return forward


def bare_predict(module, codes, batch_size=None):
    """Click probabilities of ``codes`` (a tensor) from the module, in chunks or at once."""
    with torch.inference_mode():
        if batch_size is None:
            return torch.sigmoid(module(codes))
        parts = [module(codes[i : i + batch_size]) for i in range(0, len(codes), batch_size)]
        return torch.sigmoid(torch.cat(parts))


def fit_small(network, codes, y, cardinalities, n_rows=8192):
    """A classifier for predict timings, fitted quickly on a few rows.

    One extra row holds the last code of every field, so the model knows the full
    vocabulary and accepts every row of ``codes``; prediction speed does not depend
    on the weights.
    """
    last = np.asarray(cardinalities)[None] - 1
    X = np.concatenate([codes[:n_rows], last])
    return classifier(network, True, 1).fit(X, np.append(y[:n_rows], 1))


def n_batches(n_rows, epochs, batch_size=None):
    """Training steps of ``epochs`` epochs over ``n_rows`` rows at the pinned batch size."""
    return epochs * -(-n_rows // (batch_size or TRAINING["batch_size"]))


def training_flop_per_row(network, n_fields):
    """Floating-point operations of one row's training step in the deep part's matrices.

    Each layer's forward costs ``2 * inputs * outputs`` FLOP; the backward pass twice
    that (the gradients of the inputs and of the weights). The FM part, the lookups and
    the element-wise layers add O(fields * k + width) per row, left out.
    """
    widths = [n_fields * network["embedding_dim"], *network["hidden_layer_sizes"], 1]
    return 3 * sum(2 * a * b for a, b in zip(widths[:-1], widths[1:], strict=True))


def matmul_flops(dtype, rows=4096, width=400, repeats=20):
    """Return the measured FLOP/s of a (rows, width) @ (width, width) product in ``dtype``.

    The rate of these cores for the deep part's layers: the arithmetic limit of a step.
    """
    a, b = torch.randn(rows, width, dtype=dtype), torch.randn(width, width, dtype=dtype)
    a @ b  # warm-up
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        a @ b
        seconds.append(time.perf_counter() - start)
    return 2 * rows * width * width / float(np.median(seconds))
