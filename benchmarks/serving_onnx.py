"""Serving from one raw ONNX graph: onnxruntime against the in-process Pipeline, real Criteo rows.

A ``make_pipeline(FieldEncoder(), DeepFMClassifier(...))`` fitted on ``criteo_8k`` is
exported with ``export_onnx(pipeline, path, raw=True)``. Then, interleaved call by call
(in a random order each call) on the same held-out rows:

- ``pipeline``: ``Pipeline.predict_proba`` on a one-row DataFrame (Arrow strings, as
  ``load_criteo`` reads them);
- ``onnx_raw``: ``InferenceSession.run`` on the row's prepared input arrays;
- ``onnx_from_record``: the reference server (``examples/serve_onnx.py``), from the
  row as a decoded JSON record (dict, null for missing) to its probability;

median and p99 latency of one row, and the paired ratio to the Pipeline; then rows/s
at batch 1,000 of the Pipeline and of the graph. Both run on ``--threads`` threads (1
by default: one request, one core). The largest difference between the graph's
probabilities and ``predict_proba`` on all held-out rows is recorded too.

Run ``python benchmarks/serving_onnx.py`` (about 2 minutes on 2 cores) or ``--quick``.
Results: ``results/serving_onnx.json``.
"""

import argparse
import importlib.util
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import onnx
import onnxruntime
import torch
from _common import (
    CRITEO_8K,
    ROOT,
    interleave,
    latency,
    machine,
    paired_ratio,
    parse_sized,
    print_summary,
    write_json,
)
from _criteo_shaped import NETWORK, QUICK_NETWORK, TRAINING
from sklearn.pipeline import make_pipeline

from sklearn_deepfm import DeepFMClassifier, FieldEncoder, export_onnx
from sklearn_deepfm.datasets import load_criteo

TARGET_MEDIAN_MS = 0.3


def serve_example():
    """The reference server of examples/serve_onnx.py, loaded from its file."""
    spec = importlib.util.spec_from_file_location("serve_onnx", ROOT / "examples" / "serve_onnx.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def bench(args, log):
    X, y = load_criteo(args.criteo, return_X_y=True, n_rows=args.rows)
    n_train = int(0.8 * len(X))
    network = QUICK_NETWORK if args.quick else NETWORK
    pipeline = make_pipeline(
        FieldEncoder(),
        DeepFMClassifier(**network, **TRAINING, max_epochs=args.epochs, random_state=0),
    ).fit(X[:n_train], y[:n_train])
    held_out = X[n_train:]
    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "ctr.onnx")
        start = time.perf_counter()
        export_onnx(pipeline, path, raw=True)
        export_s = time.perf_counter() - start
        size = Path(path).stat().st_size
        nodes = len(onnx.load(path).graph.node)
        served = serve_example().RawModel(path, threads=args.threads)
    session = served.session
    records = json.loads(held_out.to_json(orient="records"))  # NaN becomes null
    feeds = [served.feeds([record]) for record in records]

    expected = pipeline.predict_proba(held_out)[:, 1]
    (probability,) = session.run(["probability"], served.feeds(records))
    max_difference = float(np.abs(probability - expected).max())
    log(f"  largest |onnx - predict_proba| on {len(held_out):,} rows: {max_difference:.2e}")

    functions = {
        "pipeline": lambda i: pipeline.predict_proba(held_out.iloc[[i]]),
        "onnx_raw": lambda i: session.run(["probability"], feeds[i]),
        "onnx_from_record": lambda i: served.predict([records[i]]),
    }
    calls = [i % len(records) for i in range(args.latency_calls)]
    for function in functions.values():  # warm-up: look-up tables, first calls
        for i in calls[:20]:
            function(i)
    ms = {name: [] for name in functions}
    rng = np.random.default_rng(0)
    for i in calls:  # a random order each call: none always follows the Pipeline's cache churn
        for name in rng.permutation(list(functions)):
            start = time.perf_counter()
            functions[name](i)
            ms[name].append((time.perf_counter() - start) * 1e3)
    one_row = {}
    for name, values in ms.items():
        figures = latency(values)
        figures["ratio_to_pipeline"] = paired_ratio(values, ms["pipeline"])
        one_row[name] = figures
        log(
            f"  one row {name}: median {figures['median_ms']:.3f} ms, "
            f"p99 {figures['p99_ms']:.3f} ms, x{figures['ratio_to_pipeline']:.3f} of the pipeline"
        )

    batch = held_out.iloc[np.arange(args.batch) % len(held_out)]
    batch_feeds = served.feeds(json.loads(batch.to_json(orient="records")))
    times = interleave(
        {
            "pipeline": lambda: pipeline.predict_proba(batch),
            "onnx_raw": lambda: session.run(["probability"], batch_feeds),
        },
        repeats=args.repeats,
    )
    throughput = {
        name: {
            "rows_per_s": args.batch / float(np.median(seconds)),
            "speedup_over_pipeline": paired_ratio(times["pipeline"], seconds),
        }
        for name, seconds in times.items()
    }
    for name, figures in throughput.items():
        log(f"  batch {args.batch:,} {name}: {figures['rows_per_s']:,.0f} rows/s")
    return {
        "rows": len(X),
        "train_rows": n_train,
        "held_out_rows": len(held_out),
        "network": network,
        "epochs": args.epochs,
        "threads": args.threads,
        "onnxruntime": onnxruntime.__version__,
        "export_seconds": export_s,
        "onnx_bytes": size,
        "graph_nodes": nodes,
        "max_abs_difference": max_difference,
        "latency_calls": args.latency_calls,
        "one_row": one_row,
        "batch_size": args.batch,
        "batch": throughput,
    }


