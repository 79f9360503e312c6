"""Daily replay: a model updated each day against one retrained from scratch and one frozen.

Each data set is cut in time order into 8 equal "days". A pipeline
``make_pipeline(FieldEncoder(...), DeepFMClassifier(random_state=seed))`` at its defaults
fits day 1; then for each day d = 2..7, scored on day d+1:

- **frozen**: the day-1 pipeline, never updated;
- **scratch**: a new pipeline fitted on days 1..d;
- **updated**: yesterday's pipeline updated with day d alone, ``warm_start=True`` on both
  steps: the encoder appends the values first seen (codes already given stay), the
  classifier grows its tables for the new codes and trains on, with early stopping on a
  split of day d (from 2,000 rows a day; below, ``max_epochs`` epochs);
- **one epoch**: the same, but the classifier takes one ``partial_fit`` epoch over day d;
- **linear update**: the same with ``linear_update=True`` (the day-1 fit keeps its
  order-1 weights' precisions): each ``partial_fit`` first refits the order-1 part on
  day d as an online logistic regression, then trains the rest one epoch.

Fit time is wall time of each day's fit (the encoder's included). The targets (issue 28):
updated within 0.002 AUC of scratch or above, at <= 1/3 of scratch's cumulative fit time,
and above frozen. Data: ``criteo_110k`` (time order), ``avazu_9k`` (file order: its hours
are one), ``movielens_100k`` with the ratings ordered by the movie's release date, so that
new movies arrive day after day (rating >= 4 is a click).

Run ``python benchmarks/daily.py --threads 1`` (all three sets, about 15 minutes on 2
cores), ``--data criteo_110k`` for one, or ``--quick`` for a smoke run (4,000 rows, at
most 3 epochs a fit). Results:
``results/daily_<data>.json`` and ``.md``.
"""

import argparse
import copy
import time

import numpy as np
import pandas as pd
import torch
from _common import DATA, add_run_arguments, machine, parse_sized, write_json
from sklearn.metrics import log_loss, roc_auc_score
from sklearn.pipeline import make_pipeline

from sklearn_deepfm import DeepFMClassifier, FieldEncoder
from sklearn_deepfm.datasets import CRITEO_CAT_COLUMNS, load_criteo, load_movielens_100k

DAYS = 8
FULL = dict(rows=None, seeds=1, max_epochs=None)
# a smoke run: few epochs, since a day of 500 rows trains for dozens at the defaults
QUICK = dict(rows=4_000, seeds=1, max_epochs=3)


def criteo_110k():
    X, y = load_criteo(DATA / "criteo_110k" / "criteo_110k.txt.gz", return_X_y=True)
    return X, y, {"categorical_features": list(CRITEO_CAT_COLUMNS)}, "time order"


def avazu_9k():
    frame = pd.read_csv(DATA / "avazu_9k" / "avazu_9k.csv", dtype=str)
    y = frame.pop("click").astype(np.int8).to_numpy()
    X = frame.drop(columns=["id", "hour"])  # a row key and a constant
    return X, y, {"categorical_features": list(X.columns)}, "file order"


def movielens_100k():
    folder = DATA / "movielens_100k"
    X, rating = load_movielens_100k(folder, return_X_y=True)
    items = pd.read_csv(folder / "u.item", sep="|", header=None, encoding="latin-1")
    released = pd.to_datetime(items[2], format="%d-%b-%Y", errors="coerce")
    release = X["item_id"].map(pd.Series(released.to_numpy(), index=items[0]))
    order = np.argsort(release.to_numpy(dtype="datetime64[ns]"), kind="stable")  # NaT last
    X, y = X.iloc[order].reset_index(drop=True), (rating[order] >= 4).astype(np.int8)
    categorical = ["user_id", "item_id", "gender", "occupation", "zip"]
    # max_len: the longest genre list of all movies; widths stay those of the first fit
    encoder = {"categorical_features": categorical, "multi_valued": {"genres": "|"}, "max_len": 6}
    return X, y, encoder, "ratings ordered by the movie's release date"


DATASETS = {"criteo_110k": criteo_110k, "avazu_9k": avazu_9k, "movielens_100k": movielens_100k}


