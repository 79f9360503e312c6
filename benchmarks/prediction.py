"""Prediction and serving speed: predict_proba and one-row Pipeline requests against bare torch.

``predict`` (Criteo-shaped data)
    ``predict_proba`` rows/s against the fitted module's forward under
    ``torch.inference_mode`` (in the classifier's chunks, and in one call), at each
    vocabulary size; the median and p99 latency of a one-row DataFrame through
    ``Pipeline(FieldEncoder, DeepFMClassifier)`` and through each of its parts.
``serving`` (the real rows of ``criteo_8k``; skipped when absent)
    One row at a time through ``Pipeline(FieldEncoder, DeepFMClassifier).predict_proba``
    with the strings in each storage (Arrow ``str``, Python ``str``, object, category,
    and one-row frames built from a JSON record), interleaved call by call with the bare
    module's forward on the encoded row: median and p99 latency; batch rows/s of the
    Pipeline against the bare forward.

Run ``python benchmarks/prediction.py`` (about 2 minutes on 2 cores) or ``--quick`` for a
smoke run. Results: ``results/prediction.json`` and ``results/prediction_criteo.json``.
"""

import argparse
import json
import time
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from _common import (
    CRITEO_8K,
    add_run_arguments,
    call_ms,
    interleave,
    latency,
    machine,
    paired_ratio,
    parse_sized,
    print_summary,
    run_sections,
)
from _criteo_shaped import (
    NETWORK,
    PREDICT_CHUNK,
    PREVIOUS_PREDICT_CHUNK,
    QUICK_NETWORK,
    TRAINING,
    bare_predict,
    classifier,
    fit_small,
    make_codes,
    make_frame,
)
from sklearn.pipeline import make_pipeline

from sklearn_deepfm import FieldEncoder
from sklearn_deepfm.datasets import load_criteo

SECTIONS = ("predict", "serving")
STORAGES = {
    "arrow_str": "str",  # pandas 3's default with pyarrow installed
    "python_str": pd.StringDtype("python", na_value=np.nan),  # the default without pyarrow
    "object": object,
    "category": "category",
}


def bench_predict(args, network, log):
    """Batch predict_proba against the bare forward; one-row Pipeline latency."""
    results = {"batch": {}, "one_row": {}}
    for vocab in args.vocab:
        codes, y, cardinalities = make_codes(args.rows, vocab, seed=vocab)
        model = fit_small(network, codes, y, cardinalities)
        codes_t = torch.from_numpy(codes)
        module = model.net_.module_
        times = interleave(
            {
                "bare": partial(bare_predict, module, codes_t, PREDICT_CHUNK),
                "bare_previous_chunks": partial(
                    bare_predict, module, codes_t, PREVIOUS_PREDICT_CHUNK
                ),
                "bare_one_call": partial(bare_predict, module, codes_t),
                "classifier": partial(model.predict_proba, codes),
            },
            repeats=args.repeats,
        )
        results["batch"][vocab] = {
            "seconds": times,
            **{f"{k}_rows_per_s": args.rows / float(np.median(v)) for k, v in times.items()},
            "ratio": paired_ratio(times["bare"], times["classifier"]),
            "ratio_one_call": paired_ratio(times["bare_one_call"], times["classifier"]),
            "ratio_previous_chunks": paired_ratio(
                times["bare_previous_chunks"], times["classifier"]
            ),
        }
        log(
            f"  predict vocab={vocab:>9,}: {results['batch'][vocab]['ratio']:.3f} of bare "
            f"({results['batch'][vocab]['ratio_one_call']:.3f} of one call)"
        )

    # one row through the whole Pipeline, fitted on raw data at the largest vocabulary
    frame = make_frame(args.rows, args.vocab[-1], seed=1)
    y = make_codes(args.rows, 1000, seed=1)[1]
    pipeline = make_pipeline(FieldEncoder(), classifier(network, True, 1)).fit(frame, y)
    encoder, model = pipeline[0], pipeline[-1]
    rows = [frame.iloc[[i]] for i in range(args.latency_calls)]
    encoded = [encoder.transform(row) for row in rows]
    tensors = [torch.from_numpy(row) for row in encoded]
    module = model.net_.module_
    for name, function, inputs in [
        ("pipeline", pipeline.predict_proba, rows),
        ("encoder_transform", encoder.transform, rows),
        ("classifier", model.predict_proba, encoded),
        ("bare_forward", partial(bare_predict, module), tensors),
    ]:
        results["one_row"][name] = figures = latency(call_ms(function, inputs))
        log(f"  one row {name}: median {figures['median_ms']:.3f} ms, p99 {figures['p99_ms']:.3f}")
    results["one_row_vocab"] = args.vocab[-1]
    results["one_row_fitted_categories"] = int(encoder.cardinalities_.sum())
    return results


def criteo_storages(X):
    """The Criteo frame with its string columns in each storage of ``STORAGES``."""
    strings = [c for c in X.columns if c.startswith("C")]
    return {name: X.astype(dict.fromkeys(strings, dtype)) for name, dtype in STORAGES.items()}


def json_records(X):
    """The rows of X as JSON requests decode them: None for missing, Python scalars."""
    return json.loads(X.to_json(orient="records"))  # NaN becomes null