def summary(results):
    one_row, batch = results["one_row"], results["batch"]
    lines = []
    for name, r in one_row.items():
        value = f"{r['median_ms']:.3f} / {r['p99_ms']:.3f} (x{r['ratio_to_pipeline']:.3f})"
        target = f"median <= {TARGET_MEDIAN_MS}" if name == "onnx_raw" else ""
        lines.append((f"one-row {name} median / p99 ms (x pipeline)", value, target))
    for name, r in batch.items():
        value = f"{r['rows_per_s']:,.0f} (x{r['speedup_over_pipeline']:.1f})"
        lines.append((f"batch {results['batch_size']:,} {name} rows/s (x pipeline)", value, ""))
    lines.append(("largest |onnx - predict_proba|", f"{results['max_abs_difference']:.1e}", ""))
    return lines


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--criteo", type=Path, default=CRITEO_8K, help="criteo_8k.txt path")
    parser.add_argument("--rows", type=int, help="Criteo rows, 80%% fitted (8,000)")
    parser.add_argument("--epochs", type=int, help="epochs of the fit (2)")
    parser.add_argument("--latency-calls", type=int, help="one-row calls timed (2,000)")
    parser.add_argument("--batch", type=int, default=1_000, help="rows of a batch (1,000)")
    parser.add_argument("--repeats", type=int, help="interleaved rounds of batch timings (10)")
    parser.add_argument("--threads", type=int, default=1, help="torch and onnxruntime threads")
    parser.add_argument("--quick", action="store_true", help="small smoke run")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    parser.add_argument("--name", default="serving_onnx", help="stem of the results file")
    full = dict(rows=8_000, epochs=2, latency_calls=2_000, repeats=10)
    quick = dict(rows=2_000, epochs=1, latency_calls=200, repeats=3)
    return parse_sized(parser, argv, full, quick)


def main(argv=None):
    args = parse_args(argv)
    if not args.criteo.exists():
        print(f"{args.criteo} is absent: nothing to measure.")
        return None
    torch.set_num_threads(args.threads)
    start = time.perf_counter()
    results = {"machine": machine(), "training": TRAINING, "quick": args.quick}
    results["serving_onnx"] = bench(args, lambda message: print(message, flush=True))
    results["seconds"] = time.perf_counter() - start
    print(f"wrote {write_json(results, args.out, args.name)}")
    print_summary(summary(results["serving_onnx"]))
    return results


if __name__ == "__main__":
    main()
