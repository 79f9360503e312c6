"""Quality of the DeepFM paper's model family on real CTR data, against LR and LightGBM.

Every model of the family (LR, FM, FNN, IPNN, OPNN, DNN, Wide & Deep, DeepFM) is
``DeepFMClassifier(model=..., random_state=seed)`` with the estimator's *default*
hyper-parameters (the JSON records them); ``deepfm_vote`` is scikit-learn's
``VotingClassifier`` over default DeepFMs of seeds 0 to 4; ``deepfm_tuned`` (not in the
default list) picks the embedding tables' Adam from ``DEEPFM_GRID`` per seed as the
references are tuned. The references take the same encoded training rows:
``LogisticRegression`` on the one-hot codes, ``C`` chosen by the log loss on the last 20%
of the training rows, then refitted on all; LightGBM (skipped when not installed), its
trees chosen by early stopping on the same 20%, then refitted (``quality_models.py``).

All models read the codes of one ``FieldEncoder`` fitted on the training rows; the data
sets and their splits are in ``quality_data.py``. ``--seeds N`` fits the family with
seeds 0 to N-1 and reports the mean and standard deviation; ``--bootstrap N`` (with
``sklearn_lr`` among the models) adds each model's AUC minus LR's with a 95% paired
bootstrap interval over the test rows; ``--set name=value`` runs the family with other
``DeepFMClassifier`` parameters. Fit time is wall time, tuning included.

Run ``python benchmarks/quality.py --data frappe --threads 1 --seeds 5`` or ``--quick``
for a smoke run. Results: ``results/<name>.json`` and ``.md`` (``--name``, by default
``quality_<data>``), the ROC curves in ``<name>_roc.png`` and the AUC bars in
``<name>_auc.png``.
"""

import argparse
import time
from pathlib import Path

import numpy as np
import torch
from _common import RESULTS, machine, parse_settings, write_json
from quality_data import LOADERS, MULTI_VALUED
from quality_models import (
    DEEP_MODELS,
    LABELS,
    QUICK,
    REFERENCES,
    SEED,
    TUNED,
    VOTES,
    fit,
    lightgbm_installed,
    seeds_of,
)
from sklearn.metrics import log_loss, roc_auc_score, roc_curve
from threadpoolctl import threadpool_limits

from sklearn_deepfm import DeepFMClassifier, FieldEncoder

DATASETS = tuple(LOADERS)


# data --------------------------------------------------------------------------------


def load(data, quick=False):
    """Return ``X_train, y_train, X_test, y_test``, the categorical columns and the split."""
    if data not in LOADERS:
        raise ValueError(f"data must be one of {DATASETS}. Got {data!r}.")
    X_train, y_train, X_test, y_test, categorical, split = LOADERS[data]()
    if quick:
        X_train, y_train = X_train.iloc[: QUICK["train_rows"]], y_train[: QUICK["train_rows"]]
        X_test, y_test = X_test.iloc[: QUICK["test_rows"]], y_test[: QUICK["test_rows"]]
        split += f"; quick: first {len(X_train)} train and {len(X_test)} test rows"
    return X_train, np.asarray(y_train), X_test, np.asarray(y_test), categorical, split


def encode(X_train, X_test, categorical, multi_valued=None):
    """Return the ``FieldEncoder`` codes of both splits, the encoder fitted on the first."""
    categorical = [c for c in categorical if c not in (multi_valued or {})]
    encoder = FieldEncoder(categorical_features=categorical, multi_valued=multi_valued)
    encoder.fit(X_train)
    return encoder.transform(X_train), encoder.transform(X_test)


# evaluation and report ---------------------------------------------------------------


