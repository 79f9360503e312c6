"""Quality of the DeepFM paper's model family on real CTR data, against LR and LightGBM (issue 3).

Every model of the family (LR, FM, FNN, IPNN, OPNN, DNN, Wide & Deep, DeepFM) is
``DeepFMClassifier(model=..., random_state=0)`` with the estimator's *default*
hyper-parameters, so a re-run measures the current defaults (the JSON records them).
One more row is the README's recipe for the last points of AUC: scikit-learn's
``VotingClassifier`` averaging the probabilities of default DeepFMs of seeds 0 to 4.
Two references take the same encoded training rows:

- scikit-learn's ``LogisticRegression`` on the one-hot encoded field codes, its ``C``
  chosen from a small grid by the log loss on the last 20% of the training rows, then
  refitted on all of them;
- LightGBM (skipped when not installed), the practitioner's alternative, on the field
  codes (categorical fields as categorical features, binned numeric fields as ordered
  numbers), its number of trees chosen by early stopping on the same 20%, then refitted.

All models see the same ``FieldEncoder`` codes (defaults; every Frappe and Avazu column
and Criteo's ``C1..C26`` named categorical), but for MovieLens' genres, which the family
reads as a multi-valued field and the references as one category (``quality_data``'s
``MULTI_VALUED``). Data sets (``--data``):

``frappe``
    ``../shared/data/frappe/frappe.train.libfm`` (57,722 rows, 10 fields), a random
    2/3 train and 1/3 test split (seed 0).
``criteo``
    ``criteo_8k`` (the first 8,000 rows of Criteo's Kaggle ``train.txt``, time-ordered):
    the first 6,400 rows train, the last 1,600 test.
``avazu``
    ``avazu_9k`` (the first 8,999 rows of Avazu's Kaggle ``train``): the first 7,199 rows
    train, the last 1,800 test; ``id`` and the constant ``hour`` are dropped, the other
    21 columns are categorical.
``frappe_260k``
    ``frappe_202k`` (NFM's train split, rebuilt) trains, ``frappe`` (57,722 rows) tests.
``movielens``
    MovieLens 100K, rating >= 4 as the click, ``movielens.py``'s joined fields (user,
    item, gender, occupation, zip and genres categorical; genres multi-valued for the
    family), a random 80/20 split.
``talkingdata``
    ``talkingdata_100k`` (227 downloads in 100,000 clicks): ip, app, device, os and
    channel categorical, the hour of ``click_time`` binned; a stratified 2/3-1/3 split.
``synthetic``
    ``make_ctr_classification`` (6,000 rows), 2/3 train and 1/3 test, for smoke runs.

``--models deepfm_tuned`` (not in the default list) tunes DeepFM the way the references
are tuned: per seed, the ``DEEPFM_GRID`` setting of the embedding tables' Adam with the
least log loss on the last 20% of the training rows, then refitted on all of them (a
tuning row's code that the rows before never held reads an untrained, near-zero row, or
code 0 when it lies beyond the fitted cardinality); ``settings`` lists the choice of each seed.

``--bootstrap 1000`` (with ``sklearn_lr`` among the models) adds each model's AUC minus
LR's with a 95% paired bootstrap interval over the test rows: the seeds' spread leaves
out the noise of a test set of a few thousand rows, which these intervals measure.

``--set batch_size=1024`` (any ``DeepFMClassifier`` parameter) runs the family with
other settings, e.g. the defaults before issue 13; ``--name`` names the result files.

``--seeds N`` fits every model of the family with seeds 0 to N-1 and reports the mean
and standard deviation: with one seed, AUC differences below about 0.005 are noise.
Fit time is wall time on the machine that ran it, tuning of the references and FNN's FM
pre-training included; on a machine shared with other jobs, ``--threads 1`` keeps
multi-threaded kernels from stalling on busy cores (the JSON records the load average).
Run ``python benchmarks/quality.py --data frappe`` (all models; ``--models deepfm fm`` for
a subset) or ``--quick`` for a smoke run of a few seconds.
Results go to ``benchmarks/results/quality_<data>.json`` and ``.md``, the ROC curves to
``quality_<data>_roc.png`` and the AUC bar chart to ``quality_<data>_auc.png``.
"""

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import sklearn
import torch
from sklearn.ensemble import VotingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss, roc_auc_score, roc_curve
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder
from threadpoolctl import threadpool_limits

import sklearn_deepfm
from sklearn_deepfm import DeepFMClassifier, FieldEncoder

# the data loaders beside this file, also when a test loads it by path
sys.path.insert(0, str(Path(__file__).resolve().parent))
from movielens import parse_settings  # noqa: E402
from quality_data import LOADERS, MULTI_VALUED  # noqa: E402

