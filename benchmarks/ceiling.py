"""The ceiling on criteo_110k: the best test AUC of single models and blends, against tuned LR.

Is "the default DeepFM's AUC >= LR's + 0.005" within reach on these rows? This script
measures how far any model gets above the tuned logistic regression of ``quality.py``
on the same time-ordered split (first 87,995 rows train, last 21,999 test):

- ``lr``: ``quality_models.fit_sklearn_lr`` as is, one-hot of the ``FieldEncoder`` codes,
  ``C`` from ``LR_GRID`` (the reference every difference is taken against);
- ``lr_c005``: the same with 0.05 added to the grid (the linear start's ``C``), tuned alike;
- ``lr_pairs``: one-hot of the codes plus every pair of categorical fields crossed, a
  cross seen fewer than 5 times (or unseen) in its pair's infrequent bucket;
- ``lightgbm_counts``: LightGBM on the raw ``I`` columns and, for each ``C`` column, the
  share of the training rows holding that value; leaves and trees tuned;
- ``catboost``: CatBoost on the raw columns (skipped when it is not installed);
- ``deepfm``: the default ``DeepFMClassifier(random_state=seed)`` on the codes.

The models are fitted in ``ceiling_models.py``. Every choice is made on the last 20% of
the training rows in time order (``quality_models.tuning_split``), then the model is
refitted on all training rows; the test rows are never looked at. Blends average the
logits of pairs and triples of the models other than DeepFM, and of DeepFM with each;
the weights are those of least log loss on the tuning rows, scored by the models fitted
on the first 80%, then applied to the refitted models. Reported for each: test AUC, log
loss, fit seconds (tuning included; a blend's is its members' sum), and AUC minus
``lr``'s with a 95% paired bootstrap interval over the test rows and the share of
resamples at or above +0.005.

Run ``python benchmarks/ceiling.py --threads 1`` (21 minutes on one core, 15 of them
CatBoost's; ``--models`` for a subset, ``--seeds`` for DeepFM) or ``--quick`` for a
smoke run of a few thousand rows, which writes to the system's temporary folder unless
``--out`` is given. Results: ``results/ceiling_criteo_110k.json`` and ``.md``.
"""

import argparse
import itertools
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from _common import DATA, RESULTS, add_run_arguments, machine, parse_sized, write_json
from ceiling_models import FITS, Fitted, fit_deepfm, load_rows, tuning_rows
from quality import paired_difference
from quality_models import LR_GRID, SEED
from scipy.special import expit, logit
from sklearn.metrics import log_loss, roc_auc_score
from threadpoolctl import threadpool_limits

DATA_FILE = DATA / "criteo_110k" / "criteo_110k.txt.gz"
MODELS = ("lr", "lr_c005", "lr_pairs", "lightgbm_counts", "catboost", "deepfm")
TARGET = 0.005  # the AUC gain over LR that the default DeepFM is asked for
FULL = dict(models=list(MODELS), seeds=1, bootstrap=1000, out=RESULTS, name="ceiling_criteo_110k")
QUICK = dict(
    models=[m for m in MODELS if m != "catboost"],
    seeds=1,
    bootstrap=100,
    out=Path(tempfile.gettempdir()) / "ceiling_quick",  # a smoke run leaves results/ alone
    name="ceiling_quick",
)
GRIDS = dict(  # and the rows: all
    rows=None,
    lr_c005_grid=tuple(sorted(LR_GRID + (0.05,))),
    pairs_grid=(0.002, 0.005, 0.01),
    leaves_grid=(15, 31, 63),
    max_trees=3000,
)
QUICK_GRIDS = dict(
    rows=(3000, 1000),  # the first training and the first test rows
    lr_c005_grid=(0.05,),
    pairs_grid=(0.005,),
    leaves_grid=(15,),
    max_trees=30,
)
BLEND_STEP = 0.05
SAME_MODEL = {"lr", "lr_c005"}  # never blended together: one model, two values of C


def timed(function):
    """Run ``function()``; return its ``Fitted`` with the wall time filled in."""
    began = time.perf_counter()
    fitted = function()
    fitted.seconds = time.perf_counter() - began
    return fitted


# the models --------------------------------------------------------------------------


