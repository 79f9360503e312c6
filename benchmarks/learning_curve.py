"""Learning curve on Criteo 110k: test AUC and log loss against the training rows.

The test rows are the last 20% of ``criteo_110k`` (21,999 rows, ``quality_data.py``);
each size trains on the first 10,000, 30,000, 60,000 and 87,995 rows before them, in
time order. At each size one ``FieldEncoder`` is fitted on those training rows only and
every model reads its codes, as in ``quality.py``: the tuned one-hot
``LogisticRegression`` and LightGBM of ``quality_models.py`` (one run each: they are
deterministic), and ``DeepFMClassifier(random_state=seed)`` with its defaults for seeds
0 to N-1 (``--seeds``; mean and standard deviation), and with ``linear_start_C=None``:
the 0.4 defaults, whose order-1 weights start at zero. Fit time is wall time per fit
(seed), tuning of the references included.

Run ``python benchmarks/learning_curve.py --threads 1`` or ``--quick`` for a smoke run.
Results: ``results/<name>.json``, ``.md`` and ``.png`` (``--name``, by default
``learning_curve_criteo_110k``); the figure marks where a DeepFM curve crosses LR's.
"""

import argparse
import time

import numpy as np
import torch
from _common import add_run_arguments, machine, parse_sized, write_json
from quality import encode
from quality_data import criteo_110k
from quality_models import LABELS, fit, lightgbm_installed
from sklearn.metrics import log_loss, roc_auc_score
from threadpoolctl import threadpool_limits

from sklearn_deepfm import DeepFMClassifier

DATA = "criteo_110k"
FULL = dict(sizes=[10_000, 30_000, 60_000, 87_995], seeds=3, test_rows=None)
QUICK = dict(sizes=[300, 600, 1200], seeds=2, test_rows=1000)
NO_LINEAR_START = "DeepFM, linear_start_C=None (0.4 defaults)"
RUN_FIGURES = ("auc", "log_loss", "fit_seconds")  # per fit; a point holds their means


def series_of():
    """``(key, quality_models model, DeepFMClassifier settings, label)`` of each series."""
    series = [
        ("sklearn_lr", "sklearn_lr", {}, LABELS["sklearn_lr"]),
        ("lightgbm", "lightgbm", {}, LABELS["lightgbm"]),
        ("deepfm", "deepfm", {}, "DeepFM, defaults"),
        ("deepfm_no_linear_start", "deepfm", {"linear_start_C": None}, NO_LINEAR_START),
    ]
    if not lightgbm_installed():
        print("lightgbm is not installed: skipping it.")
        del series[1]
    return series


def measure(model, settings, train, test, categorical, n_seeds, quick):
    """Fit ``model`` once per seed (once for the references); its point of the curve."""
    (codes_train, y_train), (codes_test, y_test) = train, test
    runs = []
    for seed in range(n_seeds) if model == "deepfm" else [0]:
        began = time.perf_counter()
        predict_proba, details = fit(
            model, codes_train, y_train, categorical, quick, seed, settings
        )
        seconds = time.perf_counter() - began
        proba = predict_proba(codes_test)[:, 1]
        runs.append(
            {
                "seed": seed,
                "auc": roc_auc_score(y_test, proba),
                "log_loss": log_loss(y_test, proba),
                "fit_seconds": seconds,
                "details": details,
            }
        )
    aucs, losses, times = (np.array([run[key] for run in runs]) for key in RUN_FIGURES)
    return {
        "train_rows": len(y_train),
        "auc": float(aucs.mean()),
        "auc_sd": float(aucs.std()),
        "log_loss": float(losses.mean()),
        "log_loss_sd": float(losses.std()),
        "fit_seconds": float(times.mean()),
        "runs": runs,
    }


def crossings(series, reference="sklearn_lr"):
    """Where each DeepFM series' mean AUC crosses the reference's, between two sizes.

    The crossing is interpolated linearly in log(rows) on the difference of the AUCs;
    ``"passes"`` says whether DeepFM goes above the reference there or falls below it.
    """
    by_key = {s["key"]: s for s in series}
    if reference not in by_key:
        return []
    lr = np.array([p["auc"] for p in by_key[reference]["points"]])
    found = []
    for s in series:
        if not s["key"].startswith("deepfm"):
            continue
        rows = np.array([p["train_rows"] for p in s["points"]])
        gap = np.array([p["auc"] for p in s["points"]]) - lr
        for i in range(len(gap) - 1):
            if gap[i] == 0 or np.sign(gap[i]) == np.sign(gap[i + 1]):
                continue
            share = gap[i] / (gap[i] - gap[i + 1])
            at = float(np.exp(np.log(rows[i]) + share * np.log(rows[i + 1] / rows[i])))
            found.append(
                {
                    "series": s["key"],
                    "label": s["label"],
                    "train_rows": round(at),
                    "between": [int(rows[i]), int(rows[i + 1])],
                    "passes": bool(gap[i + 1] > 0),
                }
            )
    return found