def pipeline(encoder, seed, max_epochs=None, **classifier):
    """The default pipeline; ``max_epochs``, when given, replaces the classifier's default."""
    if max_epochs is not None:
        classifier["max_epochs"] = max_epochs
    return make_pipeline(FieldEncoder(**encoder), DeepFMClassifier(random_state=seed, **classifier))


def timed_fit(model, X, y):
    start = time.perf_counter()
    model.fit(X, y)
    return time.perf_counter() - start


def timed_partial_fit(model, X, y):
    """Refit the (warm) encoder on ``X``, then one ``partial_fit`` of the classifier: seconds."""
    start = time.perf_counter()
    model[-1].partial_fit(model[0].fit(X).transform(X), y)
    return time.perf_counter() - start


def scores(model, X, y):
    proba = model.predict_proba(X)[:, 1]
    return {"auc": roc_auc_score(y, proba), "log_loss": log_loss(y, proba)}


def replay(X, y, encoder, seed, log, max_epochs=None):
    """Each day's scores and fit seconds of the three arms, for one seed."""
    bounds = np.linspace(0, len(y), DAYS + 1).astype(int)
    day = [slice(bounds[d], bounds[d + 1]) for d in range(DAYS)]  # day[0] is day 1
    # linear_update changes nothing in a first fit's network: it adds the precisions
    frozen = pipeline(encoder, seed, max_epochs, linear_update=True)
    first_seconds = timed_fit(frozen, X.iloc[day[0]], y[day[0]])
    # the updated arms start from copies of the same day-1 fit, not from fits of their own
    linear = copy.deepcopy(frozen).set_params(fieldencoder__warm_start=True)
    frozen.set_params(deepfmclassifier__linear_update=False)
    updated = copy.deepcopy(frozen)
    updated.set_params(fieldencoder__warm_start=True, deepfmclassifier__warm_start=True)
    one_epoch = copy.deepcopy(frozen).set_params(fieldencoder__warm_start=True)
    rows = []
    for d in range(1, DAYS - 1):  # d + 1 is the day number trained last; day[d + 1] scores
        test = X.iloc[day[d + 1]], y[day[d + 1]]
        seen = slice(0, bounds[d + 1])
        scratch = pipeline(encoder, seed, max_epochs)
        scratch_seconds = timed_fit(scratch, X.iloc[seen], y[seen])
        updated_seconds = timed_fit(updated, X.iloc[day[d]], y[day[d]])
        one_epoch_seconds = timed_partial_fit(one_epoch, X.iloc[day[d]], y[day[d]])
        linear_seconds = timed_partial_fit(linear, X.iloc[day[d]], y[day[d]])
        row = {
            "trained_to_day": d + 1,
            "frozen": scores(frozen, *test),
            "scratch": {**scores(scratch, *test), "fit_seconds": scratch_seconds},
            "updated": {**scores(updated, *test), "fit_seconds": updated_seconds},
            "one_epoch": {**scores(one_epoch, *test), "fit_seconds": one_epoch_seconds},
            "linear_update": {**scores(linear, *test), "fit_seconds": linear_seconds},
            "cardinality_growth": int(updated[-1].cardinalities_.sum())
            - int(frozen[-1].cardinalities_.sum()),
        }
        rows.append(row)
        log(
            f"  day {d + 1} -> {d + 2}: AUC frozen {row['frozen']['auc']:.4f}  "
            f"scratch {row['scratch']['auc']:.4f} ({scratch_seconds:.1f} s)  "
            f"updated {row['updated']['auc']:.4f} ({updated_seconds:.1f} s)  "
            f"one epoch {row['one_epoch']['auc']:.4f} ({one_epoch_seconds:.1f} s)  "
            f"linear update {row['linear_update']['auc']:.4f} ({linear_seconds:.1f} s)"
        )
    return {"day1_fit_seconds": first_seconds, "days": rows}


ARMS = ("frozen", "scratch", "updated", "one_epoch", "linear_update")
UPDATES = ("updated", "one_epoch", "linear_update")