RESULTS = Path(__file__).parent / "results"
DATASETS = tuple(LOADERS)
# The DeepFM paper's table order.
DEEP_MODELS = ("lr", "fm", "fnn", "ipnn", "opnn", "dnn", "wide_deep", "deepfm")
# DeepFMClassifiers combined, already over seeds: fitted once however many --seeds.
VOTES = ("deepfm_vote",)
# DeepFM tuned like the references: per seed, a grid on the last training rows, refitted.
TUNED = ("deepfm_tuned",)
REFERENCES = ("sklearn_lr", "lightgbm")
VOTE_SEEDS = 5
LABELS = {
    "lr": "LR",
    "fm": "FM",
    "fnn": "FNN",
    "ipnn": "IPNN",
    "opnn": "OPNN",
    "dnn": "DNN",
    "wide_deep": "Wide & Deep (LR & DNN)",
    "deepfm": "DeepFM",
    "deepfm_vote": f"DeepFM, soft vote of {VOTE_SEEDS} seeds",
    "deepfm_tuned": "DeepFM, embedding optimizer tuned",
    "sklearn_lr": "sklearn LogisticRegression, one-hot",
    "lightgbm": "LightGBM",
}
SEED = 0
SETTINGS = {}  # --set: DeepFMClassifier parameters over the defaults, for a comparison
TUNING_FRACTION = 0.2  # the last training rows, to tune the references
LR_GRID = (0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0)
# The embedding tables' Adam, which the small slices pull opposite ways (issue 13):
# Criteo gains from damping rare codes, Avazu from faster tables.
DEEPFM_GRID = ({}, {"embedding_epsilon": 1e-3}, {"embedding_learning_rate": 3e-3})
LIGHTGBM = dict(objective="binary", learning_rate=0.05)  # other parameters: the defaults
MAX_TREES, EARLY_STOPPING_ROUNDS = 2000, 50
QUICK = dict(train_rows=600, test_rows=400, max_epochs=1, lr_grid=(0.1,), trees=10)


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


# models ------------------------------------------------------------------------------


def fit_deep(model, codes, y, quick, seed=SEED):
    """A ``DeepFMClassifier`` of the family with the default hyper-parameters."""
    clf = DeepFMClassifier(model=model, random_state=seed, **SETTINGS)
    if quick:
        clf.set_params(max_epochs=QUICK["max_epochs"])
    clf.fit(codes, y)
    details = {"epochs": clf.n_iter_, "batch": clf.batch_size_, "batch norm": clf.batch_norm_}
    return clf.predict_proba, details


def fit_deep_vote(codes, y, quick):
    """The README's recipe: default DeepFMs of seeds 0, 1, ..., probabilities averaged."""
    members = [
        (f"seed{seed}", DeepFMClassifier(random_state=seed, **SETTINGS))
        for seed in range(VOTE_SEEDS)
    ]
    vote = VotingClassifier(members, voting="soft")
    if quick:
        vote.set_params(**{f"{name}__max_epochs": QUICK["max_epochs"] for name, _ in members})
    vote.fit(codes, y)
    return vote.predict_proba, {"epochs": [clf.n_iter_ for clf in vote.estimators_]}


def fit_deep_tuned(codes, y, quick, seed):
    """DeepFM with the ``DEEPFM_GRID`` setting of least log loss on the tuning rows, refitted."""

    def make(setting):
        clf = DeepFMClassifier(random_state=seed, **SETTINGS, **setting)
        return clf.set_params(max_epochs=QUICK["max_epochs"]) if quick else clf

    fit_rows, tune_rows = tuning_split(len(y))
    losses = []
    for setting in DEEPFM_GRID:
        model = make(setting).fit(codes[fit_rows], y[fit_rows])
        proba = model.predict_proba(unseen_to_unknown(model, codes[tune_rows]))[:, 1]
        losses.append(log_loss(y[tune_rows], proba))
    best = DEEPFM_GRID[int(np.argmin(losses))]
    clf = make(best).fit(codes, y)
    details = {"epochs": clf.n_iter_, "batch": clf.batch_size_, "batch norm": clf.batch_norm_}
    return clf.predict_proba, {**details, "setting": best or "defaults"}


def unseen_to_unknown(model, codes):
    """Map codes beyond those ``model`` was fitted on to 0, the encoder's unknown code.

    The encoder was fitted on all training rows, so the tuning rows hold codes that the
    rows before them lack (LR's one-hot encoder ignores them likewise).
    """
    if isinstance(codes, pd.DataFrame):
        return codes.where(codes < model.cardinalities_, 0)
    return np.where(codes < model.cardinalities_, codes, 0)


def tuning_split(n):
    """Rows fitted and rows scored when tuning a reference: the last 20% score."""
    cut = int(round(n * (1 - TUNING_FRACTION)))
    return slice(None, cut), slice(cut, None)


def fit_sklearn_lr(codes, y, quick):
    """One-hot ``LogisticRegression``, ``C`` tuned on the last training rows, refitted."""

    def make(C):
        return make_pipeline(
            OneHotEncoder(handle_unknown="ignore"), LogisticRegression(C=C, max_iter=2000)
        )

    fit_rows, tune_rows = tuning_split(len(y))
    losses = {}
    for C in QUICK["lr_grid"] if quick else LR_GRID:
        model = make(C).fit(codes[fit_rows], y[fit_rows])
        losses[C] = log_loss(y[tune_rows], model.predict_proba(codes[tune_rows])[:, 1])
    best = min(losses, key=losses.get)
    return make(best).fit(codes, y).predict_proba, {"C": best}


