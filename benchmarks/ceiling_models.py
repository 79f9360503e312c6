"""The data and models of ``ceiling.py``: each model tuned on the last training rows, refitted.

Every ``fit_<model>(rows, args, seed)`` returns a ``Fitted``: the probabilities of the
test rows (one array per seed) and of the tuning rows (the last 20% of the training
rows, by the same choice fitted on the first 80%, for the blends' weights), and the
settings chosen. ``args`` carries the grids of ``ceiling.GRIDS`` or ``QUICK_GRIDS``.
"""

import itertools
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from quality import encode, load
from quality_models import SEED, fit_sklearn_lr, tuning_split, unseen_to_unknown
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder

from sklearn_deepfm import DeepFMClassifier

LIGHTGBM = dict(  # lightly regularised for 70k rows; the leaves are tuned
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
