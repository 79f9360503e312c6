"""Data-parallel training: 2 processes x 1 thread against 1 process x 1 thread, on Frappe.

Trains ``make_pipeline(FieldEncoder(), DeepFMClassifier(random_state=0))`` on the
202,027 rows of ``../shared/data/frappe_202k`` and scores it on the 57,722 rows of
``../shared/data/frappe``, once in one process and once under ``torchrun
--nproc_per_node=2`` (gloo), each process with one torch thread. Reports rows/s of
training (epochs x training rows / fit seconds), the epochs run and the held-out AUC
and log loss of both. With fixed epochs (``--max-epochs``) also the ceiling of
data-parallel training on the machine: two plain processes at once, each fitting its
half of the rows with half the batch and no communication at all, their rows/s summed.
And, for the route chosen, the batch iteration of
``BatchIterator`` against a ``DataLoader`` with a ``DistributedSampler`` (what
Hugging Face Accelerate shards) on the same rows.

Run ``python benchmarks/distributed.py`` (about 4 minutes on 2 cores; ``--dense`` for
``sparse_embeddings=False`` in the one process too: two processes always take dense
embedding updates), or
``--max-epochs 2 --rows 20000`` for a smoke run. Results: ``results/distributed.json``
(``--out`` and ``--name`` change the folder and the file name).
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import FRAPPE, FRAPPE_202K, ROOT, add_output_arguments, machine, write_json

ENV = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT))  # of every child process


def worker(args):
    """One process of a run: fit, score, and (rank 0) write the figures as JSON."""
    import numpy as np
    import torch
    from sklearn.metrics import log_loss, roc_auc_score
    from sklearn.pipeline import make_pipeline

    from sklearn_deepfm import DeepFMClassifier, FieldEncoder
    from sklearn_deepfm.datasets import load_frappe

    torch.set_num_threads(1)
    X, y = load_frappe(FRAPPE_202K, return_X_y=True)
    X_test, y_test = load_frappe(FRAPPE, return_X_y=True)
    X, y = X.iloc[: args.rows], np.asarray(y)[: args.rows]
    params = {"random_state": 0, "sparse_embeddings": not args.dense}
    if args.batch_size:
        params["batch_size"] = args.batch_size
    if args.half is not None:  # the ceiling's process: every other row (its batch: half)
        X, y = X.iloc[args.half :: 2], y[args.half :: 2]
    if args.max_epochs:
        params.update(max_epochs=args.max_epochs, early_stopping=False)
    model = make_pipeline(FieldEncoder(), DeepFMClassifier(**params))
    start = time.perf_counter()
    model.fit(X, y)
    seconds = time.perf_counter() - start
    clf = model[-1]
    n_train = len(X) - (len(X) // 10 if clf.net_.train_split is not None else 0)
    proba = model.predict_proba(X_test)[:, 1]
    rank = torch.distributed.get_rank() if torch.distributed.is_initialized() else 0
    if rank == 0:
        figures = {
            "fit_seconds": seconds,
            "epochs": clf.n_iter_,
            "batch_size": clf.batch_size_,
            "train_rows": n_train,
            "rows_per_s": clf.n_iter_ * n_train / seconds,
            "auc": roc_auc_score(y_test, proba),
            "log_loss": log_loss(y_test, proba),
        }
        Path(args.worker_out).write_text(json.dumps(figures))


def iteration(rows):
    """Rows/s of one pass of batches: BatchIterator slices against a DataLoader's collation."""
    import torch
    from torch.utils.data import DataLoader, DistributedSampler, TensorDataset

    from sklearn_deepfm.data import BatchIterator, FieldDataset

    torch.set_num_threads(1)
    codes = torch.randint(0, 1000, (rows, 10))
    y = torch.rand(rows)
    # rank 0 of 2, 512 rows per rank and step in both
    ours = BatchIterator(FieldDataset(codes, y=y), 1024, shuffle=True, part=(0, 2))
    sampler = DistributedSampler(TensorDataset(codes, y), num_replicas=2, rank=0, seed=0)
    theirs = DataLoader(TensorDataset(codes, y), batch_size=512, sampler=sampler)
    timings = {}
    for name, batches in (("batch_iterator", ours), ("dataloader", theirs)):
        count = sum(1 for _ in batches)  # warm-up pass
        passes = []
        for _ in range(5):  # the fastest pass: the least disturbed by other jobs
            start = time.perf_counter()
            sum(1 for _ in batches)
            passes.append(time.perf_counter() - start)
        timings[name] = {"batches": count, "seconds": min(passes)}
    return {
        **timings,
        "dataloader_over_batch_iterator_seconds": timings["dataloader"]["seconds"]
        / timings["batch_iterator"]["seconds"],
    }


