"""Data larger than memory: the whole raw-file-to-model flow, its memory and its speed.

For each size given (``--rows``), a Criteo-shaped raw TSV (label, 13 integer columns
with missing values, 26 hex-string columns with Zipf-distributed values, as Kaggle's
``train.txt``) is generated on disk, then a child process runs the flow of
``examples/criteo_full.py`` and reports, from ``/proc/self/status``:

- ``encoder``: ``FieldEncoder.partial_fit`` over text chunks, rows/s;
- ``shards``: ``write_parquet_shards``, rows/s of encoding into Parquet;
- ``train``: one epoch of ``DeepFMClassifier.fit(ParquetShards)``, rows/s;
- peak RSS (``VmHWM``) of the whole flow.

At the smallest size the in-memory reference runs too, on the same rows, each in its
own child: ``FieldEncoder.fit`` on the whole frame (against ``partial_fit``) and one
epoch of ``fit`` on the codes held in memory (against the shards).

Run ``python benchmarks/out_of_core.py --rows 2000000 10000000`` (about 25 minutes on
2 cores; the 10M-row file takes 2.4 GB, in ``--work-dir``); ``--rows 20000`` is a smoke
run. Results: ``results/out_of_core.json`` (``--out`` and ``--name`` change the folder and
the file name).
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _common import add_output_arguments, machine, write_json

CHUNK = 500_000
# Criteo's 26 categorical cardinalities, scaled down so the model stays small.
CARDINALITIES = [
    1460,
    583,
    10131,
    2202,
    305,
    24,
    12517,
    633,
    3,
    93145,
    5683,
    8351,
    3194,
    27,
    14992,
    5461,
    10,
    5652,
    2173,
    4,
    7046,
    18,
    15,
    28616,
    105,
    14256,
]


def generate(path, n_rows, seed=0):
    """Write ``n_rows`` Criteo-shaped lines to ``path`` (tab-separated, no header)."""
    rng = np.random.default_rng(seed)
    with open(path, "w") as out:
        for start in range(0, n_rows, CHUNK):
            n = min(CHUNK, n_rows - start)
            columns = [(rng.random(n) < 0.25).astype(int).astype(str)]
            for _ in range(13):
                values = rng.zipf(1.6, n).astype(str).astype(object)
                values[rng.random(n) < 0.1] = ""
                columns.append(values)
            for cardinality in CARDINALITIES:
                codes = np.minimum(rng.zipf(1.1, n), cardinality)
                values = np.char.mod("%08x", codes * 2654435761 % 2**32).astype(object)
                values[rng.random(n) < 0.03] = ""
                columns.append(values)
            lines = ["\t".join(row) for row in zip(*columns, strict=True)]
            out.write("\n".join(lines) + "\n")


CHILD = r"""
import json, sys, time
import numpy as np, torch
torch.set_num_threads(1)
from sklearn_deepfm import DeepFMClassifier, FieldEncoder
from sklearn_deepfm.datasets import iter_criteo, load_criteo
from sklearn_deepfm.parquet import ParquetShards, write_parquet_shards

mode, path, work = sys.argv[1], sys.argv[2], sys.argv[3]
chunk, rows_per_shard = int(sys.argv[4]), int(sys.argv[5])
CLF = dict(max_epochs=1, early_stopping=False, random_state=0, embedding_dim=16,
           hidden_layer_sizes=(128, 128), batch_size=4096)
out = {}

def peak_mib():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM"):
            return int(line.split()[1]) / 1024

def timed(name, rows, fn):
    start = time.perf_counter()
    result = fn()
    seconds = time.perf_counter() - start
    out[name] = {"seconds": seconds, "rows_per_s": rows / seconds}
    return result

def stream_encoder():
    encoder = FieldEncoder(numeric_encoding="log_square", min_frequency=2)
    for frame in iter_criteo(path, chunksize=chunk):
        encoder.partial_fit(frame.drop(columns="label"))
    encoder.cardinalities_  # the vocabularies' sort, which partial_fit defers, timed too
    return encoder

if mode == "flow":
    n = sum(1 for _ in open(path))
    encoder = timed("encoder_partial_fit", n, stream_encoder)
    chunks = iter_criteo(path, chunksize=chunk)
    timed("write_shards", n, lambda: write_parquet_shards(
        encoder, chunks, work + "/shards", rows_per_shard=rows_per_shard))
    shards = ParquetShards(work + "/shards")
    timed("train_out_of_core", n, lambda: DeepFMClassifier(**CLF).fit(shards))
