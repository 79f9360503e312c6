"""Criteo at any size on one machine: streamed encoder fit, Parquet shards, out-of-core training.
==============================================================================================

Memory stays bounded by one chunk of text, one shard of codes and the model,
whatever the number of rows:

1. fit the encoder's vocabularies chunk by chunk (``FieldEncoder.partial_fit``);
2. encode the rows into Parquet shards (``write_parquet_shards``), one pass for the
   training rows and one for the held-out test rows (every tenth row);
3. train ``DeepFMClassifier`` from the shards (``ParquetShards``), early stopping on
   held-out shards;
4. report held-out AUC and log loss.

Run on the raw Kaggle ``train.txt`` (or the terabyte days, ``.gz`` too)::

    python examples/criteo_full.py train.txt --work-dir /data/criteo-shards --verbose 2

and on the slice shipped beside the project, in a few seconds::

    python examples/criteo_full.py ../shared/data/criteo_8k/train.txt --max-rows 8000
"""

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
from sklearn.metrics import log_loss, roc_auc_score

from sklearn_deepfm import DeepFMClassifier, FieldEncoder
from sklearn_deepfm.datasets import iter_criteo
from sklearn_deepfm.parquet import ParquetShards, write_parquet_shards

TEST_EVERY = 10  # every tenth row is held out for the final score


def main(argv=None):
    args = parse_args(argv)
    work = Path(args.work_dir or tempfile.mkdtemp(prefix="criteo-shards-"))
    started = time.perf_counter()

    encoder = FieldEncoder(numeric_encoding="log_square", min_frequency=args.min_frequency)
    rows = 0
    for chunk in chunks(args, test=False):
        encoder.partial_fit(chunk.drop(columns="label"))
        rows += len(chunk)
        say(args, f"encoder: {rows:,} training rows counted")
    say(args, f"encoder fitted: {int(encoder.cardinalities_.sum()):,} codes in all", force=True)

    for part, test in (("train", False), ("test", True)):
        if (work / part).exists():
            shutil.rmtree(work / part)
        paths = write_parquet_shards(
            encoder, chunks(args, test=test), work / part, rows_per_shard=args.rows_per_shard
        )
        say(args, f"{part}: {len(paths)} shard(s) in {work / part}", force=True)

    clf = DeepFMClassifier(
        batch_size=args.batch_size,
        max_epochs=args.max_epochs,
        random_state=args.random_state,
        verbose=args.verbose,
    )
    clf.fit(ParquetShards(work / "train"))
    test = ParquetShards(work / "test")
    proba = clf.predict_proba(test)[:, 1]
    y = np.searchsorted(clf.classes_, test.labels())
    auc, loss = roc_auc_score(y, proba), log_loss(y, proba)
    print(
        f"held-out rows {len(y):,}: AUC {auc:.4f}, log loss {loss:.4f} "
        f"({clf.n_iter_} epochs, {time.perf_counter() - started:.0f} s in all)"
    )
    if args.work_dir is None:
        shutil.rmtree(work)
    return auc, loss


def chunks(args, *, test):
    """Yield the training (or test) rows of the files, chunk by chunk."""
    seen = 0
    for path in args.paths:
        remaining = None if args.max_rows is None else args.max_rows - seen
        if remaining is not None and remaining <= 0:
            return
        for chunk in iter_criteo(path, chunksize=args.chunksize, n_rows=remaining):
            held_out = (np.arange(seen, seen + len(chunk)) % TEST_EVERY) == TEST_EVERY - 1
            seen += len(chunk)
            yield chunk[held_out if test else ~held_out]


def say(args, text, force=False):
    if args.verbose or force:
        print(text, flush=True)


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="+", help="raw Criteo files (train.txt, day_0.gz, ...)")
    parser.add_argument("--work-dir", help="where the shards go (default: a temporary folder)")
    parser.add_argument("--max-rows", type=int, help="read at most this many rows in all")
    parser.add_argument("--chunksize", type=int, default=500_000, help="text rows per chunk")
    parser.add_argument("--rows-per-shard", type=int, default=1_000_000)
    parser.add_argument("--min-frequency", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=1024)
    parser.add_argument("--max-epochs", type=int, default=50)
    parser.add_argument("--random-state", type=int, default=0)
    parser.add_argument("--verbose", type=int, default=1, help="0 quiet, 1 epochs, 2 batches")
    args = parser.parse_args(argv)
    if args.max_rows is not None and args.max_rows < TEST_EVERY:
        parser.error(f"--max-rows must be at least {TEST_EVERY}")
    return args


if __name__ == "__main__":
    main()