def worker_command(command, args, out, half=None):
    worker_args = ["--worker", "--worker-out", out, "--rows", str(args.rows)]
    worker_args += ["--max-epochs", str(args.max_epochs), "--batch-size", str(args.batch_size)]
    worker_args += ["--dense"] if args.dense else []
    worker_args += [] if half is None else ["--half", str(half)]
    return [*command, __file__, *worker_args]


def run(command, args, out):
    subprocess.run(worker_command(command, args, out), env=ENV, check=True, cwd=ROOT)
    return json.loads(Path(out).read_text())


def ceiling(args, tmp, batch_size):
    """Two independent processes at once on half the rows each: their summed rows/s.

    Each takes half of ``batch_size``, the one process's batch, as a rank of
    two does.
    """
    args = argparse.Namespace(**{**vars(args), "batch_size": batch_size // 2})
    outs = [str(tmp / f"half{half}.json") for half in (0, 1)]
    children = [
        subprocess.Popen(worker_command([sys.executable], args, out, half), env=ENV, cwd=ROOT)
        for half, out in enumerate(outs)
    ]
    if any(child.wait() for child in children):
        raise RuntimeError("a process of the ceiling run failed")
    halves = [json.loads(Path(out).read_text()) for out in outs]
    return {"halves": halves, "rows_per_s": sum(h["rows_per_s"] for h in halves)}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--worker-out", help=argparse.SUPPRESS)
    parser.add_argument("--rows", type=int, default=202_027, help="training rows to use")
    parser.add_argument("--max-epochs", type=int, default=0, help="fixed epochs (0: early stop)")
    parser.add_argument("--dense", action="store_true", help="dense Adam for the embeddings")
    parser.add_argument("--batch-size", type=int, default=0, help="global batch (0: default)")
    add_output_arguments(parser, "distributed")
    parser.add_argument("--half", type=int, choices=[0, 1], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return worker(args)
    if not FRAPPE_202K.exists():
        sys.exit(f"{FRAPPE_202K} is absent: this benchmark needs the shared Frappe data.")
    tmp = Path(tempfile.mkdtemp())
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
    results = {"machine": machine()}
    results["one_process"] = run([sys.executable], args, str(tmp / "one.json"))
    results["two_processes"] = run([*torchrun, "--nproc_per_node=2"], args, str(tmp / "two.json"))
    results["speedup"] = (
        results["two_processes"]["rows_per_s"] / results["one_process"]["rows_per_s"]
    )
    if args.max_epochs:
        results["ceiling"] = ceiling(args, tmp, results["one_process"]["batch_size"])
        results["ceiling_speedup"] = (
            results["ceiling"]["rows_per_s"] / results["one_process"]["rows_per_s"]
        )
    results["iteration"] = iteration(args.rows)
    for name in ("one_process", "two_processes"):
        r = results[name]
        print(
            f"{name:14s} {r['rows_per_s']:9,.0f} rows/s  {r['epochs']:3d} epochs  "
            f"AUC {r['auc']:.4f}  log loss {r['log_loss']:.4f}"
        )
    target = "1.4 (sparse_embeddings=False)" if args.dense else "1.0 (defaults)"
    print(f"speed-up 2 processes / 1: {results['speedup']:.2f} (target >= {target})")
    if "ceiling" in results:
        print(
            f"ceiling, 2 independent half-fits / 1 process: {results['ceiling_speedup']:.2f} "
            f"({results['ceiling']['rows_per_s']:,.0f} rows/s, no communication)"
        )
    ratio = results["iteration"]["dataloader_over_batch_iterator_seconds"]
    print(f"DataLoader + DistributedSampler / BatchIterator, time per pass: {ratio:.1f}")
    print(f"wrote {write_json(results, args.out, args.name)}")


if __name__ == "__main__":
    main()