def evaluate(name, train, test, categorical, args):
    """Fit ``name`` once per seed; return its table row and the first seed's ROC curve."""
    (codes_train, y_train), (codes_test, y_test) = train, test
    runs, first, settings, probas = [], None, [], []
    for seed in seeds_of(name, args.seeds):
        began = time.perf_counter()
        predict_proba, details = fit(
            name, codes_train, y_train, categorical, args.quick, seed, args.settings
        )
        seconds = time.perf_counter() - began
        proba = predict_proba(codes_test)[:, 1]
        probas.append(proba)
        runs.append((roc_auc_score(y_test, proba), log_loss(y_test, proba), seconds))
        settings.append(details.get("setting"))
        if first is None:
            first = details, roc_curve(y_test, proba)[:2]
    aucs, losses, times = (np.array(column) for column in zip(*runs, strict=True))
    details, curve = first
    if len(runs) > 1:
        details = {
            "seeds": len(runs),
            "AUC sd": round(float(aucs.std()), 4),
            "log loss sd": round(float(losses.std()), 4),
            "epochs of seed 0": details["epochs"],
            "batch": details["batch"],
            "batch norm": details["batch norm"],
        }
        if any(settings):
            details["settings"] = settings
    row = {
        "model": name,
        "label": LABELS[name],
        "auc": float(aucs.mean()),
        "log_loss": float(losses.mean()),
        "fit_seconds": float(times.mean()),
        "details": details,
        "runs": [{"auc": auc, "log_loss": loss} for auc, loss, _ in runs],
    }
    return row, curve, probas


class ResampledAUC:
    """The AUC of fixed scores on any resample of the rows, given as row counts.

    Sorting once and summing the counts by tied score makes a resample cost two
    ``bincount`` calls instead of a sort: the same as ``roc_auc_score`` on the resampled
    rows, about twenty times faster.
    """

    def __init__(self, y, proba):
        self.order = np.argsort(proba, kind="stable")
        ordered = proba[self.order]
        self.tie = np.concatenate([[0], np.cumsum(ordered[1:] != ordered[:-1])])
        self.positive = y[self.order].astype(bool)

    def __call__(self, counts):
        counts = counts[self.order]
        size = self.tie[-1] + 1
        positives = np.bincount(self.tie, counts * self.positive, size)
        negatives = np.bincount(self.tie, counts * ~self.positive, size)
        below = np.cumsum(negatives) - negatives
        return positives @ (below + 0.5 * negatives) / (positives.sum() * negatives.sum())


def paired_difference(y, probas, reference, n_resamples, target=None):
    """Mean test AUC of ``probas`` (one per seed) minus ``reference``'s, with a 95% interval.

    The interval is a paired bootstrap: each resample of the test rows scores both
    sides, so it measures the test set's noise in the difference, which the seeds'
    spread leaves out. The resamples depend only on the seed and ``len(y)``, so every
    call on the same rows draws the same ones. With ``target``, the result also holds
    the share of resamples whose difference is at or above it.
    """
    ours = [ResampledAUC(y, proba) for proba in probas]
    theirs = ResampledAUC(y, reference)

    def difference(counts):
        return np.mean([auc(counts) for auc in ours]) - theirs(counts)

    rng = np.random.default_rng(SEED)
    sample = []
    for _ in range(n_resamples):
        counts = np.bincount(rng.integers(0, len(y), len(y)), minlength=len(y))
        if 0 < counts @ y < len(y):  # both classes, or no AUC
            sample.append(difference(counts))
    low, high = np.percentile(sample, [2.5, 97.5])
    result = {
        "difference": float(difference(np.ones(len(y)))),
        "ci95": [float(low), float(high)],
        "resamples": len(sample),
    }
    if target is not None:
        result["share_at_target"] = float(np.mean(np.asarray(sample) >= target))
    return result


def minus_lr_text(row):
    low, high = row["minus_lr"]["ci95"]
    return f"{row['minus_lr']['difference']:+.4f} [{low:+.4f}, {high:+.4f}]"