def summary(runs):
    """Means over days and seeds, and the issue's three targets for each update arm."""

    def mean(arm, key):
        return float(np.mean([row[arm][key] for run in runs for row in run["days"]]))

    def total_seconds(arm):
        return float(np.mean([sum(r[arm]["fit_seconds"] for r in run["days"]) for run in runs]))

    result = {
        arm: {"mean_auc": mean(arm, "auc"), "mean_log_loss": mean(arm, "log_loss")} for arm in ARMS
    }
    scratch_seconds = total_seconds("scratch")
    for arm in UPDATES:
        minus_scratch = result[arm]["mean_auc"] - result["scratch"]["mean_auc"]
        minus_frozen = result[arm]["mean_auc"] - result["frozen"]["mean_auc"]
        time_ratio = total_seconds(arm) / scratch_seconds
        result[arm].update(
            cumulative_fit_seconds=total_seconds(arm),
            minus_scratch_auc=minus_scratch,
            minus_frozen_auc=minus_frozen,
            fit_time_ratio=time_ratio,
            targets_met={
                "within_0.002_of_scratch": bool(minus_scratch >= -0.002),
                "at_most_a_third_of_scratch_time": bool(time_ratio <= 1 / 3),
                "above_frozen": bool(minus_frozen > 0),
            },
        )
    result["scratch"]["cumulative_fit_seconds"] = scratch_seconds
    return result


def markdown(name, results):
    s = results["summary"]
    lines = [
        f"# Daily replay: {name}",
        "",
        f"{results['rows']:,} rows in {DAYS} days ({results['order']}), seeds "
        f"{results['seeds']}; each day d = 2..7 scored on day d+1.",
        "",
        "| day trained | AUC frozen | AUC scratch | AUC updated | AUC one epoch "
        "| AUC linear update | log loss scratch / updated / one epoch / linear update "
        "| fit s scratch / updated / one epoch / linear update |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in results["runs"][0]["days"]:
        trained = [row[arm] for arm in ARMS[1:]]
        lines.append(
            f"| {row['trained_to_day']} | "
            + " | ".join(f"{row[arm]['auc']:.4f}" for arm in ARMS)
            + " | "
            + " / ".join(f"{arm['log_loss']:.4f}" for arm in trained)
            + " | "
            + " / ".join(f"{arm['fit_seconds']:.1f}" for arm in trained)
            + " |"
        )
    lines += [
        "",
        f"Mean AUC: frozen {s['frozen']['mean_auc']:.4f}, scratch {s['scratch']['mean_auc']:.4f}.",
    ]
    for arm in UPDATES:
        a = s[arm]
        lines.append(
            f"{arm}: mean AUC {a['mean_auc']:.4f} (- scratch {a['minus_scratch_auc']:+.4f}, "
            f"- frozen {a['minus_frozen_auc']:+.4f}), cumulative fit time / scratch's "
            f"{a['fit_time_ratio']:.2f}; targets met: {a['targets_met']}."
        )
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", choices=list(DATASETS), action="append", help="data set(s)")
    parser.add_argument("--rows", type=int, help="the first rows only (default: all)")
    parser.add_argument("--seeds", type=int, help="seeds 0..N-1 (default 1)")
    parser.add_argument("--max-epochs", type=int, help="the classifier's (default: its own)")
    add_run_arguments(parser, "daily")
    args = parse_sized(parser, argv, FULL, QUICK)
    if args.threads or args.quick:
        torch.set_num_threads(args.threads or 1)
    for name in args.data or list(DATASETS):
        folder = DATA / name
        if not folder.exists():
            print(f"{folder} is absent: skipping {name}.")
            continue
        X, y, encoder, order = DATASETS[name]()
        if args.rows:
            X, y = X.iloc[: args.rows], y[: args.rows]
        print(f"{name}: {len(y):,} rows", flush=True)
        runs = [replay(X, y, encoder, seed, print, args.max_epochs) for seed in range(args.seeds)]
        results = {
            "machine": machine(),
            "data": name,
            "rows": len(y),
            "order": order,
            "seeds": args.seeds,
            "max_epochs": args.max_epochs,
            "quick": args.quick,
            "runs": runs,
            "summary": summary(runs),
        }
        stem = f"{args.name}_{name}"
        path = write_json(results, args.out, stem)
        (args.out / f"{stem}.md").write_text(markdown(name, results))
        print(markdown(name, results))
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
