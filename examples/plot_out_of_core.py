"""
Training from Parquet shards: out-of-core progress
==================================================

A click log need not fit in memory. This example streams Criteo-format rows chunk by
chunk (``../shared/data/criteo_8k``; generated Criteo-shaped clicks when it is absent):

1. the encoder learns its vocabularies one chunk at a time (``FieldEncoder.partial_fit``);
2. the encoded rows go to Parquet shards (``write_parquet_shards``), the last chunk of
   1,000 rows to a test shard;
3. ``DeepFMClassifier`` trains from the shards (``ParquetShards``), holding one shard in
   memory at a time, with early stopping on a held-out shard;

and draws the progress of the fit, epoch by epoch, with ``TrainingHistoryDisplay``.
``examples/criteo_full.py`` is the same flow as a command-line tool for files of any size.
"""

import shutil
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from sklearn.metrics import log_loss, roc_auc_score

from sklearn_deepfm import (
    DeepFMClassifier,
    FieldEncoder,
    TrainingHistoryDisplay,
    make_ctr_classification,
)
from sklearn_deepfm.datasets import iter_criteo
from sklearn_deepfm.parquet import ParquetShards, write_parquet_shards

try:
    EXAMPLES = Path(__file__).resolve().parent
except NameError:  # the gallery runs each example from its folder, without __file__
    EXAMPLES = Path.cwd()
CRITEO_8K = EXAMPLES.parents[1] / "shared" / "data" / "criteo_8k" / "criteo_8k.txt"
CHUNK = 1_000
N_ROWS = 8_000


def chunks():
    """Yield the raw rows, ``CHUNK`` at a time, with their ``label`` column."""
    if CRITEO_8K.exists():
        yield from iter_criteo(CRITEO_8K, chunksize=CHUNK, n_rows=N_ROWS)
        return
    X, y = make_ctr_classification(n_samples=N_ROWS, n_numeric=2, as_frame=True, random_state=0)
    frame = X.assign(label=y)
    for start in range(0, N_ROWS, CHUNK):
        yield frame.iloc[start : start + CHUNK]


def train_part(chunk_iter, test):
    """The training chunks (all but the last), or the last chunk (the test rows)."""
    for i, chunk in enumerate(chunk_iter):
        if (i == N_ROWS // CHUNK - 1) == test:
            yield chunk


print("data:", CRITEO_8K if CRITEO_8K.exists() else "generated Criteo-shaped clicks")

# %%
# The encoder learns from chunks
# ------------------------------
# ``partial_fit`` gives exactly the codes of ``fit`` on all the chunks at once.
encoder = FieldEncoder(numeric_encoding="log_square", min_frequency=2)
for chunk in train_part(chunks(), test=False):
    encoder.partial_fit(chunk.drop(columns="label"))
print(f"{int(encoder.cardinalities_.sum()):,} codes in {len(encoder.cardinalities_)} fields")

# %%
# Shards on disk, then a fit that reads one shard at a time
# ---------------------------------------------------------
work = Path(tempfile.mkdtemp(prefix="deepfm-shards-"))
train_paths = write_parquet_shards(
    encoder, train_part(chunks(), test=False), work / "train", rows_per_shard=1_800
)
test_paths = write_parquet_shards(encoder, train_part(chunks(), test=True), work / "test")
print(f"{len(train_paths)} training shards, {len(test_paths)} test shard(s)")

clf = DeepFMClassifier(max_epochs=8, random_state=0, n_threads=1, verbose=1)
clf.fit(ParquetShards(work / "train"))

test = ParquetShards(work / "test")
proba = clf.predict_proba(test)[:, 1]
y_test = np.searchsorted(clf.classes_, test.labels())
print(f"test AUC {roc_auc_score(y_test, proba):.4f}, log loss {log_loss(y_test, proba):.4f}")

# %%
# The progress of the fit
# -----------------------
# Each epoch visits the shards in a random order and each shard's rows in a random order;
# early stopping watches a held-out shard and keeps the best epoch's weights (epoch 0 is
# the linear start, the logistic regression the order-1 part starts from).
display = TrainingHistoryDisplay.from_estimator(clf)
display.ax_.set_title("A fit from Parquet shards, epoch by epoch")
plt.show()
shutil.rmtree(work)