def markdown(report):
    defaults = ", ".join(f"{k}={v!r}" for k, v in report["deepfm_defaults"].items())
    machine = report["machine"]
    lines = [
        f"Data: {report['data']} ({report['n_train']:,} train and {report['n_test']:,} test "
        f"rows, {report['n_fields']} fields; {report['split']}); test positive rate "
        f"{report['test_positive_rate']:.3f}, constant-prior log loss "
        f"{report['prior_log_loss']:.4f}."
        + (
            f" Models of the family: mean over seeds 0 to {report['seeds'] - 1} (AUC, log loss, "
            "fit time); references and the vote: one run."
            if report["seeds"] > 1
            else ""
        ),
        "",
        "| model | AUC | log loss | fit (s) | notes |",
        "|---|---|---|---|---|",
    ]
    for row in report["results"]:
        notes = ", ".join(f"{k} {v}" for k, v in row["details"].items())
        lines.append(
            f"| {row['label']} | {row['auc']:.4f} | {row['log_loss']:.4f} | "
            f"{row['fit_seconds']:.1f} | {notes} |"
        )
    compared = [row for row in report["results"] if "minus_lr" in row]
    if compared:
        resamples = compared[0]["minus_lr"]["resamples"]
        lines += ["", f"AUC minus LR's, 95% paired bootstrap interval ({resamples} resamples):", ""]
        lines += [f"- {row['label']}: {minus_lr_text(row)}" for row in compared]
    lines += [
        "",
        f"DeepFMClassifier defaults used: {defaults}.",
        f"Machine: {machine['cores']} CPU cores (threads used: {machine['torch_threads']}, "
        f"load average {machine['load_average_at_start'][0]:.1f} at start), "
        f"{machine['gpu'] or 'no GPU'}; torch {machine['torch']}. "
        f"Total run time {report['total_seconds']:.0f} s.",
    ]
    return "\n".join(lines) + "\n"


