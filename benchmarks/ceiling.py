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

Every choice is made on the last 20% of the training rows in time order
(``quality_models.tuning_split``), then the model is refitted on all training rows; the
test rows are never looked at. Blends average the logits of pairs and triples of the
models other than DeepFM, and of DeepFM with each; the weights are those of least log
loss on the tuning rows, scored by the models fitted on the first 80%, then applied to
the refitted models. Reported for each: test AUC, log loss, fit seconds (tuning
included; a blend's is its members' sum), and AUC minus ``lr``'s with a 95% paired
bootstrap interval over the test rows and the share of resamples at or above +0.005.

Run ``python benchmarks/ceiling.py --threads 1`` (21 minutes on one core, 15 of them
CatBoost's; ``--models`` for a subset, ``--seeds`` for DeepFM) or ``--quick`` for a
smoke run of a few thousand rows, which writes to the system's temporary folder unless
``--out`` is given. Results: ``results/ceiling_criteo_110k.json`` and ``.md``.
"""

import argparse
import itertools
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from _common import DATA, RESULTS, add_run_arguments, machine, parse_sized, write_json
from quality import encode, load
from quality_models import LR_GRID, SEED, fit_sklearn_lr, tuning_split, unseen_to_unknown
from scipy.special import expit, logit
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss, roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder
from threadpoolctl import threadpool_limits

from sklearn_deepfm import DeepFMClassifier

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
LIGHTGBM = dict(  # the helper study's settings: a little regularised for 70k rows
    objective="binary",
    learning_rate=0.05,
    min_data_in_leaf=100,
    feature_fraction=0.8,
    bagging_fraction=0.8,
    bagging_freq=1,
    seed=SEED,
    verbose=-1,
)
CATBOOST = dict(learning_rate=0.05, depth=6, random_seed=SEED, loss_function="Logloss")
# The trees chosen by early stopping on 80% of the rows, scaled up for the refit on all:
# a heuristic for the 25% more rows, which support a longer boosting run.
MORE_TREES = 1.1
PAIR_MIN_FREQUENCY = 5
BLEND_STEP = 0.05
SAME_MODEL = {"lr", "lr_c005"}  # never blended together: one model, two values of C


@dataclass
class Rows:
    """The split, as codes (for LR and DeepFM) and raw columns (for the boosted trees)."""

    X_train: pd.DataFrame
    X_test: pd.DataFrame
    codes_train: np.ndarray
    codes_test: np.ndarray
    y_train: np.ndarray
    y_test: np.ndarray
    categorical: list  # names of the categorical columns
    split: str

    @property
    def categorical_positions(self):
        return [list(self.X_train.columns).index(c) for c in self.categorical]


@dataclass
class Fitted:
    """A model's or a blend's probabilities, one array per seed, and how it was fitted."""

    test: list
    tune: list  # on the tuning rows, by the same choice fitted on the first 80%
    seconds: float
    details: dict


# data --------------------------------------------------------------------------------


def load_rows(quick_rows):
    X_train, y_train, X_test, y_test, categorical, split = load("criteo_110k")
    if quick_rows:
        n_train, n_test = quick_rows
        X_train, y_train = X_train.iloc[:n_train], y_train[:n_train]
        X_test, y_test = X_test.iloc[:n_test], y_test[:n_test]
        split += f"; quick: first {n_train:,} train and {n_test:,} test rows"
    codes_train, codes_test = encode(X_train, X_test, categorical)
    return Rows(X_train, X_test, codes_train, codes_test, y_train, y_test, categorical, split)


def tuning_rows(rows):
    """The rows fitted and the rows scored when tuning, and the scored rows' labels."""
    fit_rows, tune_rows = tuning_split(len(rows.y_train))
    return fit_rows, tune_rows, rows.y_train[tune_rows]


def pick(grid, fit_and_score, y_tune):
    """The setting of ``grid`` of least tuning log loss, its tuning probabilities and extra.

    ``fit_and_score(setting)`` fits on the first 80% of the training rows and returns the
    probabilities of the tuning rows and anything the refit needs (a number of trees).
    """
    best = None
    for setting in grid:
        proba, extra = fit_and_score(setting)
        loss = log_loss(y_tune, proba)
        if best is None or loss < best[0]:
            best = loss, setting, proba, extra
    return best[1:]


def timed(function):
    """Run ``function()``; return its ``Fitted`` with the wall time filled in."""
    began = time.perf_counter()
    fitted = function()
    fitted.seconds = time.perf_counter() - began
    return fitted


# the models --------------------------------------------------------------------------


def one_hot_lr(C):
    """``quality_models.fit_sklearn_lr``'s pipeline."""
    return make_pipeline(
        OneHotEncoder(handle_unknown="ignore"), LogisticRegression(C=C, max_iter=2000)
    )


def fit_lr(rows, args, seed):
    predict_proba, details = fit_sklearn_lr(rows.codes_train, rows.y_train, args.quick)
    # fit_sklearn_lr keeps only the refit: fit its C again for the tuning rows' scores
    fit_rows, tune_rows, _ = tuning_rows(rows)
    model = one_hot_lr(details["C"]).fit(rows.codes_train[fit_rows], rows.y_train[fit_rows])
    tune = model.predict_proba(rows.codes_train[tune_rows])[:, 1]
    return Fitted([predict_proba(rows.codes_test)[:, 1]], [tune], 0.0, details)


def fit_lr_c005(rows, args, seed):
    return fit_linear(rows, one_hot_lr, args.lr_c005_grid)


def pairs_lr(n_fields, categorical_positions):
    """One-hot of the codes and of every categorical pair crossed, then liblinear's LR."""
    pairs = list(itertools.combinations(categorical_positions, 2))

    def with_pairs(codes):
        codes = np.asarray(codes, dtype=np.int64)  # codes < 2**31: a cross fits in 64 bits
        return np.column_stack([codes] + [codes[:, a] << 32 | codes[:, b] for a, b in pairs])

    def make(C):
        one_hot = ColumnTransformer(
            [
                ("codes", OneHotEncoder(handle_unknown="ignore"), slice(0, n_fields)),
                (
                    "pairs",
                    OneHotEncoder(
                        min_frequency=PAIR_MIN_FREQUENCY,
                        handle_unknown="infrequent_if_exist",  # unseen: the rare bucket
                    ),
                    slice(n_fields, None),
                ),
            ]
        )
        # liblinear: lbfgs converges slowly on 10^6 sparse columns
        lr = LogisticRegression(C=C, solver="liblinear", max_iter=1000, random_state=SEED)
        return make_pipeline(FunctionTransformer(with_pairs), one_hot, lr)

    return make, len(pairs)


def fit_lr_pairs(rows, args, seed):
    make, n_pairs = pairs_lr(rows.codes_train.shape[1], rows.categorical_positions)
    fitted = fit_linear(rows, make, args.pairs_grid)
    fitted.details["pairs"] = n_pairs
    return fitted


def fit_linear(rows, make, grid):
    """``make(C)`` with ``C`` tuned on ``grid``, refitted on all the training rows."""
    fit_rows, tune_rows, y_tune = tuning_rows(rows)
    codes, y = rows.codes_train, rows.y_train

    def fit_and_score(C):
        model = make(C).fit(codes[fit_rows], y[fit_rows])
        return model.predict_proba(codes[tune_rows])[:, 1], None

    C, tune, _ = pick(grid, fit_and_score, y_tune)
    test = make(C).fit(codes, y).predict_proba(rows.codes_test)[:, 1]
    return Fitted([test], [tune], 0.0, {"C": C})


def counts(reference, frame, categorical):
    """The numbers as they are and each category as its share of ``reference``'s rows.

    A missing value is a category of its own; a value ``reference`` lacks has share 0.
    """
    features = frame.drop(columns=categorical).astype(float)
    for column in categorical:
        share = reference[column].fillna("").value_counts(normalize=True)
        features[column] = frame[column].fillna("").map(share).astype(float).fillna(0.0)
    return features


def fit_lightgbm_counts(rows, args, seed):
    import lightgbm

    fit_rows, tune_rows, y_tune = tuning_rows(rows)
    X, y = rows.X_train, rows.y_train
    params = dict(LIGHTGBM, num_threads=torch.get_num_threads())
    fit_part = X.iloc[fit_rows]  # the shares of the tuning fits: from these rows only
    tune_features = counts(fit_part, X.iloc[tune_rows], rows.categorical)
    train = lightgbm.Dataset(counts(fit_part, fit_part, rows.categorical), y[fit_rows])

    def fit_and_score(leaves):
        booster = lightgbm.train(
            dict(params, num_leaves=leaves),
            train,
            num_boost_round=args.max_trees,
            valid_sets=[lightgbm.Dataset(tune_features, y_tune, reference=train)],
            callbacks=[lightgbm.early_stopping(100, verbose=False)],
        )
        trees = booster.best_iteration or args.max_trees
        return booster.predict(tune_features, num_iteration=trees), trees

    leaves, tune, best = pick(args.leaves_grid, fit_and_score, y_tune)
    trees = int(round(best * MORE_TREES))
    everything = lightgbm.Dataset(counts(X, X, rows.categorical), y)
    final = lightgbm.train(dict(params, num_leaves=leaves), everything, num_boost_round=trees)
    test = final.predict(counts(X, rows.X_test, rows.categorical))
    details = {"num_leaves": leaves, "trees": trees, "best on the tuning rows": best}
    return Fitted([test], [tune], 0.0, details)


def fit_catboost(rows, args, seed):
    from catboost import CatBoostClassifier

    def frame(X):  # CatBoost reads strings, missing ones included
        return X.astype({c: object for c in rows.categorical}).fillna(
            {c: "NA" for c in rows.categorical}
        )

    fit_rows, tune_rows, y_tune = tuning_rows(rows)
    X, y = frame(rows.X_train), rows.y_train
    settings = dict(
        CATBOOST,
        cat_features=rows.categorical,
        thread_count=torch.get_num_threads(),
        allow_writing_files=False,
        verbose=False,
    )
    first = CatBoostClassifier(
        iterations=args.max_trees, od_type="Iter", od_wait=150, use_best_model=True, **settings
    )
    first.fit(X.iloc[fit_rows], y[fit_rows], eval_set=(X.iloc[tune_rows], y_tune))
    best = first.get_best_iteration() + 1
    tune = first.predict_proba(X.iloc[tune_rows])[:, 1]
    trees = int(round(best * MORE_TREES))
    final = CatBoostClassifier(iterations=trees, **settings).fit(X, y)
    test = final.predict_proba(frame(rows.X_test))[:, 1]
    details = {"trees": trees, "best on the tuning rows": best}
    return Fitted([test], [tune], 0.0, details)


def fit_deepfm(rows, args, seed):
    """The default DeepFM; a second fit on the first 80% scores the tuning rows."""
    fit_rows, tune_rows, _ = tuning_rows(rows)
    codes, y = rows.codes_train, rows.y_train

    def make():
        clf = DeepFMClassifier(random_state=seed)
        return clf.set_params(max_epochs=1) if args.quick else clf

    part = make().fit(codes[fit_rows], y[fit_rows])
    tune = part.predict_proba(unseen_to_unknown(part, codes[tune_rows]))[:, 1]
    began = time.perf_counter()
    clf = make().fit(codes, y)
    seconds = time.perf_counter() - began  # the estimator as a user fits it
    test = clf.predict_proba(rows.codes_test)[:, 1]
    return Fitted([test], [tune], seconds, {"seed": seed, "epochs": clf.n_iter_})


FITS = {
    "lr": fit_lr,
    "lr_c005": fit_lr_c005,
    "lr_pairs": fit_lr_pairs,
    "lightgbm_counts": fit_lightgbm_counts,
    "catboost": fit_catboost,
}


def fit_model(name, rows, args):
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


def minus_lr(y, fitted, n_resamples):
    """Each entry's mean AUC over seeds minus ``lr``'s, on the test rows and resamples.

    The resamples are shared by all entries, as in ``quality.paired_difference``: a
    paired bootstrap, measuring the test set's noise in each difference.
    """
    aucs = {name: [ResampledAUC(y, p) for p in entry.test] for name, entry in fitted.items()}
    rng = np.random.default_rng(SEED)
    differences = {name: [] for name in fitted if name != "lr"}
    for _ in range(n_resamples):
        counts = np.bincount(rng.integers(0, len(y), len(y)), minlength=len(y))
        if not 0 < counts @ y < len(y):  # both classes, or no AUC
            continue
        reference = aucs["lr"][0](counts)
        for name in differences:
            differences[name].append(np.mean([auc(counts) for auc in aucs[name]]) - reference)
    result = {}
    for name, sample in differences.items():
        every = np.ones(len(y))
        difference = np.mean([auc(every) for auc in aucs[name]]) - aucs["lr"][0](every)
        result[name] = {
            "difference": float(difference),
            "ci95": [float(x) for x in np.percentile(sample, [2.5, 97.5])],
            "share_at_target": float(np.mean(np.asarray(sample) >= TARGET)),
            "resamples": len(sample),
        }
    return result


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
