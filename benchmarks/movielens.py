"""MovieLens 100K: DeepFMRegressor's defaults against Ridge and FM, and genres as a list.

Data: ``../shared/data/movielens_100k`` (GroupLens' original files, see its
SOURCE.md; never copied into the repository). ``u.data``'s 100,000 ratings joined
with ``u.user`` (age, gender, occupation, zip) and ``u.item`` (release year, and the
19 genre flags written as one string such as ``"Comedy|Romance"``).

Genres reach the models in one of two ways:

- ``multi`` (the default): a multi-valued field, ``FieldEncoder(multi_valued={"genres":
  "|"})``: each genre has its own embedding and a movie gets their mean;
- ``joined``: the whole string as one category, so "Comedy|Romance" shares nothing
  with "Comedy".

Two splits:

- ``random``: 80/20 of the ratings (``--split-seed``, default 0); the figure is the
  test RMSE in rating units (1-5). Models, all on the same encoder:
  ``deepfm`` (``make_pipeline(FieldEncoder(...), DeepFMRegressor(random_state=seed))``
  with the regressor's defaults; ``--set name=value`` overrides one, for a sweep),
  ``deepfm_joined`` (the same, genres joined), ``fm`` (``model="fm"``) and ``ridge``
  (``RidgeCV`` on the one-hot codes and the 19 genre flags, alpha by leave-one-out).
- ``cold``: cold-start movies, 20% of the movies (by ``GroupShuffleSplit``) and all
  their ratings held out, so that the item id says nothing and the genres must: the
  multi-valued genres against the joined ones, in RMSE of the regressor and in AUC
  of the classifier on rating >= 4; ``ridge`` and the training mean rating as
  references.

Run ``python benchmarks/movielens.py`` (both splits, seeds 0-2; about 10 minutes on 2
cores), ``--split random`` or ``--split cold`` for one, or ``--quick`` (10,000
ratings, one seed) for a smoke run. Results: ``results/movielens.json`` (``--out`` and
``--name`` change the folder and the file name).
"""

import argparse
import time
from pathlib import Path

import numpy as np
import torch
from _common import MOVIELENS, add_output_arguments, machine, parse_settings, write_json
from sklearn.linear_model import RidgeCV
from sklearn.metrics import mean_squared_error, roc_auc_score
from sklearn.model_selection import GroupShuffleSplit, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder

from sklearn_deepfm import DeepFMClassifier, DeepFMRegressor, FieldEncoder
from sklearn_deepfm.datasets import MOVIELENS_GENRES, load_movielens_100k

CATEGORICAL = ["user_id", "item_id", "gender", "occupation", "zip", "genres"]
LIKED = 4  # the classifier's click: a rating of at least 4


def rmse(y, prediction):
    return float(np.sqrt(mean_squared_error(y, prediction)))


def encoder(genres):
    """The benchmark's FieldEncoder: genres multi-valued (split at "|") or one category."""
    multi_valued = {"genres": "|"} if genres == "multi" else None
    return FieldEncoder(categorical_features=CATEGORICAL, multi_valued=multi_valued)


def fit_deepfm(X, y, X_test, y_test, seed, genres="multi", **params):
    """Fit the regressor's pipeline; its test RMSE, epochs and fit time."""
    model = make_pipeline(encoder(genres), DeepFMRegressor(random_state=seed, **params))
    start = time.perf_counter()
    model.fit(X, y)
    seconds = time.perf_counter() - start
    return {
        "rmse": rmse(y_test, model.predict(X_test)),
        "epochs": model[-1].n_iter_,
        "fit_seconds": seconds,
    }


def fit_classifier(X, y, X_test, y_test, seed, genres="multi", **params):
    """Fit the classifier's pipeline on rating >= LIKED; its test AUC, epochs and fit time."""
    model = make_pipeline(encoder(genres), DeepFMClassifier(random_state=seed, **params))
    start = time.perf_counter()
    model.fit(X, y >= LIKED)
    seconds = time.perf_counter() - start
    return {
        "auc": float(roc_auc_score(y_test >= LIKED, model.predict_proba(X_test)[:, 1])),
        "epochs": model[-1].n_iter_,
        "fit_seconds": seconds,
    }


def genre_flags(X):
    """The 19 genre flags of each row (Ridge's multi-hot genres)."""
    return np.array(
        [[genre in cell.split("|") for genre in MOVIELENS_GENRES] for cell in X["genres"]]
    )


def fit_ridge(X, y, X_test, y_test):
    """RidgeCV on the one-hot codes of the other fields and the genre flags."""
    from scipy import sparse

    others = [name for name in X.columns if name != "genres"]
    encoder = FieldEncoder(categorical_features=[c for c in CATEGORICAL if c != "genres"])
    encoder.fit(X[others])
    one_hot = OneHotEncoder(handle_unknown="ignore").fit(encoder.transform(X[others]))

    def features(frame):
        codes = one_hot.transform(encoder.transform(frame[others]))
        return sparse.hstack([codes, sparse.csr_matrix(genre_flags(frame))]).tocsr()

    model = RidgeCV(alphas=[1, 3, 10, 30, 100])
    start = time.perf_counter()
    model.fit(features(X), y)
    seconds = time.perf_counter() - start
    return {
        "rmse": rmse(y_test, model.predict(features(X_test))),
        "alpha": float(model.alpha_),
        "fit_seconds": seconds,
    }


