"""What the linear start changes, paired in one process: quality and fit time per data set.

For each data set of ``quality.py`` (its split and encoder), the default
``DeepFMClassifier(random_state=seed)`` and the same with ``linear_start_C=None`` (the 0.4
defaults: order-1 weights from zero) are fitted alternately, seed by seed, so that both see
the same load on a shared machine. Reported per data set: the mean test AUC and log loss
of each, the epochs each kept, and the fit-time ratio (default / from zero) over the
paired runs, with the share of the default's fit spent in the logistic regressions.

Run ``python benchmarks/linear_start.py --threads 1`` (``--data`` to choose sets,
``--seeds``) or ``--quick`` for a smoke run. Results: ``results/linear_start.json`` and
``.md``.
"""

import argparse
import time

import numpy as np
import torch
from _common import add_run_arguments, machine, parse_sized, write_json
from quality import encode, load
from quality_data import MULTI_VALUED
from sklearn.metrics import log_loss, roc_auc_score
from threadpoolctl import threadpool_limits

import sklearn_deepfm.estimators._base as base
from sklearn_deepfm import DeepFMClassifier

DATASETS = ["criteo", "avazu", "talkingdata", "frappe", "movielens", "criteo_110k", "frappe_260k"]
FULL = dict(data=DATASETS, seeds=2)
QUICK = dict(data=["criteo"], seeds=1)
VARIANTS = {"default": {}, "from_zero": {"linear_start_C": None}}


class LinearFitClock:
    """Time spent in the linear start's logistic regressions, wrapped around ``fit_linear``."""

    def __init__(self):
        self.seconds = 0.0
        self.fit_linear = base.fit_linear

    def __call__(self, *args, **kwargs):
        began = time.perf_counter()
        try:
            return self.fit_linear(*args, **kwargs)
        finally:
            self.seconds += time.perf_counter() - began


def fit_once(settings, seed, train, test, quick, clock):
    (X_train, y_train), (X_test, y_test) = train, test
    clf = DeepFMClassifier(random_state=seed, **settings)
    if quick:
        clf.set_params(max_epochs=1)
    clock.seconds = 0.0
    began = time.perf_counter()
    clf.fit(X_train, y_train)
    seconds = time.perf_counter() - began
    proba = clf.predict_proba(X_test)[:, 1]
    first = clf.early_stopping_history_ or list(clf.net_.history)
    return {
        "seed": seed,
        "auc": roc_auc_score(y_test, proba),
        "log_loss": log_loss(y_test, proba),
        "fit_seconds": seconds,
        "linear_seconds": clock.seconds,
        "epochs_run": len(first),
        "epochs_kept": int(clf.n_iter_) if clf.early_stopping_history_ else None,
    }


def measure(data, seeds, quick, clock):
    X_train, y_train, X_test, y_test, categorical, split = load(data, quick)
    codes_train, codes_test = encode(X_train, X_test, categorical, MULTI_VALUED.get(data))
    train, test = (codes_train, np.asarray(y_train)), (codes_test, np.asarray(y_test))
    fit_once({}, 0, train, test, True, clock)  # warm-up: the first fit in a process pays more
    runs = {name: [] for name in VARIANTS}
    for seed in range(seeds):
        order = list(VARIANTS) if seed % 2 == 0 else list(VARIANTS)[::-1]
        for name in order:
            runs[name].append(fit_once(VARIANTS[name], seed, train, test, quick, clock))
    summary = {"data": data, "split": split, "n_train": len(y_train), "runs": runs}
    for name, variant in runs.items():
        for key in ("auc", "log_loss", "fit_seconds"):
            summary[f"{name}_{key}"] = float(np.mean([run[key] for run in variant]))
    pairs = zip(runs["default"], runs["from_zero"], strict=True)
    summary["fit_time_ratio"] = float(
        np.mean([a["fit_seconds"] / b["fit_seconds"] for a, b in pairs])
    )
    summary["linear_share"] = float(
        np.mean([run["linear_seconds"] / run["fit_seconds"] for run in runs["default"]])
    )
    return summary


def markdown(report):
    lines = [
        f"Seeds 0 to {report['seeds'] - 1}, default and `linear_start_C=None` fitted alternately "
        "in one process; AUC / log loss are means, the fit-time ratio the mean of the paired "
        "ratios, the share of the default's fit spent in its logistic regressions after it.",
        "",
        "| data (train rows) | default AUC / log loss | from zero AUC / log loss | AUC change | "
        "fit time default / from zero | in the LR |",
        "|---|---|---|---|---|---|",
    ]
    for s in report["results"]:
        lines.append(
            f"| {s['data']} ({s['n_train']:,}) | "
            f"{s['default_auc']:.4f} / {s['default_log_loss']:.4f} | "
            f"{s['from_zero_auc']:.4f} / {s['from_zero_log_loss']:.4f} | "
            f"{s['default_auc'] - s['from_zero_auc']:+.4f} | {s['fit_time_ratio']:.2f}x "
            f"({s['default_fit_seconds']:.1f} / {s['from_zero_fit_seconds']:.1f} s) | "
            f"{100 * s['linear_share']:.0f}% |"
        )
    m = report["machine"]
    lines += [
        "",
        f"Machine: {m['cores']} cores, {m['torch_threads']} torch thread(s), load average "
        f"{m['load_average_at_start'][0]:.1f} at start; sklearn-deepfm {m['sklearn_deepfm']}, "
        f"{m['date']}. Total {report['total_seconds']:.0f} s.",
    ]
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", nargs="+", choices=DATASETS, help="data sets (all)")
    parser.add_argument("--seeds", type=int, help="seeds per variant (2; quick: 1)")
    add_run_arguments(parser, "linear_start")
    args = parse_sized(parser, argv, FULL, QUICK)
    threads = args.threads or (1 if args.quick else None)
    if threads:
        torch.set_num_threads(threads)
        threadpool_limits(threads)
    clock = LinearFitClock()
    base.fit_linear = clock  # the estimator calls it through _base's name
    began = time.perf_counter()
    report = {"quick": args.quick, "seeds": args.seeds, "machine": machine(), "results": []}
    try:
        for data in args.data:
            summary = measure(data, args.seeds, args.quick, clock)
            report["results"].append(summary)
            print(
                f"{data:<12} AUC {summary['default_auc']:.4f} (from zero "
                f"{summary['from_zero_auc']:.4f}), log loss {summary['default_log_loss']:.4f} "
                f"({summary['from_zero_log_loss']:.4f}), fit time x{summary['fit_time_ratio']:.2f}"
                f", LR share {100 * summary['linear_share']:.0f}%",
                flush=True,
            )
    finally:
        base.fit_linear = clock.fit_linear
    report["total_seconds"] = time.perf_counter() - began
    write_json(report, args.out, args.name)
    (args.out / f"{args.name}.md").write_text(markdown(report))
    return report


if __name__ == "__main__":
    main()