# report ------------------------------------------------------------------------------


def crossing_text(crossing):
    low, high = crossing["between"]
    verb = "passes" if crossing["passes"] else "falls below"
    return (
        f"{crossing['label']} {verb} LR's AUC at about {crossing['train_rows']:,} training rows "
        f"(between {low:,} and {high:,}; interpolated in log rows)"
    )


def markdown(report):
    machine = report["machine"]
    sizes = report["sizes"]
    by_key = {s["key"]: s for s in report["series"]}
    lr = by_key.get("sklearn_lr")
    lines = [
        f"Data: {report['data']} ({report['split']}); test: {report['n_test']:,} rows, positive "
        f"rate {report['test_positive_rate']:.3f}, constant-prior log loss "
        f"{report['prior_log_loss']:.4f}. Each size trains on the first rows of the training "
        "part, its FieldEncoder fitted on them only. DeepFM: mean (sd) over seeds 0 to "
        f"{report['seeds'] - 1}; the references: one run.",
        "",
        "| training rows | model | AUC | log loss | fit s | - LR AUC | notes |",
        "|---|---|---|---|---|---|---|",
    ]
    for i, n in enumerate(sizes):
        for s in report["series"]:
            point = s["points"][i]
            sd = len(point["runs"]) > 1
            auc = f"{point['auc']:.4f}" + (f" ({point['auc_sd']:.4f})" if sd else "")
            loss = f"{point['log_loss']:.4f}" + (f" ({point['log_loss_sd']:.4f})" if sd else "")
            gap = "" if lr is None or s is lr else f"{point['auc'] - lr['points'][i]['auc']:+.4f}"
            notes = ", ".join(f"{k} {v}" for k, v in point["runs"][0]["details"].items())
            lines.append(
                f"| {n:,} | {s['label']} | {auc} | {loss} | {point['fit_seconds']:.1f} | "
                f"{gap} | {notes} |"
            )
    lines.append("")
    if report["crossings"]:
        lines += [f"- {crossing_text(c)}." for c in report["crossings"]]
    elif lr is not None:
        lines.append(f"- No DeepFM curve crosses LR's between {sizes[0]:,} and {sizes[-1]:,} rows.")
    totals = ", ".join(f"{s['label']} {s['fit_seconds_total']:.0f} s" for s in report["series"])
    defaults = ", ".join(f"{k}={v!r}" for k, v in report["deepfm_defaults"].items())
    lines += [
        f"- Fit time of each series, all sizes and seeds: {totals}.",
        "",
        f"DeepFMClassifier defaults used: {defaults}.",
        f"Machine: {machine['cores']} CPU cores (threads used: {machine['torch_threads']}, "
        f"load average {machine['load_average_at_start'][0]:.1f} at start), "
        f"{machine['gpu'] or 'no GPU'}; torch {machine['torch']}, sklearn-deepfm "
        f"{machine['sklearn_deepfm']}. Total run time {report['total_seconds']:.0f} s.",
    ]
    return "\n".join(lines) + "\n"