def random_split(X, y, args, settings):
    """80/20 of the ratings: RMSE of the models of ``args.models``."""
    X, X_test, y, y_test = train_test_split(X, y, test_size=0.2, random_state=args.split_seed)
    runs = {}
    for name in args.models:
        if name == "ridge":
            runs[name] = [fit_ridge(X, y, X_test, y_test)]
            continue
        params = dict(settings)
        if name == "fm":
            params["model"] = "fm"
        if name == "deepfm_joined":
            params["genres"] = "joined"
        runs[name] = [
            fit_deepfm(X, y, X_test, y_test, seed, **params) for seed in range(args.seeds)
        ]
        report(name, runs[name], "rmse")
    return {"rows": {"train": len(X), "test": len(X_test)}, "runs": runs}


def cold_split(X, y, args, settings):
    """Held-out movies: multi-valued against joined genres, in RMSE and in AUC."""
    split = GroupShuffleSplit(n_splits=1, test_size=0.2, random_state=args.split_seed)
    train, test = next(split.split(X, y, groups=X["item_id"]))
    X, X_test, y, y_test = X.iloc[train], X.iloc[test], y[train], y[test]
    runs = {}
    for genres in ("multi", "joined"):
        name = f"regressor_{genres}"
        runs[name] = [
            fit_deepfm(X, y, X_test, y_test, seed, genres=genres, **settings)
            for seed in range(args.seeds)
        ]
        report(name, runs[name], "rmse")
        name = f"classifier_{genres}"
        runs[name] = [
            fit_classifier(X, y, X_test, y_test, seed, genres=genres) for seed in range(args.seeds)
        ]
        report(name, runs[name], "auc")
    runs["ridge"] = [fit_ridge(X, y, X_test, y_test)]
    runs["train_mean"] = [{"rmse": rmse(y_test, np.full(len(y_test), y.mean()))}]
    rows = {"train": len(X), "test": len(X_test), "test_movies": int(X_test["item_id"].nunique())}
    return {"rows": rows, "runs": runs}


def report(name, results, metric):
    figures = [run[metric] for run in results]
    print(f"{name:20s} {metric} {np.mean(figures):.4f} +- {np.std(figures):.4f}  {figures}")


def summary(runs):
    """Mean and sd over seeds of each model's figure (RMSE or AUC)."""
    out = {}
    for name, results in runs.items():
        metric = "auc" if "auc" in results[0] else "rmse"
        figures = [r[metric] for r in results]
        out[name] = {
            f"{metric}_mean": float(np.mean(figures)),
            f"{metric}_std": float(np.std(figures)),
        }
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3, help="model seeds 0..N-1")
    parser.add_argument("--split-seed", type=int, default=0)
    parser.add_argument("--split", choices=["random", "cold", "both"], default="both")
    parser.add_argument("--models", nargs="+", default=["deepfm", "deepfm_joined", "fm", "ridge"])
    parser.add_argument("--set", nargs="*", default=[], metavar="NAME=VALUE")
    parser.add_argument("--threads", type=int, default=None, help="torch threads")
    parser.add_argument("--quick", action="store_true", help="10,000 ratings, one seed")
    parser.add_argument("--data", type=Path, default=MOVIELENS, help="movielens_100k folder")
    add_output_arguments(parser, "movielens")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    settings = parse_settings(args.set)
    started = machine()
    X, y = load_movielens_100k(args.data, return_X_y=True)
    if args.quick:
        X, y, args.seeds = X.iloc[:10_000], y[:10_000], 1

    splits = {}
    if args.split in ("random", "both"):
        splits["random"] = random_split(X, y, args, settings)
    if args.split in ("cold", "both"):
        splits["cold"] = cold_split(X, y, args, settings)
    for split, result in splits.items():
        result["summary"] = summary(result["runs"])
        print(f"\n{split} split: | model | mean +- sd over seeds |")
        for name, figures in result["summary"].items():
            mean, std = figures.values()
            print(f"| {name} | {mean:.4f} +- {std:.4f} |")
    document = {
        "data": "movielens_100k",
        "split_seed": args.split_seed,
        "seeds": args.seeds,
        "settings": settings,
        "regressor_params": {
            k: v for k, v in DeepFMRegressor(**settings).get_params().items() if k != "device"
        },
        "splits": splits,
        "machine": started,
    }
    print(f"\nwrote {write_json(document, args.out, args.name)}")
    return document


if __name__ == "__main__":
    main()
