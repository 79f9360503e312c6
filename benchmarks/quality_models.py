"""The models of ``quality.py``: the DeepFM paper's family, DeepFM's recipes, two references.

Every ``fit_*`` takes the encoded training rows and returns a ``predict_proba`` and a
dict of details for the report. ``settings`` are ``DeepFMClassifier`` parameters over
its defaults (``quality.py --set``).
"""

import numpy as np
import pandas as pd
import torch
from sklearn.ensemble import VotingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder

from sklearn_deepfm import DeepFMClassifier

SEED = 0
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
TUNING_FRACTION = 0.2  # the last training rows, to tune the references
LR_GRID = (0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0)
# The embedding tables' Adam, which the small slices pull opposite ways:
# Criteo gains from damping rare codes, Avazu from faster tables.
DEEPFM_GRID = ({}, {"embedding_epsilon": 1e-3}, {"embedding_learning_rate": 3e-3})
LIGHTGBM = dict(objective="binary", learning_rate=0.05)  # other parameters: the defaults
MAX_TREES, EARLY_STOPPING_ROUNDS = 2000, 50
QUICK = dict(train_rows=600, test_rows=400, max_epochs=1, lr_grid=(0.1,), trees=10)


def fit(name, codes, y, categorical, quick, seed=SEED, settings=None):
    """Fit the model ``name`` (one of ``LABELS``) on the codes; its predict_proba and details."""
    settings = settings or {}
    if name == "sklearn_lr":
        return fit_sklearn_lr(codes, y, quick)
    if name == "lightgbm":
        return fit_lightgbm(codes, y, categorical, quick)
    if name == "deepfm_vote":
        return fit_deep_vote(codes, y, quick, settings)
    if name == "deepfm_tuned":
        return fit_deep_tuned(codes, y, quick, seed, settings)
    return fit_deep(name, codes, y, quick, seed, settings)


def seeds_of(name, n_seeds):
    """The references and the vote (already over seeds) run once, the family n_seeds times."""
    return range(n_seeds) if name in DEEP_MODELS + TUNED else [SEED]


def fit_deep(model, codes, y, quick, seed, settings):
    """A ``DeepFMClassifier`` of the family with the default hyper-parameters."""
    clf = DeepFMClassifier(model=model, random_state=seed, **settings)
    if quick:
        clf.set_params(max_epochs=QUICK["max_epochs"])
    clf.fit(codes, y)
    details = {"epochs": clf.n_iter_, "batch": clf.batch_size_, "batch norm": clf.batch_norm_}
    return clf.predict_proba, details


def fit_deep_vote(codes, y, quick, settings):
    """The README's recipe: default DeepFMs of seeds 0, 1, ..., probabilities averaged."""
    members = [
        (f"seed{seed}", DeepFMClassifier(random_state=seed, **settings))
        for seed in range(VOTE_SEEDS)
    ]
    vote = VotingClassifier(members, voting="soft")
    if quick:
        vote.set_params(**{f"{name}__max_epochs": QUICK["max_epochs"] for name, _ in members})
    vote.fit(codes, y)
    return vote.predict_proba, {"epochs": [clf.n_iter_ for clf in vote.estimators_]}


def fit_deep_tuned(codes, y, quick, seed, settings):
    """DeepFM with the ``DEEPFM_GRID`` setting of least log loss on the tuning rows, refitted.

    A tuning row's code that the rows before never held reads an untrained, near-zero
    row, or code 0 when it lies beyond the fitted cardinality (``unseen_to_unknown``).
    """

    def make(setting):
        clf = DeepFMClassifier(random_state=seed, **settings, **setting)
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


def lightgbm_installed():
    try:
        import lightgbm  # noqa: F401
    except ImportError:
        return False
    return True