def bench_serving(args, network, log):
    """One-row and batch Pipeline timings on real Criteo rows, in every string storage.

    Every one-row figure is interleaved with the bare module's forward on the same
    encoded row, round by round (one round: one request in every storage).
    """
    X, y = load_criteo(args.criteo, return_X_y=True, n_rows=args.serving_rows)
    pipeline = make_pipeline(FieldEncoder(), classifier(network, True, 1)).fit(X, y)
    encoder, module = pipeline[0], pipeline[-1].net_.module_
    frames = criteo_storages(X)
    records = json_records(X.iloc[: args.latency_calls])
    inputs = {name: [F.iloc[[i]] for i in range(args.latency_calls)] for name, F in frames.items()}
    inputs["json_record"] = [pd.DataFrame([r]) for r in records]
    inputs["json_from_records"] = [pd.DataFrame.from_records([r]) for r in records]
    functions = {name: pipeline.predict_proba for name in inputs}
    functions["bare_forward"] = partial(bare_predict, module)
    inputs["bare_forward"] = [torch.from_numpy(encoder.transform(r)) for r in inputs["arrow_str"]]
    for name in functions:  # warm-up: lazy look-up tables, torch's first calls
        functions[name](inputs[name][0])
    ms = {name: [] for name in functions}
    for i in range(args.latency_calls):
        names = list(functions) if i % 2 == 0 else list(functions)[::-1]
        for name in names:
            start = time.perf_counter()
            functions[name](inputs[name][i])
            ms[name].append((time.perf_counter() - start) * 1e3)
    results = {"rows": len(X), "calls": args.latency_calls, "one_row": {}, "batch": {}}
    for name, values in ms.items():
        figures = latency(values)
        figures["ratio_to_bare_forward"] = paired_ratio(values, ms["bare_forward"])
        results["one_row"][name] = figures
        log(
            f"  serving one row {name}: median {figures['median_ms']:.3f} ms, "
            f"p99 {figures['p99_ms']:.3f} ms"
        )
    batch = {name: partial(pipeline.predict_proba, F) for name, F in frames.items()}
    batch["bare_forward"] = partial(bare_predict, module, torch.from_numpy(encoder.transform(X)))
    times = interleave(batch, repeats=args.repeats)
    for name, seconds in times.items():
        results["batch"][name] = {
            "rows_per_s": len(X) / float(np.median(seconds)),
            "ratio_to_bare_forward": paired_ratio(times["bare_forward"], seconds),
        }
    return results


def summary(predict, serving):
    """The figures of the README, one (label, value, target) per line."""
    lines = []
    if predict:
        for vocab, r in predict["batch"].items():
            label = f"predict_proba rows/s vs bare forward, vocab {vocab:,}"
            lines.append((label, r["ratio"], ">= 0.9"))
        for name, r in predict["one_row"].items():
            value = f"{r['median_ms']:.2f} / {r['p99_ms']:.2f}"
            lines.append((f"one-row {name} median / p99 ms", value, ""))
    if serving:
        for name, r in serving["one_row"].items():
            label = f"Criteo one-row pipeline {name} median / p99 ms (x bare)"
            value = f"{r['median_ms']:.2f} / {r['p99_ms']:.2f} ({r['ratio_to_bare_forward']:.1f})"
            lines.append((label, value, "<= 2 / 4" if name != "bare_forward" else ""))
        for name, r in serving["batch"].items():
            label = f"Criteo batch pipeline {name} rows/s / bare forward"
            lines.append((label, r["ratio_to_bare_forward"], ""))
    return lines


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=SECTIONS, default=list(SECTIONS))
    parser.add_argument("--rows", type=int, help="rows predicted (200,000)")
    parser.add_argument("--vocab", type=int, nargs="+", help="vocabulary sizes (100k 1M 5M)")
    parser.add_argument("--repeats", type=int, help="interleaved rounds of batch timings (3)")
    parser.add_argument("--latency-calls", type=int, help="one-row calls timed (500)")
    parser.add_argument("--criteo", type=Path, default=CRITEO_8K, help="criteo_8k.txt path")
    parser.add_argument("--serving-rows", type=int, help="Criteo rows of the serving fit (8,000)")
    add_run_arguments(parser, "prediction")
    full = dict(
        rows=200_000,
        vocab=[100_000, 1_000_000, 5_000_000],
        repeats=3,
        latency_calls=500,
        serving_rows=8000,
    )
    quick = dict(rows=8192, vocab=[2_000, 50_000], repeats=2, latency_calls=20, serving_rows=2000)
    return parse_sized(parser, argv, full, quick)


def main(argv=None):
    args = parse_args(argv)
    network = QUICK_NETWORK if args.quick else NETWORK
    sections = {
        "predict": (partial(bench_predict, args, network), ""),
        "serving": (partial(bench_serving, args, network), "_criteo"),
    }
    header = {"machine": machine(), "network": network, "training": TRAINING}
    written = run_sections(args, sections, header, data={"serving": args.criteo})
    print_summary(
        summary(
            written.get("predict", {}).get("predict"), written.get("serving", {}).get("serving")
        )
    )
    return written


if __name__ == "__main__":
    main()
