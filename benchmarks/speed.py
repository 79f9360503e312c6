"""Speed of sklearn-deepfm against a bare PyTorch loop, on Criteo-shaped data (issue 4).

Every figure is a ratio against a reference measured in the same process, the two
interleaved (the order alternates each round, ABBA, to cancel drift) and repeated;
the reported value is the median of the per-round ratios. Sections:

``train``
    ``DeepFMClassifier.fit`` rows/s against a bare loop of the same ``DeepFM`` module,
    optimizers (the classifier's ``CatchUpAdam`` for the embedding tables and Adam for
    the rest, or dense Adam everywhere; a third arm with torch's ``SparseAdam``), batch
    size and shuffling, on data already held as tensors; and the step time at the
    largest vocabulary against the smallest.
``predict``
    ``predict_proba`` rows/s against the fitted module's forward under
    ``torch.inference_mode``; the median and p99 latency of a one-row DataFrame through
    ``Pipeline(FieldEncoder, DeepFMClassifier)``.
``serving``
    On the real Criteo rows of ``criteo_8k`` (skipped when absent), in each string
    storage (Arrow ``str``, Python ``str``, object, category, and a one-row frame
    built from a JSON record): the median and p99 latency of one row through
    ``Pipeline(FieldEncoder, DeepFMClassifier).predict_proba``, against the bare
    module's forward on the encoded row; batch rows/s of the Pipeline; and the
    transform time of the encoder's dict path against its vectorised kernels by batch
    size (the crossover behind ``_lookup.MAX_ROWS``).
``encoder``
    ``FieldEncoder`` fit and transform rows/s against ``OrdinalEncoder``, with the
    strings stored in Arrow and as Python objects.
``memory``
    Peak resident memory (VmHWM) of a child process fitting on the encoded rows,
    against the size of the encoded matrix plus the model.
``genres`` (only when asked for, with ``--only genres``)
    On MovieLens 100K's genre strings (``"Comedy|Romance"``, 100,000 ratings):
    ``FieldEncoder(multi_valued={"genres": "|"})`` fit and transform time against
    the same column encoded as one category, interleaved, with the strings in Arrow
    and as Python objects, and as list cells; the median one-row transform.
``dropout`` (only when asked for, with ``--only dropout``)
    One epoch of ``DeepFMClassifier``'s defaults on the Frappe rows with
    ``network.Dropout`` (its mask from ``torch.rand``) against torch's ``nn.Dropout``
    (``bernoulli_``), interleaved; fit seconds and their ratio.
``frappe`` (only when asked for, with ``--only frappe``)
    Held-out AUC and log loss of the default sparse embedding updates
    (``CatchUpAdam``) against dense Adam and torch's ``SparseAdam`` on Frappe.

Run ``python benchmarks/speed.py`` (about 15 minutes on 2 cores) or ``--quick`` for a
smoke run of a few seconds. Results go to ``benchmarks/results/speed.json`` and
``speed.png``.
"""

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from scipy.special import expit
from sklearn.metrics import log_loss, roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OrdinalEncoder
from torch import nn
from torch.optim import SparseAdam

from sklearn_deepfm import DeepFMClassifier, FieldEncoder
from sklearn_deepfm.estimators._classifier import _PREDICT_BATCH_SIZE
from sklearn_deepfm.nn import DeepFM
from sklearn_deepfm.nn._optim import CatchUpAdam

RESULTS = Path(__file__).parent / "results"
FRAPPE = (
    Path(__file__).resolve().parents[1].parent / "shared" / "data" / "frappe" / "frappe.train.libfm"
)
CRITEO = FRAPPE.parents[1] / "criteo_8k" / "criteo_8k.txt"
MOVIELENS = FRAPPE.parents[1] / "movielens_100k"
SECTIONS = ("train", "predict", "serving", "encoder", "memory", "genres", "dropout", "frappe")
DEFAULT_SECTIONS = SECTIONS[:-3]  # real data, or minutes more: ask for these with --only

# Number of distinct values of Criteo's 26 categorical fields (Kaggle display
# advertising challenge); the benchmark scales them to the requested vocabulary.
CRITEO_CARDINALITIES = [
    1460, 583, 10131227, 2202608, 305, 24, 12517, 633, 3, 93145, 5683, 8351593, 3194,
    27, 14992, 5461306, 10, 5652, 2173, 4, 7046547, 18, 15, 286181, 105, 142572,
]  # fmt: skip
N_NUMERIC = 13
NUMERIC_CODES = 18  # 16 quantile bins, the unknown code 0 and a missing code

# The network and optimizer settings of the issue, passed explicitly so that a
# change of DeepFMClassifier's defaults does not move the comparison.
NETWORK = dict(embedding_dim=10, hidden_layer_sizes=(400, 400, 400), dropout=0.2, batch_norm=True)
TRAINING = dict(learning_rate=1e-3, batch_size=4096)
QUICK_NETWORK = dict(NETWORK, hidden_layer_sizes=(32, 32))