elif mode == "memory_encoder":
    frame = load_criteo(path).drop(columns="label")
    encoder = FieldEncoder(numeric_encoding="log_square", min_frequency=2)
    timed("encoder_fit", len(frame), lambda: encoder.fit(frame))
    def chunked():
        for start in range(0, len(frame), chunk):
            encoder.partial_fit(frame.iloc[start:start + chunk])
        return encoder.cardinalities_  # the deferred sort, timed too
    timed("encoder_partial_fit_in_memory", len(frame), chunked)
elif mode == "memory_train":
    shards = ParquetShards(work + "/shards")
    parts = [shards.load(i) for i in range(len(shards.paths_))]
    codes = np.concatenate([p.codes.numpy() for p in parts])
    y = shards.labels()
    # alternating, twice each (ABBA), so that a drift in the machine's load cancels
    for name, X, y_ in [("in_memory", codes, y), ("out_of_core", shards, None)] * 2:
        timed(f"{name}_{len(out)}", len(y), lambda: DeepFMClassifier(**CLF).fit(X, y_))
    for name in ("in_memory", "out_of_core"):
        runs = [v for k, v in out.items() if k.startswith(name)]
        out["train_" + name] = {"rows_per_s": sum(r["rows_per_s"] for r in runs) / len(runs)}
out["peak_rss_mib"] = peak_mib()
print(json.dumps(out))
"""


def child(mode, path, work, chunk, rows_per_shard):
    env = dict(os.environ, OMP_NUM_THREADS="1")
    done = subprocess.run(
        [sys.executable, "-c", CHILD, mode, str(path), str(work), str(chunk), str(rows_per_shard)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode:
        raise RuntimeError(done.stderr[-3000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[2_000_000, 10_000_000])
    parser.add_argument("--work-dir", help="where the raw files and shards go")
    parser.add_argument("--chunksize", type=int, default=250_000, help="text rows per chunk")
    parser.add_argument("--rows-per-shard", type=int, default=500_000)
    add_output_arguments(parser, "out_of_core")
    args = parser.parse_args(argv)
    work_root = Path(args.work_dir or tempfile.mkdtemp(prefix="out-of-core-"))
    results = {"rows": {}, "chunksize": args.chunksize, "rows_per_shard": args.rows_per_shard}
    results["machine"] = machine()  # of this process; every child runs one torch thread
    settings = (args.chunksize, args.rows_per_shard)
    for i, n_rows in enumerate(sorted(args.rows)):
        work = work_root / str(n_rows)
        work.mkdir(parents=True, exist_ok=True)
        raw = work / "train.txt"
        start = time.perf_counter()
        generate(raw, n_rows)
        entry = {"raw_bytes": raw.stat().st_size, "generate_s": time.perf_counter() - start}
        entry.update(child("flow", raw, work, *settings))
        codes_bytes = n_rows * 39 * 4
        entry["codes_mib"] = codes_bytes / 2**20
        if i == 0:  # the in-memory references, where the data fits
            entry["memory_encoder"] = child("memory_encoder", raw, work, *settings)
            entry["memory_train"] = child("memory_train", raw, work, *settings)
        results["rows"][n_rows] = entry
        print(json.dumps({n_rows: entry}, indent=1), flush=True)
        shutil.rmtree(work)
    report(results)
    print(f"wrote {write_json(results, args.out, args.name)}")
    if args.work_dir is None:
        shutil.rmtree(work_root)


def report(results):
    sizes = sorted(results["rows"])
    small, large = results["rows"][sizes[0]], results["rows"][sizes[-1]]
    encoder, train = small["memory_encoder"], small["memory_train"]
    train_ratio = train["train_out_of_core"]["rows_per_s"] / train["train_in_memory"]["rows_per_s"]
    encoder_ratio = (
        encoder["encoder_partial_fit_in_memory"]["rows_per_s"]
        / encoder["encoder_fit"]["rows_per_s"]
    )
    rows = [
        (
            "peak RSS of the flow, MiB",
            ", ".join(f"{n:,}: {results['rows'][n]['peak_rss_mib']:.0f}" for n in sizes),
        ),
        (
            "peak RSS largest / smallest",
            f"{large['peak_rss_mib'] / small['peak_rss_mib']:.2f} (target <= 1.2)",
        ),
        (
            "peak RSS largest / its codes",
            f"{large['peak_rss_mib'] / large['codes_mib']:.2f} (target < 1)",
        ),
        ("encoding rows/s (write_parquet_shards)", f"{large['write_shards']['rows_per_s']:,.0f}"),
        ("training rows/s out of core / in memory", f"{train_ratio:.2f} (target >= 0.8)"),
        ("partial_fit over chunks / fit on the frame", f"{encoder_ratio:.2f} (target >= 0.8)"),
    ]
    for label, value in rows:
        print(f"{label:45s} {value}")


if __name__ == "__main__":
    main()
