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
``first_fit`` (only when asked for, ``--only first_fit``)
    The first fit of a fresh process, the estimator's default network on Criteo-shaped
    codes, with and without ``nn.reuse_freed_memory`` (each fit its own process, the
    two alternating): training-loop and whole-fit seconds, page faults per step.
``precision`` (only when asked for, ``--only precision``)
    The default pipeline on real data (Frappe and ``criteo_110k``, the splits of
    ``quality.py``), ``precision="float32"`` against "bfloat16", seed by seed, the two
    arms alternating in order: held-out AUC and log loss, and the whole fit's time.

Run ``python benchmarks/training.py`` (about 12 minutes on 2 cores) or ``--quick`` for a
smoke run. Results: ``results/training.json`` and ``training.png`` (rows/s against the
vocabulary), ``results/training_frappe.json``, ``results/training_precision.json``,
``results/training_first_fit.json``.
"""

import argparse
import json
import resource
import subprocess
import sys
import time
from functools import partial
from pathlib import Path

import numpy as np
import torch
from _common import (
    DATA,
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
    DEFAULT_BATCH,
    DEFAULT_NETWORK,
    NETWORK,
    QUICK_NETWORK,
    TRAINING,
    bare_fit,
    classifier,
    make_codes,
    matmul_flops,
    n_batches,
    training_flop_per_row,
)
from quality_data import LOADERS
from sklearn.metrics import log_loss, roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from torch.optim import SparseAdam

from sklearn_deepfm import DeepFMClassifier, FieldEncoder
from sklearn_deepfm.datasets import load_frappe

SECTIONS = ("train", "frappe", "precision", "first_fit")
FRAPPE_ARMS = ("sparse", "dense")
PRECISIONS = ("float32", "bfloat16")
PRECISION_DATA = ("frappe", "criteo_110k")
ARMS = (
    "bare",
    "bare_autograd",
    "bare_compiled",
    "classifier",
    "classifier_float32",
    "bare_sparse_adam",
)


def bench_train(args, network, log):
    """Fit rows/s against the bare loops at each vocabulary, then whole fits and the FLOP rates.

    Every round runs every comparison and vocabulary, so that ratios between
    vocabularies and between the arms also compare measurements close in time.
    Comparisons: ``sparse`` (the pinned network, sparse updates), ``sparse_defaults``
    (the estimator's default network and batch) and ``dense`` (dense Adam everywhere).
    """
    codes, y, cardinalities = make_codes(8192, args.vocab[0])
    # warm-up: first calls pay for lazy initialisation in torch and skorch
    classifier(network, True, 1).fit(codes, y)
    bare_fit(torch.from_numpy(codes), torch.from_numpy(y).float(), cardinalities, network, True, 1)
    defaults = QUICK_NETWORK if args.quick else DEFAULT_NETWORK
    arms = tuple(a for a in ARMS if args.compiled or a != "bare_compiled")
    sized = (args.rows, args.vocab, args.epochs)
    comparisons = {
        "sparse": FitComparison(network, None, True, *sized, arms),
        "sparse_defaults": FitComparison(
            defaults,
            DEFAULT_BATCH,
            True,
            *sized,
            arms[:-1],  # no SparseAdam arm
        ),
        # dense Adam updates the whole table at every step: fewer rows
        "dense": FitComparison(
            network, None, False, args.dense_rows, args.dense_vocab, 1, ("bare", "classifier")
        ),
    }
    for round_ in range(args.repeats):
        for mode, comparison in comparisons.items():
            comparison.run_round(round_, mode, log)
    results = {mode: comparison.results() for mode, comparison in comparisons.items()}
    flops = {
        str(dtype).removeprefix("torch."): matmul_flops(dtype)
        for dtype in (torch.float32, torch.bfloat16)
    }
    for part in results.values():
        part["training_flop_per_row"] = training_flop_per_row(part["network"], len(cardinalities))
        for values in part["by_vocab"].values():
            for precision, limit in flops.items():  # the loop's share of the matmul limit
                achieved = values["classifier_loop_rows_per_s"] * part["training_flop_per_row"]
                values[f"classifier_share_of_{precision}_limit"] = achieved / limit
    results["matmul_flops"] = flops
    results["whole_fit"] = whole_fits(args.whole_rows, args.vocab[0], defaults, log)
    return results


class FitComparison:
    """Interleaved fits of the classifier and the bare loops at each vocabulary size.

    Arms: ``bare`` (the eager bare loop of the library's module, float32),
    ``bare_autograd`` (the loop as written by hand: FM by autograd, dropout from
    ``rand_like``, as the module was before version 0.5), ``bare_compiled`` (that loop
    with its dense part compiled, timed after compiling), ``bare_sparse_adam`` (torch's
    lazy ``SparseAdam`` for the tables), ``classifier`` (the defaults:
    ``precision="auto"``) and ``classifier_float32``. Besides the whole fit, the
    training loop alone is timed (skorch's epoch durations, ``net_.history[:, "dur"]``;
    the loop of ``bare_fit``): it excludes building the module, whose random
    initialisation grows with the vocabulary.
    """

    def __init__(self, network, batch_size, sparse, rows, vocabs, epochs, names):
        self.network, self.batch_size, self.sparse = network, batch_size, sparse
        self.rows, self.vocabs, self.epochs, self.names = rows, vocabs, epochs, names
        self.data = {vocab: make_codes(rows, vocab, seed=vocab) for vocab in vocabs}
        self.fit = {vocab: {name: [] for name in names} for vocab in vocabs}
        self.loop = {vocab: {name: [] for name in names} for vocab in vocabs}
        self.compile_seconds = []

    def run_round(self, round_, mode, log):
        for vocab in self.vocabs:
            codes, y, cardinalities = self.data[vocab]
            codes_t, y_t = torch.from_numpy(codes), torch.from_numpy(y).float()
            bare = (codes_t, y_t, cardinalities, self.network, self.sparse, self.epochs)
            loop = self.loop[vocab]
            functions = {name: self._arm(name, loop[name], codes, y, bare) for name in self.names}
            for name, seconds in interleave(functions, 1, first_round=round_).items():
                self.fit[vocab][name] += seconds
            log(
                f"  train {mode} vocab={vocab:>9,} round {round_ + 1}: "
                + ", ".join(
                    f"{name} {self.fit[vocab][name][-1]:.2f}s (loop {loop[name][-1]:.2f}s)"
                    for name in functions
                )
            )

    def _arm(self, name, loop_seconds, codes, y, bare):
        """The timed fit of arm ``name``, appending its loop's seconds to ``loop_seconds``."""
        if name.startswith("bare"):
            extra = {
                "bare_autograd": {"variant": "autograd"},
                "bare_compiled": {"variant": "compiled", "compile_seconds": self.compile_seconds},
                "bare_sparse_adam": {"sparse_optimizer": SparseAdam},
            }.get(name, {})
            return partial(_timed_bare, loop_seconds, *bare, batch_size=self.batch_size, **extra)
        precision = "float32" if name == "classifier_float32" else "auto"
        return partial(_timed_classifier, loop_seconds, self, codes, y, precision)

    def results(self):
        rows, epochs, names = self.rows, self.epochs, self.names
        steps = n_batches(rows, epochs, self.batch_size)
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
            for name in names[1:]:  # each arm's speed-up over the eager bare loop
                if name != "classifier":
                    by_vocab[vocab][f"loop_ratio_{name}"] = paired_ratio(inner["bare"], inner[name])
            if "bare_compiled" in names:  # what compiling gives the hand-written loop
                by_vocab[vocab]["loop_ratio_compiled_vs_autograd"] = paired_ratio(
                    inner["bare_autograd"], inner["bare_compiled"]
                )
            for reference in ("bare_autograd", "bare_compiled"):  # the classifier against each
                if reference in names:
                    by_vocab[vocab][f"loop_ratio_vs_{reference.removeprefix('bare_')}"] = (
                        paired_ratio(inner[reference], inner["classifier"])
                    )
        small, large = self.vocabs[0], self.vocabs[-1]
        return {
            "network": self.network,
            "batch_size": self.batch_size or TRAINING["batch_size"],
            "rows": rows,
            "epochs": epochs,
            "batches_per_fit": steps,
            "by_vocab": by_vocab,
            "vocab_pair": [small, large],
            "step_time_growth": {
                name: paired_ratio(self.loop[large][name], self.loop[small][name]) for name in names
            },
            **({"compile_seconds": self.compile_seconds} if self.compile_seconds else {}),
        }


def whole_fits(row_counts, vocab, network, log):
    """Whole-fit seconds of the default precision and of float32 at each row count.

    One epoch of the estimator's default network and batch, sparse updates, each
    pair of fits back to back in alternating order; and the compiled bare loop's
    compile time, the cost a compiled fit would add.
    """
    results = {}
    for i, rows in enumerate(row_counts):
        codes, y, _ = make_codes(rows, vocab, seed=rows)
        seconds = {}
        order = ("auto", "float32") if i % 2 == 0 else ("float32", "auto")
        for precision in order:
            start = time.perf_counter()
            classifier(network, True, 1, batch_size=DEFAULT_BATCH, precision=precision).fit(
                codes, y
            )
            seconds[precision] = time.perf_counter() - start
        results[rows] = {
            "seconds_default": seconds["auto"],
            "seconds_float32": seconds["float32"],
            "speedup": seconds["float32"] / seconds["auto"],
        }
        log(f"  whole fit {rows:>9,} rows: default {seconds['auto']:.1f}s, float32 "
            f"{seconds['float32']:.1f}s")  # fmt: skip
    return results


def _timed_bare(loop_seconds, *args, compile_seconds=None, **kwargs):
    _, seconds, compiling = bare_fit(*args, **kwargs)
    loop_seconds.append(seconds)
    if compile_seconds is not None:
        compile_seconds.append(compiling)


def _timed_classifier(loop_seconds, comparison, codes, y, precision="auto"):
    c = comparison
    model = classifier(c.network, c.sparse, c.epochs, batch_size=c.batch_size, precision=precision)
    model.fit(codes, y)
    loop_seconds.append(float(sum(model.net_.history[:, "dur"])))


def bench_first_fit(args, log):
    """First fits of fresh processes, ``reuse_freed_memory`` off and on, in ABBA order."""
    results = {}
    for vocab in args.vocab:
        runs = {"off": [], "on": []}
        for round_ in range(args.repeats):
            for reuse in ("off", "on") if round_ % 2 == 0 else ("on", "off"):
                runs[reuse].append(_first_fit_process(vocab, args.rows, reuse == "on"))
                log(f"  first fit vocab={vocab:>9,} {reuse}: {runs[reuse][-1]}")
        seconds = {reuse: [r["loop_seconds"] for r in values] for reuse, values in runs.items()}
        fits = {reuse: [r["fit_seconds"] for r in values] for reuse, values in runs.items()}
        results[vocab] = {
            "runs": runs,
            "loop_speedup": paired_ratio(seconds["off"], seconds["on"]),
            "fit_speedup": paired_ratio(fits["off"], fits["on"]),
            **{
                f"faults_per_step_{reuse}": float(np.median([r["faults_per_step"] for r in v]))
                for reuse, v in runs.items()
            },
        }
        log(f"  first fit vocab={vocab:>9,}: loop {results[vocab]['loop_speedup']:.2f}x, "
            f"fit {results[vocab]['fit_speedup']:.2f}x with reuse_freed_memory")  # fmt: skip
    return results


def _first_fit_process(vocab, rows, reuse):
    """Run ``first_fit`` in a new Python process, with this one's torch threads."""
    threads = torch.get_num_threads()
    code = f"import training; training.first_fit({vocab}, {rows}, {reuse}, {threads})"
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=Path(__file__).parent,
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    return json.loads(done.stdout.splitlines()[-1])


def first_fit(vocab, rows, reuse, threads):
    """One fit of the default network, the first of this process; print its figures as JSON."""
    torch.set_num_threads(threads)
    if not reuse:  # the estimator's two calls, made no-ops
        from sklearn_deepfm.estimators import _base, _net

        _base.reuse_freed_memory = _net.reuse_freed_memory = lambda: False
    codes, y, _ = make_codes(rows, vocab, seed=vocab)
    model = classifier(DEFAULT_NETWORK, True, 1, batch_size=DEFAULT_BATCH)
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    start = time.perf_counter()
    model.fit(codes, y)
    seconds = time.perf_counter() - start
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults
    figures = {
        "loop_seconds": float(sum(model.net_.history[:, "dur"])),
        "fit_seconds": seconds,
        "faults_per_step": faults / n_batches(rows, 1, DEFAULT_BATCH),
    }
    print(json.dumps(figures))


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
            run = {"seed": seed, "arm": arm}
            run |= fit_and_score(clf, list(X.columns), X_train, y_train, X_test, y_test)
            results["runs"].append(run)
            log(
                f"  frappe seed={seed} {arm}: AUC {run['auc']:.4f}, "
                f"log loss {run['log_loss']:.4f}, {run['epochs']} epochs, {run['seconds']:.0f}s"
            )
    for arm in args.frappe_arms:
        runs = [r for r in results["runs"] if r["arm"] == arm]
        results[arm] = {
            f"{key}_{stat}": float(function([r[key] for r in runs]))
            for key in ("auc", "log_loss", "epochs")
            for stat, function in (("mean", np.mean), ("std", np.std))
        }
    return results


def bench_precision(args, log):
    """The default pipeline in each precision on real data: AUC, log loss and fit time.

    Per seed the two fits run back to back, float32 first on even seeds, so that
    the paired time ratios compare fits close in time.
    """
    results = {}
    for name in args.precision_data:
        X_train, y_train, X_test, y_test, categorical, split = LOADERS[name]()
        if args.quick:
            X_train, y_train = X_train.iloc[:4_000], y_train[:4_000]
        runs = []
        for seed in range(args.precision_seeds):
            order = PRECISIONS if seed % 2 == 0 else PRECISIONS[::-1]
            for precision in order:
                clf = DeepFMClassifier(random_state=seed, precision=precision)
                if args.quick:
                    clf.set_params(max_epochs=2)
                run = {"seed": seed, "precision": precision}
                run |= fit_and_score(clf, categorical, X_train, y_train, X_test, y_test)
                runs.append(run)
                log(
                    f"  {name} seed={seed} {precision}: AUC {run['auc']:.4f}, log loss "
                    f"{run['log_loss']:.4f}, {run['epochs']} epochs, {run['seconds']:.1f}s"
                )
        by = {p: [r for r in runs if r["precision"] == p] for p in PRECISIONS}
        results[name] = {
            "split": split,
            "runs": runs,
            **{
                f"{key}_mean_{p}": float(np.mean([r[key] for r in by[p]]))
                for p in PRECISIONS
                for key in ("auc", "log_loss", "seconds")
            },
            "auc_difference": [
                b["auc"] - f["auc"] for f, b in zip(by["float32"], by["bfloat16"], strict=True)
            ],
            "fit_speedup": paired_ratio(
                [r["seconds"] for r in by["float32"]], [r["seconds"] for r in by["bfloat16"]]
            ),
        }
    return results


def fit_and_score(clf, categorical, X_train, y_train, X_test, y_test):
    """Fit ``FieldEncoder`` + ``clf`` on the training rows; its test AUC, log loss, epochs, time."""
    model = make_pipeline(FieldEncoder(categorical_features=categorical), clf)
    start = time.perf_counter()
    model.fit(X_train, y_train)
    seconds = time.perf_counter() - start
    proba = model.predict_proba(X_test)[:, 1]
    return {
        "auc": float(roc_auc_score(y_test, proba)),
        "log_loss": float(log_loss(y_test, proba)),
        "epochs": int(clf.n_iter_),
        "seconds": seconds,
    }


def plot(results, path):
    """Rows/s against the vocabulary: the whole fit, and the training loop alone."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    lines = [
        ("classifier", "o", "DeepFMClassifier"),
        ("classifier_float32", "v", "DeepFMClassifier, float32"),
        ("bare", "s", "bare loop"),
        ("bare_autograd", "x", "hand-written loop"),
        ("bare_compiled", "D", "hand-written loop, compiled"),
        ("bare_sparse_adam", "^", "bare loop, SparseAdam"),
    ]
    for axis, key, title in [
        (axes[0], "rows_per_s", "fit, end to end"),
        (axes[1], "loop_rows_per_s", "fit, training loop only"),
    ]:
        for mode, style in [("sparse", "-"), ("sparse_defaults", ":"), ("dense", "--")]:
            by_vocab = {int(v): r for v, r in results["train"][mode]["by_vocab"].items()}
            vocab = sorted(by_vocab)
            for name, marker, label in lines:
                if f"{name}_{key}" in by_vocab[vocab[0]]:
                    axis.plot(
                        vocab,
                        [by_vocab[v][f"{name}_{key}"] for v in vocab],
                        style,
                        marker=marker,
                        label=f"{label} ({mode})",
                    )
        axis.set(title=title, xscale="log", xlabel="vocabulary (embedding rows)", ylabel="rows/s")
        axis.set_ylim(bottom=0)
        axis.grid(alpha=0.3)
        axis.legend(fontsize=6)
    machine = results["machine"]
    fig.suptitle(
        f"DeepFMClassifier against a bare PyTorch loop: {machine['cpu']}, "
        f"{machine['torch_threads']} torch threads"
    )
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def summary(train, frappe, precision=None, first_fits=None):
    """The figures of the README, one (label, value, target) per line."""
    lines = []
    for vocab, r in (first_fits or {}).items():
        label = f"first fit of a process, vocab {int(vocab):,}: loop / fit speed-up, reuse on"
        lines.append((label, f"{r['loop_speedup']:.2f} / {r['fit_speedup']:.2f}", ""))
    for name, r in (precision or {}).items():
        auc = f"{r['auc_mean_bfloat16']:.4f} - {r['auc_mean_float32']:.4f}"
        lines.append((f"{name}: AUC bfloat16 - float32 (mean of seeds)", auc, "within 0.001"))
        lines.append((f"{name}: fit time float32 / bfloat16", r["fit_speedup"], ""))
    for mode in ("sparse", "sparse_defaults", "dense") if train else ():
        part = train[mode]
        for vocab, r in part["by_vocab"].items():
            where = f"{mode}, vocab {int(vocab):,}"
            lines.append((f"loop rows/s vs bare loop of the module, {where}", r["loop_ratio"], ""))
            if "loop_ratio_vs_autograd" in r:
                label = f"loop rows/s vs hand-written eager loop, {where}"
                lines.append((label, r["loop_ratio_vs_autograd"], ">= 1.5"))
            if "loop_ratio_vs_compiled" in r:
                label = f"loop rows/s vs compiled bare loop, {where}"
                lines.append((label, r["loop_ratio_vs_compiled"], ""))
                label = f"compiled loop vs hand-written eager loop, {where}"
                lines.append((label, r["loop_ratio_compiled_vs_autograd"], ""))
            if "classifier_share_of_float32_limit" in r:
                share = (
                    f"{r['classifier_share_of_float32_limit']:.2f} / "
                    f"{r['classifier_share_of_bfloat16_limit']:.2f}"
                )
                lines.append((f"share of the float32 / bfloat16 matmul limit, {where}", share, ""))
        small, large = part["vocab_pair"]
        label = f"step time, vocab {large:,} / {small:,}, {mode}"
        lines.append((label, part["step_time_growth"]["classifier"], "<= 1.15"))
    for rows, r in (train or {}).get("whole_fit", {}).items():
        label = f"whole fit {int(rows):,} rows: float32 / default time"
        lines.append((label, r["speedup"], ">= 1 (no worse)"))
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
    parser.add_argument("--vocab", type=int, nargs="+", help="vocabulary sizes (100k 5M)")
    parser.add_argument("--epochs", type=int, default=1, help="epochs per timed fit")
    parser.add_argument("--repeats", type=int, help="interleaved rounds per comparison (3)")
    parser.add_argument("--dense-rows", type=int, help="rows of the dense Adam fits (40,960)")
    parser.add_argument("--dense-vocab", type=int, nargs="+", help="vocabularies for dense Adam")
    parser.add_argument(
        "--compiled",
        action=argparse.BooleanOptionalAction,
        help="time the compiled bare loop too (on, off with --quick)",
    )
    parser.add_argument(
        "--whole-rows", type=int, nargs="+", help="rows of the whole-fit timings (100k 2M)"
    )
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
    parser.add_argument("--precision-seeds", type=int, help="seeds per precision (3)")
    parser.add_argument(
        "--precision-data",
        nargs="+",
        choices=PRECISION_DATA,
        default=list(PRECISION_DATA),
        help="real data sets of the precision section",
    )
    add_run_arguments(parser, "training")
    full = dict(
        rows=200_000,
        vocab=[100_000, 5_000_000],
        repeats=3,
        dense_rows=40_960,
        compiled=True,
        whole_rows=[100_000, 2_000_000],
    )
    quick = dict(
        rows=8192, vocab=[2_000, 50_000], repeats=2, dense_rows=8192, compiled=False,
        whole_rows=[4096],
    )  # fmt: skip
    args = parse_sized(parser, argv, full, quick)
    if args.dense_vocab is None:
        args.dense_vocab = [args.vocab[0], args.vocab[-1]]
    if args.frappe_seeds is None:
        args.frappe_seeds = 1 if args.quick else 3
    if args.precision_seeds is None:
        args.precision_seeds = 1 if args.quick else 3
    if args.quick:
        args.frappe_epochs = min(args.frappe_epochs, 2)
    return args


def main(argv=None):
    args = parse_args(argv)
    network = QUICK_NETWORK if args.quick else NETWORK
    sections = {
        "train": (partial(bench_train, args, network), ""),
        "frappe": (partial(bench_frappe, args, network), "_frappe"),
        "precision": (partial(bench_precision, args), "_precision"),
        "first_fit": (partial(bench_first_fit, args), "_first_fit"),
    }

    def plot_train(name, results, path):
        if name == "train":
            plot(results, path.with_suffix(".png"))

    header = {"machine": machine(), "network": network, "training": TRAINING}
    data = {"frappe": args.frappe, "precision": DATA / "criteo_110k"}
    written = run_sections(args, sections, header, data, plot_train)
    print_summary(
        summary(
            written.get("train", {}).get("train"),
            written.get("frappe", {}).get("frappe"),
            written.get("precision", {}).get("precision"),
            written.get("first_fit", {}).get("first_fit"),
        )
    )
    return written


if __name__ == "__main__":
    main()