def fit_lightgbm(codes, y, categorical, quick):
    """LightGBM on the codes, trees chosen by early stopping on the last rows, refitted."""
    import lightgbm

    params = dict(LIGHTGBM, seed=SEED, num_threads=torch.get_num_threads(), verbose=-1)
    max_trees = QUICK["trees"] if quick else MAX_TREES
    fit_rows, tune_rows = tuning_split(len(y))
    train = lightgbm.Dataset(codes[fit_rows], y[fit_rows], categorical_feature=categorical)
    booster = lightgbm.train(
        params,
        train,
        num_boost_round=max_trees,
        valid_sets=[lightgbm.Dataset(codes[tune_rows], y[tune_rows], reference=train)],
        callbacks=[lightgbm.early_stopping(EARLY_STOPPING_ROUNDS, verbose=False)],
    )
    trees = booster.best_iteration or max_trees
    everything = lightgbm.Dataset(codes, y, categorical_feature=categorical)
    final = lightgbm.train(params, everything, num_boost_round=trees)

    def predict_proba(codes):
        positive = final.predict(codes)
        return np.column_stack([1 - positive, positive])

    return predict_proba, {"trees": trees}


def fit(name, codes, y, categorical, quick, seed=SEED):
    if name == "sklearn_lr":
        return fit_sklearn_lr(codes, y, quick)
    if name == "lightgbm":
        return fit_lightgbm(codes, y, categorical, quick)
    if name == "deepfm_vote":
        return fit_deep_vote(codes, y, quick)
    if name == "deepfm_tuned":
        return fit_deep_tuned(codes, y, quick, seed)
    return fit_deep(name, codes, y, quick, seed)


def seeds_of(name, n_seeds):
    """The references and the vote (already over seeds) run once, the family n_seeds times."""
    return range(n_seeds) if name in DEEP_MODELS + TUNED else [SEED]


def evaluate(name, train, test, categorical, args):
    """Fit ``name`` once per seed; return its table row and the first seed's ROC curve."""
    (codes_train, y_train), (codes_test, y_test) = train, test
    runs, first, settings, probas = [], None, [], []
    for seed in seeds_of(name, args.seeds):
        began = time.perf_counter()
        predict_proba, details = fit(name, codes_train, y_train, categorical, args.quick, seed)
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


def paired_difference(y, probas, reference, n_resamples):
    """Mean test AUC of ``probas`` (one per seed) minus ``reference``'s, with a 95% interval.

    The interval is a paired bootstrap: each resample of the test rows scores both
    sides, so it measures the test set's noise in the difference, which the seeds'
    spread leaves out.
    """
    rng = np.random.default_rng(SEED)
    resamples = (rng.integers(0, len(y), len(y)) for _ in range(n_resamples))
    resamples = [rows for rows in resamples if 0 < y[rows].sum() < len(rows)]  # both classes

    def difference(rows):
        ours = np.mean([roc_auc_score(y[rows], proba[rows]) for proba in probas])
        return ours - roc_auc_score(y[rows], reference[rows])

    low, high = np.percentile([difference(rows) for rows in resamples], [2.5, 97.5])
    every = np.arange(len(y))
    return {"difference": difference(every), "ci95": [low, high], "resamples": len(resamples)}


def minus_lr_text(row):
    low, high = row["minus_lr"]["ci95"]
    return f"{row['minus_lr']['difference']:+.4f} [{low:+.4f}, {high:+.4f}]"


def lightgbm_installed():
    try:
        import lightgbm  # noqa: F401
    except ImportError:
        return False
    return True


# report ------------------------------------------------------------------------------


def machine():
    return {
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "load_average_at_start": os.getloadavg()[0],  # other processes sharing the CPUs
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "sklearn": sklearn.__version__,
        "sklearn_deepfm": sklearn_deepfm.__version__,
    }


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
        f"Machine: {machine['cpu_count']} CPU cores (threads used: {machine['torch_threads']}, "
        f"load average {machine['load_average_at_start']:.1f} at start), "
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


# main --------------------------------------------------------------------------------


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
    SETTINGS.clear()
    SETTINGS.update(parse_settings(args.set))
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
            for k, v in DeepFMClassifier(**SETTINGS).get_params().items()
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

    args.out.mkdir(parents=True, exist_ok=True)
    stem = args.name or f"quality_{args.data}"
    (args.out / f"{stem}.json").write_text(json.dumps(report, indent=2, default=str) + "\n")
    (args.out / f"{stem}.md").write_text(markdown(report))
    plot(report, curves, args.out, stem)
    print(f"total {report['total_seconds']:.0f} s; results in {args.out}/{stem}.*")
    return report


if __name__ == "__main__":
    main()
