"""Training speed of DeepFMClassifier against a bare PyTorch loop, on Criteo-shaped data.

``train`` (default)
    ``DeepFMClassifier.fit`` rows/s against ``bare_fit`` (``_criteo_shaped.py``): the
    same ``DeepFM`` module, optimizers (``CatchUpAdam`` for the embedding tables and Adam
    for the rest, or dense Adam everywhere; a third arm runs the bare loop with torch's
    ``SparseAdam``), batch size and shuffling, on codes already held as tensors, at each
    vocabulary size; and the step time at the largest vocabulary against the smallest.
    The fits are interleaved (ABBA) and each ratio is the median of the per-round ratios.
``frappe`` (only when asked for, ``--only frappe``)
    Held-out AUC and log loss of the default sparse embedding updates (``CatchUpAdam``)
    against dense Adam on Frappe, with early stopping.

Run ``python benchmarks/training.py`` (about 3 minutes on 2 cores) or ``--quick`` for a
smoke run. Results: ``results/training.json`` and ``training.png`` (rows/s against the
vocabulary), ``results/training_frappe.json``.
"""

import argparse
import time
from functools import partial
from pathlib import Path

import numpy as np
import torch
from _common import (
    FRAPPE,
    add_run_arguments,
    interleave,
    machine,
    paired_ratio,
    parse_sized,
    print_summary,
    run_sections,
)
from _criteo_shaped import (
    NETWORK,
    QUICK_NETWORK,
    TRAINING,
    bare_fit,
    classifier,
    make_codes,
    n_batches,
)
from sklearn.metrics import log_loss, roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from torch.optim import SparseAdam

from sklearn_deepfm import DeepFMClassifier, FieldEncoder
from sklearn_deepfm.datasets import load_frappe
from sklearn_deepfm.nn import CatchUpAdam

SECTIONS = ("train", "frappe")
FRAPPE_ARMS = ("sparse", "dense")


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

    Besides the whole fit, the training loop alone is timed (skorch's epoch durations,
    ``net_.history[:, "dur"]``; the loop of ``bare_fit``): it excludes building the
    module, whose random initialisation grows with the vocabulary.
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


def bench_frappe(args, network, log):
    """Held-out AUC and log loss of the embedding updates on Frappe, seed by seed.

    Arms: ``sparse`` (the default, ``CatchUpAdam``) and ``dense`` (dense Adam); the same
    other settings, early stopping on the validation AUC with a patience of 3 epochs.
    """
    X, y = load_frappe(args.frappe, return_X_y=True)
    if args.quick:
        X, y = X.iloc[:5_000], y[:5_000]
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=1 / 3, random_state=0)
    results = {"rows_train": len(X_train), "rows_test": len(X_test), "runs": []}
    for seed in range(args.frappe_seeds):
        for arm in args.frappe_arms:
            clf = DeepFMClassifier(
                **network,
                **TRAINING,
                max_epochs=args.frappe_epochs,
                early_stopping=True,
                n_iter_no_change=3,
                sparse_embeddings=arm == "sparse",
                random_state=seed,
            )
            model = make_pipeline(FieldEncoder(categorical_features=list(X.columns)), clf)
            start = time.perf_counter()
            model.fit(X_train, y_train)
            seconds = time.perf_counter() - start
            proba = model.predict_proba(X_test)[:, 1]
            run = {
                "seed": seed,
                "arm": arm,
                "auc": float(roc_auc_score(y_test, proba)),
                "log_loss": float(log_loss(y_test, proba)),
                "epochs": int(clf.n_iter_),
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
            f"{key}_{stat}": float(function([r[key] for r in runs]))
            for key in ("auc", "log_loss", "epochs")
            for stat, function in (("mean", np.mean), ("std", np.std))
        }
    return results