def fit_model(name, rows, args):
    """``name``'s ``Fitted`` (``ceiling_models``); DeepFM's over ``args.seeds`` seeds."""
    if name != "deepfm":
        return timed(lambda: FITS[name](rows, args, SEED))
    runs = [fit_deepfm(rows, args, seed) for seed in range(args.seeds)]
    details = {"seeds": args.seeds, "epochs": [run.details["epochs"] for run in runs]}
    return Fitted(
        [run.test[0] for run in runs],
        [run.tune[0] for run in runs],
        float(np.mean([run.seconds for run in runs])),
        details,
    )


# blends ------------------------------------------------------------------------------


def blend_members(names):
    """Pairs and triples of the models but DeepFM, then DeepFM with each of them."""
    others = [name for name in names if name != "deepfm"]
    groups = [
        group
        for size in (2, 3)
        for group in itertools.combinations(others, size)
        if not SAME_MODEL <= set(group)
    ]
    if "deepfm" in names:
        groups += [("deepfm", name) for name in others]
    return groups


def weight_grid(k):
    """Every ``k`` non-negative weights, multiples of ``BLEND_STEP``, that sum to 1."""
    steps = int(round(1 / BLEND_STEP))
    return [
        np.array([*w, steps - sum(w)]) / steps
        for w in itertools.product(range(steps + 1), repeat=k - 1)
        if sum(w) <= steps
    ]


def blend(members, y_tune):
    """Logit average of ``members`` (``Fitted``), weighted for least tuning log loss.

    DeepFM's seeds are blended one by one, each with its own weights.
    """
    n_seeds = max(len(member.test) for member in members)

    def logits(probas, seed):
        return logit(np.clip(probas[min(seed, len(probas) - 1)], 1e-7, 1 - 1e-7))

    grid = weight_grid(len(members))
    test, tune, weights = [], [], []
    for seed in range(n_seeds):
        tunes = np.stack([logits(member.tune, seed) for member in members])
        w = min(grid, key=lambda w: log_loss(y_tune, expit(w @ tunes)))
        tests = np.stack([logits(member.test, seed) for member in members])
        test.append(expit(w @ tests))
        tune.append(expit(w @ tunes))
        weights.append([round(float(x), 2) for x in w])
    seconds = sum(member.seconds for member in members)
    return Fitted(test, tune, seconds, {"weights": weights if n_seeds > 1 else weights[0]})


# the bootstrap -----------------------------------------------------------------------


def minus_lr(y, fitted, n_resamples):
    """Each entry's mean AUC over seeds minus ``lr``'s: ``quality.paired_difference``.

    Every entry is scored on the same resamples, with the share of them at ``TARGET``.
    """
    (reference,) = fitted["lr"].test
    return {
        name: paired_difference(y, entry.test, reference, n_resamples, TARGET)
        for name, entry in fitted.items()
        if name != "lr"
    }


# report ------------------------------------------------------------------------------


def row_of(name, entry, y_test):
    aucs = [roc_auc_score(y_test, p) for p in entry.test]
    losses = [log_loss(y_test, p) for p in entry.test]
    return {
        "name": name,
        "auc": float(np.mean(aucs)),
        "log_loss": float(np.mean(losses)),
        "fit_seconds": entry.seconds,
        "details": entry.details,
    }


def cells(row):
    """The table's cells of ``row``: model, AUC, log loss, fit s, minus LR, share, details."""
    versus = row.get("minus_lr")
    difference = share = ""
    if versus:
        low, high = versus["ci95"]
        difference = f"{versus['difference']:+.4f} [{low:+.4f}, {high:+.4f}]"
        share = f"{100 * versus['share_at_target']:.0f}%"
    details = ", ".join(f"{k} {v}" for k, v in row["details"].items())
    fit = f"{row['fit_seconds']:.1f}"
    return (
        row["name"],
        f"{row['auc']:.4f}",
        f"{row['log_loss']:.4f}",
        fit,
        difference,
        share,
        details,
    )