def plot(report, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.5))
    for s in report["series"]:
        rows = [p["train_rows"] for p in s["points"]]
        for ax, key in zip(axes, ("auc", "log_loss"), strict=True):
            ax.errorbar(
                rows,
                [p[key] for p in s["points"]],
                yerr=[p[f"{key}_sd"] for p in s["points"]],
                marker="o",
                ms=4,
                capsize=3,
                lw=1.2,
                label=s["label"],
            )
    lr = {s["key"]: s for s in report["series"]}.get("sklearn_lr")
    for crossing in report["crossings"]:
        lr_rows = np.log([p["train_rows"] for p in lr["points"]])
        lr_auc = [p["auc"] for p in lr["points"]]
        at = crossing["train_rows"]
        axes[0].plot(at, np.interp(np.log(at), lr_rows, lr_auc), "kx", ms=9, mew=2)
        axes[0].annotate(
            f"{at:,}",
            (at, np.interp(np.log(at), lr_rows, lr_auc)),
            textcoords="offset points",
            xytext=(4, -14),
            fontsize=8,
        )
    for ax, label in zip(axes, ("test AUC", "test log loss"), strict=True):
        ax.set_xscale("log")
        ax.set_xticks(report["sizes"], [f"{n:,}" for n in report["sizes"]], minor=False)
        ax.set_xticks([], minor=True)
        ax.set(xlabel="training rows (the first, in time order; log scale)", ylabel=label)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8, loc="lower right")
    marks = "; x: a DeepFM curve crosses LR's" if report["crossings"] else ""
    quick = ", quick smoke run" if report["quick"] else ""
    fig.suptitle(
        f"{report['data']}: {report['n_test']:,} test rows after the training rows{quick}{marks}",
        fontsize=10,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


# main ---------------------------------------------------------------------------------


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes", type=int, nargs="+", help=f"training rows ({FULL['sizes']}; quick: smaller)"
    )
    parser.add_argument("--seeds", type=int, help="seeds of each DeepFM series (3; quick: 2)")
    parser.add_argument("--test-rows", type=int, help="first test rows scored (all; quick: 1000)")
    add_run_arguments(parser, f"learning_curve_{DATA}")
    args = parse_sized(parser, argv, FULL, QUICK)
    threads = args.threads or (1 if args.quick else None)
    if threads:  # on a machine shared with other jobs, fewer threads avoid stalls
        torch.set_num_threads(threads)
        threadpool_limits(threads)

    start = time.perf_counter()
    X_train, y_train, X_test, y_test, categorical, split = criteo_110k()
    sizes = sorted(set(args.sizes))
    if sizes[-1] > len(y_train):
        parser.error(
            f"--sizes must be at most the {len(y_train):,} training rows. Got {sizes[-1]}."
        )
    if args.test_rows:
        X_test, y_test = X_test.iloc[: args.test_rows], y_test[: args.test_rows]
        split += f"; first {len(y_test):,} test rows"
    y_train, y_test = np.asarray(y_train), np.asarray(y_test)
    positions = [list(X_train.columns).index(c) for c in categorical]
    series = [
        {"key": key, "model": model, "settings": settings, "label": label, "points": []}
        for key, model, settings, label in series_of()
    ]
    report = {
        "data": DATA,
        "split": split,
        "quick": args.quick,
        "sizes": sizes,
        "seeds": args.seeds,
        "n_test": len(y_test),
        "test_positive_rate": float(y_test.mean()),
        "prior_log_loss": log_loss(y_test, np.full(len(y_test), y_train.mean())),
        "deepfm_defaults": {
            k: v
            for k, v in DeepFMClassifier().get_params().items()
            if k not in ("model", "random_state", "verbose", "device")
        },
        "machine": machine(),
        "series": series,
    }

    print(f"{DATA}: test {len(y_test):,} rows; {split}")
    print(f"{'rows':>7}  {'model':<44} {'AUC':>7} {'sd':>6} {'logloss':>8} {'fit s':>7}")
    for n in sizes:
        codes_train, codes_test = encode(X_train.iloc[:n], X_test, categorical)
        train, test = (codes_train, y_train[:n]), (codes_test, y_test)
        for s in series:
            point = measure(
                s["model"], s["settings"], train, test, positions, args.seeds, args.quick
            )
            s["points"].append(point)
            print(
                f"{n:>7,}  {s['label']:<44} {point['auc']:7.4f} {point['auc_sd']:6.4f} "
                f"{point['log_loss']:8.4f} {point['fit_seconds']:7.1f}",
                flush=True,
            )
    for s in series:
        s["fit_seconds_total"] = sum(sum(r["fit_seconds"] for r in p["runs"]) for p in s["points"])
    report["crossings"] = crossings(series)
    for crossing in report["crossings"]:
        print(crossing_text(crossing))
    report["total_seconds"] = time.perf_counter() - start

    path = write_json(report, args.out, args.name)
    (args.out / f"{args.name}.md").write_text(markdown(report))
    plot(report, args.out / f"{args.name}.png")
    print(f"total {report['total_seconds']:.0f} s; results in {path.parent}/{args.name}.*")
    return report


if __name__ == "__main__":
    main()