def plot(results, path):
    """Rows/s against the vocabulary: the whole fit, and the training loop alone."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    lines = [
        ("classifier", "o", "DeepFMClassifier"),
        ("bare", "s", "bare loop"),
        ("bare_sparse_adam", "^", "bare loop, SparseAdam"),
    ]
    for axis, key, title in [
        (axes[0], "rows_per_s", "fit, end to end"),
        (axes[1], "loop_rows_per_s", "fit, training loop only"),
    ]:
        for mode, style in [("sparse", "-"), ("dense", "--")]:
            by_vocab = {int(v): r for v, r in results["train"][mode]["by_vocab"].items()}
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
        axis.set(title=title, xscale="log", xlabel="vocabulary (embedding rows)", ylabel="rows/s")
        axis.set_ylim(bottom=0)
        axis.grid(alpha=0.3)
        axis.legend(fontsize=7)
    machine = results["machine"]
    fig.suptitle(
        f"DeepFMClassifier against a bare PyTorch loop: {machine['cpu']}, "
        f"{machine['torch_threads']} torch threads"
    )
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def summary(train, frappe):
    """The figures of the README, one (label, value, target) per line."""
    lines = []
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
    for arm in FRAPPE_ARMS if frappe else ():
        if arm in frappe:
            r = frappe[arm]
            value = f"{r['auc_mean']:.4f} / {r['log_loss_mean']:.4f}"
            lines.append((f"Frappe AUC / log loss, {arm}", value, ""))
    return lines


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=SECTIONS, default=["train"], help="(train)")
    parser.add_argument("--rows", type=int, help="rows of the sparse fits (200,000)")
    parser.add_argument("--vocab", type=int, nargs="+", help="vocabulary sizes (100k 1M 5M)")
    parser.add_argument("--epochs", type=int, default=1, help="epochs per timed fit")
    parser.add_argument("--repeats", type=int, help="interleaved rounds per comparison (3)")
    parser.add_argument("--dense-rows", type=int, help="rows of the dense Adam fits (40,960)")
    parser.add_argument("--dense-vocab", type=int, nargs="+", help="vocabularies for dense Adam")
    parser.add_argument("--frappe", type=Path, default=FRAPPE, help="frappe.train.libfm")
    parser.add_argument("--frappe-seeds", type=int, help="model seeds per optimizer (3)")
    parser.add_argument("--frappe-epochs", type=int, default=20, help="max epochs on Frappe")
    parser.add_argument(
        "--frappe-arms",
        nargs="+",
        choices=FRAPPE_ARMS,
        default=list(FRAPPE_ARMS),
        help="embedding optimizers compared on Frappe",
    )
    add_run_arguments(parser, "training")
    full = dict(rows=200_000, vocab=[100_000, 1_000_000, 5_000_000], repeats=3, dense_rows=40_960)
    quick = dict(rows=8192, vocab=[2_000, 50_000], repeats=2, dense_rows=8192)
    args = parse_sized(parser, argv, full, quick)
    if args.dense_vocab is None:
        args.dense_vocab = [args.vocab[0], args.vocab[-1]]
    if args.frappe_seeds is None:
        args.frappe_seeds = 1 if args.quick else 3
    if args.quick:
        args.frappe_epochs = min(args.frappe_epochs, 2)
    return args


def main(argv=None):
    args = parse_args(argv)
    network = QUICK_NETWORK if args.quick else NETWORK
    sections = {
        "train": (partial(bench_train, args, network), ""),
        "frappe": (partial(bench_frappe, args, network), "_frappe"),
    }

    def plot_train(name, results, path):
        if name == "train":
            plot(results, path.with_suffix(".png"))

    header = {"machine": machine(), "network": network, "training": TRAINING}
    written = run_sections(args, sections, header, {"frappe": args.frappe}, plot_train)
    print_summary(
        summary(written.get("train", {}).get("train"), written.get("frappe", {}).get("frappe"))
    )
    return written


if __name__ == "__main__":
    main()