def markdown(report):
    m = report["machine"]
    lines = [
        f"Data: criteo_110k ({report['n_train']:,} train and {report['n_test']:,} test rows; "
        f"{report['split']}). Every choice tuned on the last 20% of the training rows, then "
        "refitted on all; blends: logit averages, weights by log loss on the tuning rows. "
        f"Minus LR: AUC minus `lr`'s, 95% paired bootstrap interval over the test rows "
        f"({report['bootstrap']} resamples); share: of resamples at or above +{TARGET}."
        + (f" DeepFM: mean over seeds 0 to {report['seeds'] - 1}." if report["seeds"] > 1 else ""),
        "",
        "| model | AUC | log loss | fit (s) | minus LR [95%] | share >= +0.005 | settings |",
        "|---|---|---|---|---|---|---|",
    ]
    lines += ["| " + " | ".join(cells(row)) + " |" for row in report["results"]]
    lines += [
        "",
        f"Machine: {m['cores']} cores, {m['torch_threads']} thread(s), load average "
        f"{m['load_average_at_start'][0]:.1f} at start; sklearn-deepfm {m['sklearn_deepfm']}, "
        f"{m['date']}. Total {report['total_seconds']:.0f} s.",
    ]
    return "\n".join(lines) + "\n"


def print_row(row):
    name, auc, loss, fit, difference, share, details = cells(row)
    print(f"{name:<40} {auc:>7} {loss:>8} {fit:>6}  {difference:<27} {share:>5}  {details}")


# main --------------------------------------------------------------------------------


def parse(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", choices=MODELS, help="models (all; lr always)")
    parser.add_argument("--seeds", type=int, help="DeepFM's seeds, 0 to N-1 (1)")
    parser.add_argument("--bootstrap", type=int, metavar="N", help="resamples (1000; quick 100)")
    add_run_arguments(parser, FULL["name"])
    parser.set_defaults(out=None, name=None)  # unset: FULL's or QUICK's
    args = parse_sized(parser, argv, FULL, QUICK)
    vars(args).update(QUICK_GRIDS if args.quick else GRIDS)
    args.models = ["lr"] + [m for m in dict.fromkeys(args.models) if m != "lr"]
    return args


def main(argv=None):
    args = parse(argv)
    if not DATA_FILE.exists():
        print(f"{DATA_FILE} is absent: nothing to measure.")
        return None
    threads = args.threads or (1 if args.quick else None)
    if threads:  # on a machine shared with other jobs, fewer threads avoid stalls
        torch.set_num_threads(threads)
        threadpool_limits(threads)
    if "catboost" in args.models:
        try:
            import catboost  # noqa: F401
        except ImportError as error:
            print(f"catboost cannot be imported ({error}): skipping it.")
            args.models.remove("catboost")

    began = time.perf_counter()
    rows = load_rows(args.rows)
    print(f"criteo_110k: {len(rows.y_train):,} train / {len(rows.y_test):,} test rows")
    print(f"{'model':<40} {'AUC':>7} {'logloss':>8} {'fit s':>6}")
    fitted = {}
    for name in args.models:
        fitted[name] = fit_model(name, rows, args)
        print_row(row_of(name, fitted[name], rows.y_test))
    y_tune = tuning_rows(rows)[2]
    for group in blend_members(args.models):
        fitted[" + ".join(group)] = blend([fitted[name] for name in group], y_tune)

    versus = minus_lr(rows.y_test, fitted, args.bootstrap)
    report = {
        "data": "criteo_110k",
        "split": rows.split,
        "quick": args.quick,
        "seeds": args.seeds,
        "bootstrap": args.bootstrap,
        "target": TARGET,
        "n_train": len(rows.y_train),
        "n_test": len(rows.y_test),
        "machine": machine(),
        "results": [],
    }
    print(f"\nAUC minus lr's, 95% paired bootstrap ({args.bootstrap}); share >= +{TARGET}:")
    for name, entry in fitted.items():
        row = row_of(name, entry, rows.y_test)
        if name in versus:
            row["minus_lr"] = versus[name]
        report["results"].append(row)
        print_row(row)
    report["total_seconds"] = time.perf_counter() - began
    path = write_json(report, args.out, args.name)
    path.with_suffix(".md").write_text(markdown(report))
    print(f"total {report['total_seconds']:.0f} s; results in {path.with_suffix('')}.*")
    return report


if __name__ == "__main__":
    main()