def plot(report, curves, out, stem):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 5.5))
    for row in report["results"]:
        fpr, tpr = curves[row["model"]]
        ax.plot(fpr, tpr, lw=1.2, label=f"{row['label']} ({row['auc']:.4f})")
    ax.plot([0, 1], [0, 1], color="grey", lw=0.8, ls=":")
    ax.set(xlabel="false positive rate", ylabel="true positive rate")
    ax.set_title(f"ROC on the {report['data']} test split")
    ax.legend(loc="lower right", fontsize=8, title="model (AUC)")
    fig.tight_layout()
    fig.savefig(out / f"{stem}_roc.png", dpi=120)
    plt.close(fig)

    rows = report["results"]
    aucs = [row["auc"] for row in rows]
    fig, ax = plt.subplots(figsize=(7, 0.35 * len(rows) + 1.5))
    ours = DEEP_MODELS + VOTES + TUNED
    colors = ["tab:blue" if row["model"] in ours else "tab:orange" for row in rows]
    ax.barh([row["label"] for row in rows], aucs, color=colors)
    low, high = min(aucs), max(aucs)
    margin = max(0.01, (high - low) * 0.15)
    ax.set_xlim(max(0.0, low - margin), min(1.0, high + margin))
    for i, auc in enumerate(aucs):
        ax.text(auc, i, f" {auc:.4f}", va="center", fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("test AUC (axis cut)")
    ax.set_title(
        f"Test AUC on {report['data']}\nblue: DeepFMClassifier(model=...), orange: references",
        fontsize=10,
    )
    fig.tight_layout()
    fig.savefig(out / f"{stem}_auc.png", dpi=120)
    plt.close(fig)


# main ---------------------------------------------------------------------------------


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", choices=DATASETS, default="frappe", help="data set (frappe)")
    parser.add_argument(
        "--models",
        nargs="+",
        choices=DEEP_MODELS + VOTES + TUNED + REFERENCES,
        help="models to run (all but deepfm_tuned)",
    )
    parser.add_argument("--quick", action="store_true", help="small smoke run of a few seconds")
    parser.add_argument("--out", type=Path, default=RESULTS, help="output folder")
    parser.add_argument(
        "--threads", type=int, help="CPU threads of torch, BLAS and LightGBM (all cores)"
    )
    parser.add_argument(
        "--seeds",
        type=int,
        default=1,
        help="seeds of each model of the family, reported as mean and sd (1)",
    )
    parser.add_argument(
        "--set",
        nargs="*",
        default=[],
        metavar="NAME=VALUE",
        help="DeepFMClassifier parameters over the defaults, e.g. batch_size=1024",
    )
    parser.add_argument(
        "--bootstrap",
        type=int,
        default=0,
        metavar="N",
        help="with sklearn_lr among the models: each model's AUC minus LR's, with a 95%% "
        "paired bootstrap interval over N resamples of the test rows (0: off)",
    )
    parser.add_argument("--name", help="results file stem (quality_<data>)")
    args = parser.parse_args(argv)
    args.settings = parse_settings(args.set)
    if args.threads:  # on a machine shared with other jobs, fewer threads avoid stalls
        torch.set_num_threads(args.threads)
        threadpool_limits(args.threads)

    start = time.perf_counter()
    X_train, y_train, X_test, y_test, categorical, split = load(args.data, args.quick)
    codes_train, codes_test = encode(X_train, X_test, categorical)
    train, test = (codes_train, y_train), (codes_test, y_test)
    family = train, test  # the codes of the DeepFM family, lists as multi-valued fields
    if args.data in MULTI_VALUED:
        family_train, family_test = encode(X_train, X_test, categorical, MULTI_VALUED[args.data])
        family = (family_train, y_train), (family_test, y_test)
    categorical_positions = [list(X_train.columns).index(c) for c in categorical]

    names = list(args.models or DEEP_MODELS + VOTES + REFERENCES)
    if "lightgbm" in names and not lightgbm_installed():
        print("lightgbm is not installed: skipping it.")
        names.remove("lightgbm")
    prior = np.full(len(y_test), y_train.mean())
    report = {
        "data": args.data,
        "split": split,
        "quick": args.quick,
        "seeds": args.seeds,
        "n_train": len(y_train),
        "n_test": len(y_test),
        "n_fields": codes_train.shape[1],
        "test_positive_rate": float(y_test.mean()),
        "prior_log_loss": log_loss(y_test, prior),
        "deepfm_defaults": {
            k: v
            for k, v in DeepFMClassifier(**args.settings).get_params().items()
            if k not in ("model", "random_state", "verbose", "device")
        },
        "machine": machine(),
        "results": [],
    }
    curves, probas = {}, {}
    print(f"{args.data}: {len(y_train):,} train / {len(y_test):,} test rows; {split}")
    print(f"{'model':<36} {'AUC':>7} {'logloss':>8} {'fit s':>7}  notes")
    for name in names:
        codes = (train, test) if name in REFERENCES else family
        row, curves[name], probas[name] = evaluate(name, *codes, categorical_positions, args)
        report["results"].append(row)
        notes = ", ".join(f"{k} {v}" for k, v in row["details"].items())
        print(
            f"{row['label']:<36} {row['auc']:7.4f} {row['log_loss']:8.4f} "
            f"{row['fit_seconds']:7.1f}  {notes}"
        )
    if args.bootstrap and "sklearn_lr" in probas:
        (reference,) = probas["sklearn_lr"]
        print(f"AUC minus LR's, 95% paired bootstrap over the test rows ({args.bootstrap}):")
        for row in report["results"]:
            if row["model"] != "sklearn_lr":
                row["minus_lr"] = paired_difference(
                    y_test, probas[row["model"]], reference, args.bootstrap
                )
                print(f"{row['label']:<36} {minus_lr_text(row)}")
    report["total_seconds"] = time.perf_counter() - start

    stem = args.name or f"quality_{args.data}"
    write_json(report, args.out, stem)
    (args.out / f"{stem}.md").write_text(markdown(report))
    plot(report, curves, args.out, stem)
    print(f"total {report['total_seconds']:.0f} s; results in {args.out}/{stem}.*")
    return report


if __name__ == "__main__":
    main()
