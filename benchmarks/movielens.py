"""Rating regression on MovieLens 100K: DeepFMRegressor's defaults against Ridge and FM (issue 12).

Data: ``../shared/data/movielens_100k`` (GroupLens' original files, see its
SOURCE.md; never copied into the repository). ``u.data``'s 100,000 ratings joined
with ``u.user`` (age, gender, occupation, zip) and ``u.item`` (release year, and the
19 genre flags joined into one category string such as ``"Comedy|Romance"``, a
stand-in until multi-valued fields exist). An 80/20 random split (``--split-seed``,
default 0); the figure is the test RMSE in rating units (1-5).

Models, all on the same ``FieldEncoder`` codes (user, item, gender, occupation, zip
and genres categorical; age and year quantile-binned by the encoder's defaults):

- ``deepfm``: ``make_pipeline(FieldEncoder(...), DeepFMRegressor(random_state=seed))``
  with the regressor's defaults (``--set name=value`` overrides one, for a sweep);
- ``fm``: the same with ``model="fm"``;
- ``ridge``: ``RidgeCV`` on the one-hot encoded codes, its alpha chosen by
  leave-one-out over a small grid.

Run ``python benchmarks/movielens.py`` (seeds 0-2; about 4 minutes on 2 cores) or
``--quick`` (10,000 ratings, one seed) for a smoke run. Results go to
``benchmarks/results/movielens.json`` (``--name`` changes the file name).
"""

import argparse
import ast
import json
import os
import platform
import time
from pathlib import Path

import numpy as np
import pandas as pd
import sklearn
import torch
from sklearn.linear_model import RidgeCV
from sklearn.metrics import mean_squared_error
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder

import sklearn_deepfm
from sklearn_deepfm import DeepFMRegressor, FieldEncoder

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "movielens_100k"
RESULTS = Path(__file__).resolve().parent / "results"
CATEGORICAL = ["user_id", "item_id", "gender", "occupation", "zip", "genres"]
GENRES = [
    "unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime",
    "Documentary", "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery",
    "Romance", "Sci-Fi", "Thriller", "War", "Western",
]  # fmt: skip


def load_movielens(data=DATA):
    """Return the joined ratings: a DataFrame of fields and the ratings as floats."""
    ratings = pd.read_csv(
        data / "u.data", sep="\t", names=["user_id", "item_id", "rating", "timestamp"]
    )
    users = pd.read_csv(
        data / "u.user", sep="|", names=["user_id", "age", "gender", "occupation", "zip"]
    )
    items = pd.read_csv(
        data / "u.item",
        sep="|",
        encoding="latin-1",
        names=["item_id", "title", "release_date", "video_release_date", "url", *GENRES],
    )
    flags = items[GENRES].to_numpy(dtype=bool)
    items["genres"] = ["|".join(np.array(GENRES)[row]) for row in flags]
    items["year"] = pd.to_datetime(items["release_date"], format="%d-%b-%Y").dt.year
    frame = ratings.merge(users, on="user_id").merge(
        items[["item_id", "genres", "year"]], on="item_id"
    )
    fields = ["user_id", "item_id", "age", "gender", "occupation", "zip", "genres", "year"]
    return frame[fields], frame["rating"].to_numpy(dtype=np.float64)


def rmse(y, prediction):
    return float(np.sqrt(mean_squared_error(y, prediction)))


def fit_deepfm(X, y, X_test, y_test, seed, **params):
    model = make_pipeline(
        FieldEncoder(categorical_features=CATEGORICAL), DeepFMRegressor(random_state=seed, **params)
    )
    start = time.perf_counter()
    model.fit(X, y)
    seconds = time.perf_counter() - start
    return {
        "rmse": rmse(y_test, model.predict(X_test)),
        "epochs": model[-1].n_iter_,
        "fit_seconds": seconds,
    }


def fit_ridge(X, y, X_test, y_test):
    encoder = FieldEncoder(categorical_features=CATEGORICAL).fit(X)
    model = make_pipeline(
        OneHotEncoder(handle_unknown="ignore"), RidgeCV(alphas=[1, 3, 10, 30, 100])
    )
    start = time.perf_counter()
    model.fit(encoder.transform(X), y)
    seconds = time.perf_counter() - start
    prediction = model.predict(encoder.transform(X_test))
    return {
        "rmse": rmse(y_test, prediction),
        "alpha": float(model[-1].alpha_),
        "fit_seconds": seconds,
    }


def parse_settings(pairs):
    """``["batch_size=256", "dropout=0.2"]`` to a dict of Python values."""
    settings = {}
    for pair in pairs:
        name, _, value = pair.partition("=")
        try:
            settings[name] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            settings[name] = value
    return settings


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3, help="model seeds 0..N-1")
    parser.add_argument("--split-seed", type=int, default=0)
    parser.add_argument("--models", nargs="+", default=["deepfm", "fm", "ridge"])
    parser.add_argument("--set", nargs="*", default=[], metavar="NAME=VALUE")
    parser.add_argument("--threads", type=int, default=None, help="torch threads")
    parser.add_argument("--quick", action="store_true", help="10,000 ratings, one seed")
    parser.add_argument("--name", default="movielens")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    settings = parse_settings(args.set)
    X, y = load_movielens()
    if args.quick:
        X, y, args.seeds = X.iloc[:10_000], y[:10_000], 1
    X, X_test, y, y_test = train_test_split(X, y, test_size=0.2, random_state=args.split_seed)

    runs = {}
    for name in args.models:
        if name == "ridge":
            runs[name] = [fit_ridge(X, y, X_test, y_test)]
        else:
            params = {**settings, **({"model": "fm"} if name == "fm" else {})}
            runs[name] = [
                fit_deepfm(X, y, X_test, y_test, seed, **params) for seed in range(args.seeds)
            ]
        figures = [run["rmse"] for run in runs[name]]
        print(f"{name:8s} RMSE {np.mean(figures):.4f} +- {np.std(figures):.4f}  {figures}")

    print("\n| model | test RMSE (mean +- std over seeds) | epochs | fit s |")
    print("|---|---|---|---|")
    for name, results in runs.items():
        figures = [r["rmse"] for r in results]
        epochs = [r.get("epochs", "") for r in results]
        seconds = np.mean([r["fit_seconds"] for r in results])
        print(
            f"| {name} | {np.mean(figures):.4f} +- {np.std(figures):.4f} | {epochs} | "
            f"{seconds:.0f} |"
        )
    RESULTS.mkdir(exist_ok=True)
    document = {
        "data": "movielens_100k",
        "rows": {"train": len(X), "test": len(X_test)},
        "split_seed": args.split_seed,
        "seeds": args.seeds,
        "settings": settings,
        "regressor_params": {
            k: v for k, v in DeepFMRegressor(**settings).get_params().items() if k != "device"
        },
        "runs": runs,
        "summary": {
            name: {
                "rmse_mean": float(np.mean([r["rmse"] for r in results])),
                "rmse_std": float(np.std([r["rmse"] for r in results])),
            }
            for name, results in runs.items()
        },
        "versions": {
            "sklearn_deepfm": sklearn_deepfm.__version__,
            "torch": torch.__version__,
            "sklearn": sklearn.__version__,
            "python": platform.python_version(),
        },
        "torch_threads": torch.get_num_threads(),
        "load_average": os.getloadavg(),
        "date": time.strftime("%Y-%m-%d"),
    }
    path = RESULTS / f"{args.name}.json"
    path.write_text(json.dumps(document, indent=1) + "\n")
    print(f"\nwrote {path}")


if __name__ == "__main__":
    main()