# data ------------------------------------------------------------------------------


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
    """Encoded Criteo-shaped data: int64 codes (n_rows, 39) and 0/1 labels.

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

    Categorical values are 8-digit hex strings as in Criteo; both kinds hold
    missing values.
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


# timing ------------------------------------------------------------------------------


def interleave(functions, repeats, first_round=0):
    """Time each function once per round, order alternating by round; return seconds."""
    times = {name: [] for name in functions}
    for round_ in range(first_round, first_round + repeats):
        names = list(functions) if round_ % 2 == 0 else list(functions)[::-1]
        for name in names:
            start = time.perf_counter()
            functions[name]()
            times[name].append(time.perf_counter() - start)
    return times


def call_ms(function, inputs):
    """Milliseconds of ``function`` on each of ``inputs``, one call at a time, after a warm-up."""
    function(inputs[0])
    seconds = []
    for value in inputs:
        start = time.perf_counter()
        function(value)
        seconds.append(time.perf_counter() - start)
    return np.asarray(seconds) * 1e3


def paired_ratio(numerator, denominator):
    """Median over rounds of ``numerator[i] / denominator[i]``."""
    return float(np.median(np.asarray(numerator) / np.asarray(denominator)))


def classifier(network, sparse, epochs, seed=0):
    return DeepFMClassifier(
        **network,
        **TRAINING,
        max_epochs=epochs,
        early_stopping=False,
        sparse_embeddings=sparse,
        random_state=seed,
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
):
    """The same training as ``DeepFMClassifier.fit``, written as a plain PyTorch loop.

    With ``sparse``, the embedding tables get ``sparse_optimizer``: by default the
    classifier's own, ``CatchUpAdam``; ``torch.optim.SparseAdam`` for comparison.

    ``codes`` (int64) and ``y`` (float32) are tensors already. Returns the module
    and the seconds spent in the training loop (end-of-epoch flushes included).
    """
    torch.manual_seed(seed)
    module = DeepFM(
        cardinalities,
        embedding_dim=network["embedding_dim"],
        hidden_layer_sizes=network["hidden_layer_sizes"],
        dropout=network["dropout"],
        batch_norm=network["batch_norm"],
        sparse=sparse,
    )
    tables = [p for name, p in module.named_parameters() if name.endswith("embedding.weight")]
    tables = tables if sparse else []
    rest = [p for p in module.parameters() if all(p is not t for t in tables)]
    optimizers = [torch.optim.Adam(rest, lr=TRAINING["learning_rate"])]
    if tables:
        optimizers.append(sparse_optimizer(tables, lr=TRAINING["learning_rate"]))
    loss_function = nn.BCEWithLogitsLoss()
    generator = torch.Generator().manual_seed(seed)
    batch_size = TRAINING["batch_size"]
    flush = getattr(optimizers[-1], "flush", lambda: None)  # CatchUpAdam's
    module.train()
    n_batches = 0
    start_loop = time.perf_counter()
    for _ in range(epochs):
        order = torch.randperm(len(codes), generator=generator)
        for first in range(0, len(codes), batch_size):
            rows = order[first : first + batch_size]
            for optimizer in optimizers:
                optimizer.zero_grad(set_to_none=True)
            loss = loss_function(module(codes[rows]), y[rows])
            loss.backward()
            for optimizer in optimizers:
                optimizer.step()
            n_batches += 1
            if n_batches == max_batches:
                flush()
                return module, time.perf_counter() - start_loop
        flush()  # every row up to date at the end of each epoch, as in the classifier
    return module, time.perf_counter() - start_loop


def fit_small(network, codes, y, cardinalities, n_rows=8192):
    """A classifier for predict timings, fitted quickly on a few rows.

    One extra row holds the last code of every field, so the model knows the full
    vocabulary and accepts every row of ``codes``; prediction speed does not depend
    on the weights.
    """
    last = np.asarray(cardinalities)[None] - 1
    X = np.concatenate([codes[:n_rows], last])
    return classifier(network, True, 1).fit(X, np.append(y[:n_rows], 1))


def bare_predict(module, codes, batch_size=None):
    """Click probabilities of ``codes`` (a tensor) from the module, in batches or at once."""
    with torch.inference_mode():
        if batch_size is None:
            return torch.sigmoid(module(codes))
        parts = [module(codes[i : i + batch_size]) for i in range(0, len(codes), batch_size)]
        return torch.sigmoid(torch.cat(parts))


def n_batches(n_rows, epochs):
    return epochs * -(-n_rows // TRAINING["batch_size"])


# sections ----------------------------------------------------------------------------


def bench_train(args, network, log):
    """Fit rows/s against the bare loop at each vocabulary size, sparse and dense Adam.

    Every round runs every vocabulary, sparse then dense, so that ratios between
    vocabularies and between the two modes also compare measurements close in time.
    """
    codes, y, cardinalities = make_codes(8192, args.vocab[0])
    # warm-up: first calls pay for lazy initialisation in torch and skorch
    classifier(network, True, 1).fit(codes, y)
    bare_fit(torch.from_numpy(codes), torch.from_numpy(y).float(), cardinalities, network, True, 1)
    comparisons = {
        "sparse": FitComparison(network, True, args.rows, args.vocab, args.epochs),
        # dense Adam updates the whole table at every step: fewer rows
        "dense": FitComparison(network, False, args.dense_rows, args.dense_vocab, 1),
    }
    for round_ in range(args.repeats):
        for comparison in comparisons.values():
            comparison.run_round(round_, log)
    return {mode: comparison.results() for mode, comparison in comparisons.items()}


class FitComparison:
    """Interleaved fits of the classifier and the bare loop at each vocabulary size.

    Besides the whole fit, the training loop alone is timed (skorch's epoch
    durations; the loop of ``bare_fit``): it excludes building the module, whose
    random initialisation grows with the vocabulary.
    """

    def __init__(self, network, sparse, rows, vocabs, epochs):
        self.network, self.sparse, self.rows, self.vocabs = network, sparse, rows, vocabs
        self.epochs = epochs
        self.data = {vocab: make_codes(rows, vocab, seed=vocab) for vocab in vocabs}
        self.names = ["bare", "classifier"] + (["bare_sparse_adam"] if sparse else [])
        self.fit = {vocab: {name: [] for name in self.names} for vocab in vocabs}
        self.loop = {vocab: {name: [] for name in self.names} for vocab in vocabs}

    def run_round(self, round_, log):
        mode = "sparse" if self.sparse else "dense"
        for vocab in self.vocabs:
            codes, y, cardinalities = self.data[vocab]
            codes_t, y_t = torch.from_numpy(codes), torch.from_numpy(y).float()
            bare = (codes_t, y_t, cardinalities, self.network, self.sparse, self.epochs)
            loop = self.loop[vocab]
            functions = {
                "bare": partial(_timed_bare, loop["bare"], *bare),
                "classifier": partial(
                    _timed_classifier,
                    loop["classifier"],
                    self.network,
                    self.sparse,
                    self.epochs,
                    codes,
                    y,
                ),
            }
            if self.sparse:  # the bare loop again, with torch's lazy SparseAdam
                functions["bare_sparse_adam"] = partial(
                    _timed_bare, loop["bare_sparse_adam"], *bare, sparse_optimizer=SparseAdam
                )
            for name, seconds in interleave(functions, 1, first_round=round_).items():
                self.fit[vocab][name] += seconds
            log(
                f"  train {mode} vocab={vocab:>9,} round {round_ + 1}: "
                + ", ".join(
                    f"{name} {self.fit[vocab][name][-1]:.2f}s (loop {loop[name][-1]:.2f}s)"
                    for name in functions
                )
            )

    def results(self):
        rows, epochs, names = self.rows, self.epochs, self.names
        steps = n_batches(rows, epochs)
        by_vocab = {}
        for vocab in self.vocabs:
            total, inner = self.fit[vocab], self.loop[vocab]
            by_vocab[vocab] = {
                "fit_seconds": total,
                "loop_seconds": inner,
                **{
                    f"{name}_rows_per_s": rows * epochs / float(np.median(total[name]))
                    for name in names
                },
                **{
                    f"{name}_loop_rows_per_s": rows * epochs / float(np.median(inner[name]))
                    for name in names
                },
                "ratio": paired_ratio(total["bare"], total["classifier"]),
                "loop_ratio": paired_ratio(inner["bare"], inner["classifier"]),
                **{
                    f"{name}_step_ms": 1e3 * float(np.median(inner[name])) / steps for name in names
                },
            }
            if self.sparse:  # the default optimizer's loop time against SparseAdam's
                by_vocab[vocab]["loop_ratio_sparse_adam"] = paired_ratio(
                    inner["bare_sparse_adam"], inner["bare"]
                )
        small, large = self.vocabs[0], self.vocabs[-1]
        return {
            "rows": rows,
            "epochs": epochs,
            "batches_per_fit": steps,
            "by_vocab": by_vocab,
            "vocab_pair": [small, large],
            "step_time_growth": {
                name: paired_ratio(self.loop[large][name], self.loop[small][name]) for name in names
            },
        }


def _timed_bare(loop_seconds, *args, sparse_optimizer=CatchUpAdam):
    loop_seconds.append(bare_fit(*args, sparse_optimizer=sparse_optimizer)[1])


def _timed_classifier(loop_seconds, network, sparse, epochs, codes, y):
    model = classifier(network, sparse, epochs).fit(codes, y)
    loop_seconds.append(float(sum(model.net_.history[:, "dur"])))


def bench_predict(args, network, log):
    """Batch predict_proba against the bare forward; one-row Pipeline latency."""
    results = {"batch": {}, "one_row": {}}
    for vocab in args.vocab:
        codes, y, cardinalities = make_codes(args.rows, vocab, seed=vocab)
        model = fit_small(network, codes, y, cardinalities)
        codes_t = torch.from_numpy(codes)
        module = model.net_.module_

        times = interleave(
            {
                "bare": partial(bare_predict, module, codes_t, _PREDICT_BATCH_SIZE),
                "bare_one_call": partial(bare_predict, module, codes_t),
                "classifier": partial(model.predict_proba, codes),
            },
            repeats=args.repeats,
        )
        results["batch"][vocab] = {
            "seconds": times,
            "classifier_rows_per_s": args.rows / float(np.median(times["classifier"])),
            "bare_rows_per_s": args.rows / float(np.median(times["bare"])),
            "bare_one_call_rows_per_s": args.rows / float(np.median(times["bare_one_call"])),
            "ratio": paired_ratio(times["bare"], times["classifier"]),
            "ratio_one_call": paired_ratio(times["bare_one_call"], times["classifier"]),
        }
        log(
            f"  predict vocab={vocab:>9,}: {results['batch'][vocab]['ratio']:.3f} of bare "
            f"({results['batch'][vocab]['ratio_one_call']:.3f} of one call)"
        )

    # one row through the whole Pipeline, fitted on raw data at the largest vocabulary
    frame = make_frame(args.rows, args.vocab[-1], seed=1)
    y = make_codes(args.rows, 1000, seed=1)[1]
    pipeline = make_pipeline(FieldEncoder(), classifier(network, True, 1)).fit(frame, y)
    encoder, model = pipeline[0], pipeline[-1]
    rows = [frame.iloc[[i]] for i in range(args.latency_calls)]
    encoded = [encoder.transform(row) for row in rows]
    tensors = [torch.from_numpy(row) for row in encoded]
    module = model.net_.module_

    for name, function, inputs in [
        ("pipeline", pipeline.predict_proba, rows),
        ("encoder_transform", encoder.transform, rows),
        ("classifier", model.predict_proba, encoded),
        ("bare_forward", partial(bare_predict, module), tensors),
    ]:
        ms = call_ms(function, inputs)
        results["one_row"][name] = {
            "median_ms": float(np.median(ms)),
            "p99_ms": float(np.percentile(ms, 99)),
        }
        log(f"  one row {name}: median {np.median(ms):.3f} ms, p99 {np.percentile(ms, 99):.3f} ms")
    results["one_row_vocab"] = args.vocab[-1]
    results["one_row_fitted_categories"] = int(encoder.cardinalities_.sum())
    return results


STORAGES = {
    "arrow_str": "str",  # pandas 3's default with pyarrow installed
    "python_str": pd.StringDtype("python", na_value=np.nan),  # the default without pyarrow
    "object": object,
    "category": "category",
}


def criteo_storages(X):
    """The Criteo frame with its string columns in each storage of ``STORAGES``."""
    strings = [c for c in X.columns if c.startswith("C")]
    return {name: X.astype(dict.fromkeys(strings, dtype)) for name, dtype in STORAGES.items()}


def json_records(X):
    """The rows of X as JSON requests decode them: None for missing, Python scalars."""
    text = X.to_json(orient="records")  # NaN becomes null
    return json.loads(text)


def bench_serving(args, network, log):
    """One-row and batch Pipeline timings on real Criteo rows, in every string storage.

    Every one-row figure is interleaved with the bare module's forward on the same
    encoded row, round by round (one round: one request in every storage).
    """
    from sklearn_deepfm.datasets import load_criteo
    from sklearn_deepfm.preprocessing import _lookup

    X, y = load_criteo(args.criteo, return_X_y=True, n_rows=args.serving_rows)
    pipeline = make_pipeline(FieldEncoder(), classifier(network, True, 1)).fit(X, y)
    encoder, module = pipeline[0], pipeline[-1].net_.module_
    frames = criteo_storages(X)
    records = json_records(X.iloc[: args.latency_calls])
    inputs = {name: [F.iloc[[i]] for i in range(args.latency_calls)] for name, F in frames.items()}
    inputs["json_record"] = [pd.DataFrame([r]) for r in records]
    inputs["json_from_records"] = [pd.DataFrame.from_records([r]) for r in records]
    tensors = [torch.from_numpy(encoder.transform(row)) for row in inputs["arrow_str"]]
    functions = {name: pipeline.predict_proba for name in inputs}
    functions["bare_forward"] = partial(bare_predict, module)
    inputs["bare_forward"] = tensors
    for name in functions:  # warm-up: lazy look-up tables, torch's first calls
        functions[name](inputs[name][0])
    ms = {name: [] for name in functions}
    for i in range(args.latency_calls):
        names = list(functions) if i % 2 == 0 else list(functions)[::-1]
        for name in names:
            start = time.perf_counter()
            functions[name](inputs[name][i])
            ms[name].append((time.perf_counter() - start) * 1e3)
    results = {"rows": len(X), "calls": args.latency_calls, "one_row": {}, "batch": {}}
    for name, values in ms.items():
        results["one_row"][name] = {
            "median_ms": float(np.median(values)),
            "p99_ms": float(np.percentile(values, 99)),
            "ratio_to_bare_forward": paired_ratio(values, ms["bare_forward"]),
        }
        log(
            f"  serving one row {name}: median {np.median(values):.3f} ms, "
            f"p99 {np.percentile(values, 99):.3f} ms"
        )
    batch = {name: partial(pipeline.predict_proba, F) for name, F in frames.items()}
    batch["bare_forward"] = partial(bare_predict, module, torch.from_numpy(encoder.transform(X)))
    times = interleave(batch, repeats=args.repeats)
    for name, seconds in times.items():
        results["batch"][name] = {
            "rows_per_s": len(X) / float(np.median(seconds)),
            "ratio_to_bare_forward": paired_ratio(times["bare_forward"], seconds),
        }
    results["crossover"] = crossover(encoder, frames, args, _lookup)
    return results


def crossover(encoder, frames, args, lookup):
    """Transform ms of the dict path and of the vectorised kernels, by batch size."""
    out = {}
    default = lookup.MAX_ROWS
    for name, frame in frames.items():
        out[name] = {}
        for n_rows in args.crossover_rows:
            batches = [frame.iloc[i : i + n_rows] for i in range(0, 8 * n_rows, n_rows)]

            def run(max_rows, batches=batches):
                lookup.MAX_ROWS = max_rows
                for batch in batches:
                    encoder.transform(batch)

            try:
                times = interleave(
                    {"dict": partial(run, n_rows), "vectorised": partial(run, -1)},
                    repeats=args.repeats * 2,
                )
            finally:
                lookup.MAX_ROWS = default
            out[name][n_rows] = {
                "dict_ms": 1e3 * float(np.median(times["dict"])) / len(batches),
                "vectorised_ms": 1e3 * float(np.median(times["vectorised"])) / len(batches),
                "ratio": paired_ratio(times["vectorised"], times["dict"]),
            }
    return out


def bench_encoder(args, log):
    """FieldEncoder against OrdinalEncoder, strings in Arrow (top level) and as objects."""
    frame = make_frame(args.encoder_rows, args.encoder_vocab, seed=2)
    strings = [c for c in frame.columns if c.startswith("C")]
    arrow = frame.astype(dict.fromkeys(strings, "str"))
    results = compare_encoders(args, arrow, "Arrow", log)
    results["object"] = compare_encoders(args, frame, "object", log)
    return results


def compare_encoders(args, frame, storage, log):
    """FieldEncoder fit, transform and fit_transform against OrdinalEncoder, same DataFrame.

    Also timed: one hash pass over every column (pandas ``value_counts``, or the
    quantiles of a numeric column), the least work any fit of a vocabulary does.
    """
    field = FieldEncoder()
    ordinal = OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1)
    fit = interleave(
        {
            "field_encoder": partial(field.fit, frame),
            "ordinal_encoder": partial(ordinal.fit, frame),
            "one_hash_pass": partial(_one_pass, frame),
        },
        repeats=args.encoder_repeats,
    )
    transform = interleave(
        {
            "field_encoder": partial(field.transform, frame),
            "ordinal_encoder": partial(ordinal.transform, frame),
        },
        repeats=args.encoder_repeats,
    )
    fit_transform = interleave(
        {
            "field_encoder": partial(field.fit_transform, frame),
            "ordinal_encoder": partial(ordinal.fit_transform, frame),
        },
        repeats=args.encoder_repeats,
    )
    ms = call_ms(field.transform, [frame.iloc[[i]] for i in range(args.latency_calls)])
    results = {
        "rows": args.encoder_rows,
        "vocab": args.encoder_vocab,
        "fitted_categories": int(field.cardinalities_.sum()),
        "one_row_transform_median_ms": float(np.median(ms)),
        "one_row_transform_p99_ms": float(np.percentile(ms, 99)),
    }
    for name, times in [("fit", fit), ("transform", transform), ("fit_transform", fit_transform)]:
        n_rows = args.encoder_rows
        results[name] = {
            "seconds": times,
            **{f"{k}_rows_per_s": n_rows / float(np.median(v)) for k, v in times.items()},
            "ratio": paired_ratio(times["ordinal_encoder"], times["field_encoder"]),
        }
        log(f"  encoder {name}, {storage} strings: {results[name]['ratio']:.2f}x OrdinalEncoder")
    # the best ratio a fit doing one hash pass per column could reach
    results["fit"]["ratio_one_hash_pass"] = paired_ratio(
        fit["ordinal_encoder"], fit["one_hash_pass"]
    )
    return results


def _one_pass(frame):
    for _, column in frame.items():
        if column.dtype == np.float64:
            np.nanquantile(column.to_numpy(), np.linspace(0, 1, 17))
        else:
            column.value_counts(dropna=False, sort=False)


def bench_memory(args, network, log):
    """Peak RSS of a child fitting the classifier, and of a child running the bare loop.

    Each child loads the encoded rows from an ``.npz`` file, then trains; the ratio
    is (peak - RSS after imports) / (encoded matrix + model parameters).
    """
    codes, y, cardinalities = make_codes(args.memory_rows, args.memory_vocab, seed=3)
    module = DeepFM(cardinalities, **{k: network[k] for k in NETWORK}, sparse=True)
    model_bytes = sum(p.numel() * p.element_size() for p in module.parameters())
    del module
    results = {
        "rows": args.memory_rows,
        "vocab": args.memory_vocab,
        "encoded_bytes": codes.nbytes,
        "model_bytes": model_bytes,
    }
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "data.npz"
        np.savez(path, codes=codes, y=y, cardinalities=np.asarray(cardinalities))
        del codes, y
        for kind in ("classifier", "bare"):
            command = [sys.executable, __file__, "--memory-child", kind, str(path)]
            command += ["--quick"] if args.quick else []
            command += ["--threads", str(args.threads)] if args.threads else []
            out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
            child = json.loads(out.strip().splitlines()[-1])
            child["ratio"] = (child["peak_bytes"] - child["baseline_bytes"]) / (
                results["encoded_bytes"] + model_bytes
            )
            results[kind] = child
            log(
                f"  memory {kind}: peak {child['peak_bytes'] / 2**20:,.0f} MiB, "
                f"{child['ratio']:.2f}x (encoded + model)"
            )
    return results


def memory_child(kind, path, network):
    """Run in a child process: load the data, fit, print RSS figures as JSON."""
    baseline = _max_rss()
    data = np.load(path)
    codes, y, cardinalities = data["codes"], data["y"], data["cardinalities"].tolist()
    loaded = _max_rss()
    start = time.perf_counter()
    if kind == "classifier":
        classifier(network, True, 1).fit(codes, y)
        batches = n_batches(len(codes), 1)
    else:  # peak memory is reached within the first optimizer steps
        batches = 5
        bare_fit(
            torch.from_numpy(codes),
            torch.tensor(y).float(),
            cardinalities,
            network,
            True,
            1,
            max_batches=batches,
        )
    print(
        json.dumps(
            {
                "baseline_bytes": baseline,
                "loaded_bytes": loaded,
                "peak_bytes": _max_rss(),
                "batches": batches,
                "seconds": time.perf_counter() - start,
            }
        )
    )


def _max_rss():
    """Peak resident memory of this process in bytes: VmHWM, else ``ru_maxrss``.

    On Linux ``ru_maxrss`` survives ``exec``: a child started by a large parent
    reports the parent's peak (measured: 1 GiB for a bare interpreter), while
    VmHWM belongs to the child's own address space.
    """
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    scale = 1 if sys.platform == "darwin" else 1024  # bytes on macOS, KiB elsewhere
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale


FRAPPE_ARMS = ("sparse", "dense", "sparse_adam")


def bench_genres(args, log):
    """Multi-valued genres against the same strings as one category, on MovieLens 100K."""
    from sklearn_deepfm.datasets import load_movielens_100k

    genres = load_movielens_100k(MOVIELENS)[["genres"]]
    storages = {
        "arrow": genres.astype({"genres": "str"}),
        "object": genres.astype({"genres": object}),
        "lists": genres.assign(genres=genres["genres"].str.split("|").astype(object)),
    }
    results = {"rows": len(genres), "storages": {}}
    for storage, frame in storages.items():
        separator = None if storage == "lists" else "|"
        multi = FieldEncoder(multi_valued={"genres": separator}).fit(frame)
        joined_frame = storages["object" if storage == "lists" else storage]
        joined = FieldEncoder(categorical_features=["genres"]).fit(joined_frame)
        repeats = 2 if args.quick else 9  # milliseconds each: rounds are cheap
        fit = interleave(
            {"multi": partial(multi.fit, frame), "joined": partial(joined.fit, joined_frame)},
            repeats,
        )
        transform = interleave(
            {
                "multi": partial(multi.transform, frame),
                "joined": partial(joined.transform, joined_frame),
            },
            repeats,
        )
        one_row = 1e3 * call_ms(
            multi.transform, [frame.iloc[[i]] for i in range(args.latency_calls)]
        )
        figures = {
            "fit_ms": 1e3 * float(np.median(fit["multi"])),
            "transform_ms": 1e3 * float(np.median(transform["multi"])),
            "fit_over_joined": paired_ratio(fit["multi"], fit["joined"]),
            "transform_over_joined": paired_ratio(transform["multi"], transform["joined"]),
            "one_row_transform_median_us": float(np.median(one_row)),
        }
        results["storages"][storage] = figures
        log(
            f"  genres, {storage}: fit {figures['fit_ms']:.1f} ms "
            f"({figures['fit_over_joined']:.2f}x one category), transform "
            f"{figures['transform_ms']:.1f} ms ({figures['transform_over_joined']:.2f}x), "
            f"one row {figures['one_row_transform_median_us']:.0f} us"
        )
    return results


def bench_dropout(args, log, repeats=7):
    """Fit seconds of one epoch with the library's dropout against torch's, on Frappe."""
    from sklearn_deepfm import nn as network_module
    from sklearn_deepfm.datasets import load_frappe

    X, y = load_frappe(args.frappe, return_X_y=True)
    if args.quick:
        X, y = X.iloc[:5_000], y[:5_000]
    codes, y = FieldEncoder(categorical_features=list(X.columns)).fit_transform(X), np.asarray(y)
    ours = network_module.Dropout

    def fit(dropout_class):
        network_module.Dropout = dropout_class  # what MLP builds its dropout layers from
        try:
            DeepFMClassifier(max_epochs=1, early_stopping=False, random_state=0).fit(codes, y)
        finally:
            network_module.Dropout = ours

    fit(ours)  # warm-up: the first fit pays for imports and allocations
    times = interleave(
        {"library": lambda: fit(ours), "torch": lambda: fit(nn.Dropout)},
        1 if args.quick else repeats,
    )
    ratio = paired_ratio(times["torch"], times["library"])
    log(f"  dropout: torch / library fit seconds {ratio:.2f} ({len(y):,} rows, 1 epoch)")
    return {"rows": len(y), "seconds": times, "torch_over_library": ratio}


def bench_frappe(args, network, log):
    """Held-out AUC and log loss of the embedding optimizers on Frappe.

    Arms: ``sparse`` (the default, ``CatchUpAdam``), ``dense`` (dense Adam) and
    ``sparse_adam`` (torch's lazy ``SparseAdam``, what the default replaced, through
    ``_LazySparseAdamClassifier``). Same other settings; early stopping on the
    validation AUC with a patience of 3 epochs.
    """
    from sklearn_deepfm.datasets import load_frappe

    X, y = load_frappe(args.frappe, return_X_y=True)
    if args.quick:
        X, y = X.iloc[:5_000], y[:5_000]
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=1 / 3, random_state=0)
    results = {"rows_train": len(X_train), "rows_test": len(X_test), "runs": []}
    for seed in range(args.frappe_seeds):
        for arm in args.frappe_arms:
            estimator = _LazySparseAdamClassifier if arm == "sparse_adam" else DeepFMClassifier
            model = make_pipeline(
                FieldEncoder(categorical_features=list(X.columns)),
                estimator(
                    **network,
                    **TRAINING,
                    max_epochs=args.frappe_epochs,
                    early_stopping=True,
                    n_iter_no_change=3,
                    sparse_embeddings=arm != "dense",
                    random_state=seed,
                ),
            )
            start = time.perf_counter()
            model.fit(X_train, y_train)
            seconds = time.perf_counter() - start
            proba = model.predict_proba(X_test)[:, 1]
            run = {
                "seed": seed,
                "arm": arm,
                "optimizer": type(getattr(model[-1].net_, "optimizer_sparse_", None)).__name__,
                "auc": float(roc_auc_score(y_test, proba)),
                "log_loss": float(log_loss(y_test, proba)),
                "epochs": int(model[-1].n_iter_),
                "seconds": seconds,
            }
            results["runs"].append(run)
            log(
                f"  frappe seed={seed} {arm}: AUC {run['auc']:.4f}, "
                f"log loss {run['log_loss']:.4f}, {run['epochs']} epochs, {seconds:.0f}s"
            )
    for arm in args.frappe_arms:
        runs = [r for r in results["runs"] if r["arm"] == arm]
        results[arm] = {
            "auc_mean": float(np.mean([r["auc"] for r in runs])),
            "auc_std": float(np.std([r["auc"] for r in runs])),
            "log_loss_mean": float(np.mean([r["log_loss"] for r in runs])),
            "log_loss_std": float(np.std([r["log_loss"] for r in runs])),
            "epochs_mean": float(np.mean([r["epochs"] for r in runs])),
        }
    return results


class _LazySparseAdam(SparseAdam):
    """torch's SparseAdam, with the ``flush`` the classifier calls (nothing to flush)."""

    def flush(self):
        pass


class _LazySparseAdamClassifier(DeepFMClassifier):
    """The classifier with torch's SparseAdam on its embedding tables."""

    _sparse_optimizer = _LazySparseAdam


# report ------------------------------------------------------------------------------


def machine():
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_average_at_start": os.getloadavg(),
    }


def plot(results, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    lines = [
        ("classifier", "o", "DeepFMClassifier"),
        ("bare", "s", "bare loop"),
        ("bare_sparse_adam", "^", "bare loop, SparseAdam"),
    ]
    train = results.get("train")
    if train:
        for axis, key, title in [
            (axes[0], "rows_per_s", "fit, end to end"),
            (axes[1], "loop_rows_per_s", "fit, training loop only"),
        ]:
            for mode, style in [("sparse", "-"), ("dense", "--")]:
                by_vocab = train[mode]["by_vocab"]
                vocab = sorted(by_vocab)
                for name, marker, label in lines:
                    if f"{name}_{key}" in by_vocab[vocab[0]]:
                        axis.plot(
                            vocab,
                            [by_vocab[v][f"{name}_{key}"] for v in vocab],
                            style,
                            marker=marker,
                            label=f"{label} ({mode} embeddings)",
                        )
            axis.set_title(title)
    predict = results.get("predict")
    if predict:
        vocab = sorted(predict["batch"])
        for name, marker, label in [*lines[:2], ("bare_one_call", "v", "bare, one call")]:
            axes[2].plot(
                vocab,
                [predict["batch"][v][f"{name}_rows_per_s"] for v in vocab],
                marker=marker,
                label=label,
            )
        axes[2].set_title("predict_proba")
    for axis in axes:
        axis.set_xscale("log")
        axis.set_xlabel("vocabulary (embedding rows)")
        axis.set_ylabel("rows/s")
        axis.set_ylim(bottom=0)
        axis.grid(alpha=0.3)
        if axis.get_legend_handles_labels()[0]:
            axis.legend(fontsize=7)
    machine = results["machine"]
    fig.suptitle(
        f"sklearn-deepfm against a bare PyTorch loop: {machine['cpu']}, "
        f"{machine['torch_threads']} torch threads"
    )
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def summary(results):
    """The figures of the README table, one (label, value, target) per line."""
    lines = []
    train = results.get("train")
    if train:
        for mode, target in [("sparse", ">= 0.9"), ("dense", "")]:
            for vocab, r in train[mode]["by_vocab"].items():
                label = f"fit rows/s vs bare loop, {mode} embeddings, vocab {vocab:,}"
                lines.append((label, r["ratio"], target))
        for vocab, r in train["sparse"]["by_vocab"].items():
            label = f"bare loop time SparseAdam / CatchUpAdam, vocab {vocab:,}"
            lines.append((label, r["loop_ratio_sparse_adam"], ""))
        for mode, target in [("sparse", "<= 1.3"), ("dense", "")]:
            small, large = train[mode]["vocab_pair"]
            growth = train[mode]["step_time_growth"]
            label = f"step time, vocab {large:,} / {small:,}, {mode} embeddings"
            lines.append((label, growth["classifier"], target))
            if mode == "sparse":
                label = f"step time, vocab {large:,} / {small:,}, bare loop with SparseAdam"
                lines.append((label, growth["bare_sparse_adam"], ""))
    predict = results.get("predict")
    if predict:
        for vocab, r in predict["batch"].items():
            lines.append(
                (f"predict_proba rows/s vs bare forward, vocab {vocab:,}", r["ratio"], ">= 0.9")
            )
        for name, r in predict["one_row"].items():
            lines.append(
                (f"one-row {name} median / p99 ms", f"{r['median_ms']:.2f} / {r['p99_ms']:.2f}", "")
            )
    serving = results.get("serving")
    if serving:
        for name, r in serving["one_row"].items():
            label = f"Criteo one-row pipeline {name} median / p99 ms (x bare)"
            value = f"{r['median_ms']:.2f} / {r['p99_ms']:.2f} ({r['ratio_to_bare_forward']:.1f})"
            lines.append((label, value, "<= 2 / 4" if name != "bare_forward" else ""))
        for name, r in serving["batch"].items():
            label = f"Criteo batch pipeline {name} rows/s / bare forward"
            lines.append((label, r["ratio_to_bare_forward"], ""))
        for name, by_rows in serving["crossover"].items():
            for n_rows, r in by_rows.items():
                label = f"transform {n_rows} rows {name}: vectorised / dict time"
                lines.append((label, r["ratio"], ""))
    encoder = results.get("encoder")
    if encoder:
        for storage, r in [("Arrow", encoder), ("object", encoder.get("object"))]:
            for name in ("fit", "transform", "fit_transform"):
                label = f"FieldEncoder {name} rows/s vs OrdinalEncoder, {storage}"
                lines.append((label, r[name]["ratio"], ">= 3" if storage == "Arrow" else ""))
        label = "one hash pass per column vs OrdinalEncoder.fit (bound)"
        lines.append((label, encoder["fit"]["ratio_one_hash_pass"], ""))
        one_row = (
            f"{encoder['one_row_transform_median_ms']:.2f} / "
            f"{encoder['one_row_transform_p99_ms']:.2f}"
        )
        lines.append(("FieldEncoder one-row transform median / p99 ms", one_row, ""))
    memory = results.get("memory")
    if memory:
        for kind in ("classifier", "bare"):
            lines.append((f"peak memory {kind} / (encoded + model)", memory[kind]["ratio"], ""))
    frappe = results.get("frappe")
    if frappe:
        for mode in [arm for arm in FRAPPE_ARMS if arm in frappe]:
            r = frappe[mode]
            lines.append(
                (
                    f"Frappe AUC / log loss, {mode}",
                    f"{r['auc_mean']:.4f} / {r['log_loss_mean']:.4f}",
                    "",
                )
            )
    return lines


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small smoke run of a few seconds")
    parser.add_argument("--rows", type=int, help="training and predict rows (200,000)")
    parser.add_argument("--vocab", type=int, nargs="+", help="vocabulary sizes (100k 1M 5M)")
    parser.add_argument("--epochs", type=int, default=1, help="epochs per timed fit")
    parser.add_argument("--repeats", type=int, help="interleaved rounds per comparison (3)")
    parser.add_argument("--dense-rows", type=int, help="rows of the dense Adam fits (40,960)")
    parser.add_argument("--dense-vocab", type=int, nargs="+", help="vocabularies for dense Adam")
    parser.add_argument("--encoder-rows", type=int, help="rows of the encoder data (1,000,000)")
    parser.add_argument("--encoder-vocab", type=int, help="vocabulary of the encoder data (1M)")
    parser.add_argument("--encoder-repeats", type=int, help="interleaved encoder rounds (2)")
    parser.add_argument("--memory-rows", type=int, help="rows of the memory fit (1,000,000)")
    parser.add_argument("--memory-vocab", type=int, help="vocabulary of the memory fit (1M)")
    parser.add_argument("--latency-calls", type=int, help="one-row calls timed (500)")
    parser.add_argument("--frappe", type=Path, default=FRAPPE, help="frappe.train.libfm path")
    parser.add_argument("--criteo", type=Path, default=CRITEO, help="criteo_8k.txt path")
    parser.add_argument("--serving-rows", type=int, help="Criteo rows of the serving fit (8,000)")
    parser.add_argument(
        "--crossover-rows", type=int, nargs="+", help="batch sizes of the crossover"
    )
    parser.add_argument("--frappe-seeds", type=int, help="model seeds per optimizer (3)")
    parser.add_argument("--frappe-epochs", type=int, default=20, help="max epochs on Frappe")
    parser.add_argument(
        "--frappe-arms",
        nargs="+",
        choices=FRAPPE_ARMS,
        default=list(FRAPPE_ARMS),
        help="embedding optimizers compared on Frappe",
    )
    parser.add_argument(
        "--only", nargs="+", choices=SECTIONS, help="run these sections (all but frappe)"
    )
    parser.add_argument("--skip", nargs="+", choices=SECTIONS, default=[], help="skip sections")
    parser.add_argument(
        "--threads", type=int, help="torch threads (torch's default; 1 with --quick)"
    )
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder for JSON and PNG")
    parser.add_argument("--name", default="speed", help="stem of the output files")
    parser.add_argument("--memory-child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    full = dict(
        rows=200_000,
        vocab=[100_000, 1_000_000, 5_000_000],
        repeats=3,
        dense_rows=40_960,
        dense_vocab=None,
        encoder_rows=1_000_000,
        encoder_vocab=1_000_000,
        encoder_repeats=2,
        memory_rows=1_000_000,
        memory_vocab=1_000_000,
        latency_calls=500,
        serving_rows=8000,
        crossover_rows=[1, 4, 16, 64, 256, 1024],
        frappe_seeds=3,
    )
    quick = dict(
        rows=8192,
        vocab=[2_000, 50_000],
        repeats=2,
        dense_rows=8192,
        dense_vocab=None,
        encoder_rows=5_000,
        encoder_vocab=2_000,
        encoder_repeats=2,
        memory_rows=8192,
        memory_vocab=2_000,
        latency_calls=20,
        serving_rows=2000,
        crossover_rows=[1, 16],
        frappe_seeds=1,
    )
    for key, value in (quick if args.quick else full).items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    if args.dense_vocab is None:
        args.dense_vocab = [args.vocab[0], args.vocab[-1]]
    if args.quick:
        args.frappe_epochs = min(args.frappe_epochs, 2)
    return args


def main(argv=None):
    args = parse_args(argv)
    network = QUICK_NETWORK if args.quick else NETWORK
    threads = args.threads or (1 if args.quick else None)
    if threads:  # a smoke run on a busy machine: one thread never waits for another
        torch.set_num_threads(threads)
    if args.memory_child:
        memory_child(*args.memory_child, network)
        return None
    sections = [s for s in (args.only or DEFAULT_SECTIONS) if s not in args.skip]
    for section in ("dropout", "frappe"):
        if section in sections and not args.frappe.exists():
            sections.remove(section)
    if "genres" in sections and not MOVIELENS.exists():
        sections.remove("genres")
    if "serving" in sections and not args.criteo.exists():
        sections.remove("serving")
    results = {"machine": machine(), "network": network, "training": TRAINING, "quick": args.quick}

    def log(message):
        print(message, flush=True)

    for section in sections:
        start = time.perf_counter()
        log(f"{section} ...")
        if section == "train":
            results["train"] = bench_train(args, network, log)
        elif section == "predict":
            results["predict"] = bench_predict(args, network, log)
        elif section == "serving":
            results["serving"] = bench_serving(args, network, log)
        elif section == "encoder":
            results["encoder"] = bench_encoder(args, log)
        elif section == "memory":
            results["memory"] = bench_memory(args, network, log)
        elif section == "genres":
            results["genres"] = bench_genres(args, log)
        elif section == "dropout":
            results["dropout"] = bench_dropout(args, log)
        elif section == "frappe":
            results["frappe"] = bench_frappe(args, network, log)
        results.setdefault("section_seconds", {})[section] = time.perf_counter() - start
    results["machine"]["load_average_at_end"] = os.getloadavg()

    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"{args.name}.json").write_text(json.dumps(results, indent=2, default=_jsonable))
    if "train" in results or "predict" in results:
        plot(results, args.out / f"{args.name}.png")
    print()
    for label, value, target in summary(results):
        value = f"{value:.3f}" if isinstance(value, float) else value
        print(f"{label:<60} {value:>16} {target}")
    return results


def _jsonable(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


if __name__ == "__main__":
    main()
