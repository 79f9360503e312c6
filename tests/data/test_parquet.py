"""Training from encoded Parquet shards on disk, and from read-only memory maps."""

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import TINY
from sklearn.metrics import roc_auc_score

from sklearn_deepfm import DeepFMClassifier, FieldEncoder, make_ctr_classification
from sklearn_deepfm.data._arrays import as_tensors
from sklearn_deepfm.parquet import ParquetShards, write_parquet_shards

SMALL = dict(TINY, random_state=0)


@pytest.fixture(scope="module")
def raw():
    X, y = make_ctr_classification(n_samples=1200, n_numeric=2, as_frame=True, random_state=0)
    encoder = FieldEncoder().fit(X)
    return X, y, encoder


def write(tmp_path, raw, rows_per_shard, chunk=250, name="shards"):
    X, y, encoder = raw
    frame = X.assign(label=y)
    chunks = (frame.iloc[start : start + chunk] for start in range(0, len(frame), chunk))
    write_parquet_shards(encoder, chunks, tmp_path / name, rows_per_shard=rows_per_shard)
    return ParquetShards(tmp_path / name)


def test_shards_hold_the_encoded_rows_in_order(tmp_path, raw):
    X, y, encoder = raw
    shards = write(tmp_path, raw, rows_per_shard=500)
    assert shards.n_rows_ == [500, 500, 200]
    codes = np.concatenate([shards.load(i).codes.numpy() for i in range(3)])
    np.testing.assert_array_equal(codes, encoder.transform(X))
    np.testing.assert_array_equal(shards.labels(), y)
    assert shards.classes_.tolist() == [0, 1]


@pytest.mark.parametrize("epochs", [1, 3])
def test_one_shard_trains_bit_identically_to_the_same_rows_in_memory(tmp_path, raw, epochs):
    X, y, encoder = raw
    shards = write(tmp_path, raw, rows_per_shard=10_000)
    params = dict(SMALL, max_epochs=epochs, early_stopping=False, dropout=0.3)
    from_disk = DeepFMClassifier(**params).fit(shards)
    in_memory = DeepFMClassifier(**params).fit(encoder.transform(X), y)
    for key, tensor in in_memory.net_.module_.state_dict().items():
        assert torch.equal(from_disk.net_.module_.state_dict()[key], tensor), key
    np.testing.assert_array_equal(
        from_disk.predict_proba(shards), in_memory.predict_proba(encoder.transform(X))
    )


def test_batches_across_shards_cover_every_row_once(tmp_path, raw):
    shards = write(tmp_path, raw, rows_per_shard=130)
    train = shards.subset(range(len(shards.paths_)))
    train.targets = np.asarray
    batches = list(train.iter_batches(100, True, torch.Generator(), min_rows=2))
    assert len(batches) == train.n_batches(100, min_rows=2)
    codes = torch.cat([inputs["codes"] for inputs, _ in batches]).numpy()
    expected = np.concatenate([shards.load(i).codes.numpy() for i in range(len(shards.paths_))])
    assert sorted(map(tuple, codes)) == sorted(map(tuple, expected))
    assert min(len(inputs["codes"]) for inputs, _ in batches) > 1


def test_held_out_shards_drive_early_stopping_and_calibration(tmp_path, raw):
    X, y, encoder = raw
    shards = write(tmp_path, raw, rows_per_shard=100)
    # batch_norm=True, as this check was sized: under batch_norm="auto" (off for these
    # 1,100 training rows) seed 0 stops at epoch 4 on its 100 validation rows, AUC 0.67
    # (seeds 1 and 2: 0.78 and 0.76; with batch normalisation 0.79, 0.78 and 0.76)
    params = dict(SMALL, max_epochs=30, early_stopping=True, batch_norm=True)
    clf = DeepFMClassifier(**params).fit(shards)
    # the split came out of the shards given, so the refit trains on all of them
    assert "valid_auc" in clf.early_stopping_history_[-1]
    assert clf.n_iter_ < len(clf.early_stopping_history_) < 30
    assert clf.calibration_ != (1.0, 0.0)
    assert roc_auc_score(y, clf.predict_proba(encoder.transform(X))[:, 1]) > 0.7


def test_a_separate_validation_set_is_used(tmp_path, raw):
    shards = write(tmp_path, raw, rows_per_shard=1000)
    valid = write(tmp_path, raw, rows_per_shard=1000, name="valid")
    clf = DeepFMClassifier(**dict(SMALL, max_epochs=2, early_stopping=True))
    clf.fit(ParquetShards(shards.paths_, validation=valid))
    assert len(clf.net_.history[:, "valid_auc"]) == 2


def test_partial_fit_and_warm_start_continue_from_shards(tmp_path, raw):
    shards = write(tmp_path, raw, rows_per_shard=400)
    clf = DeepFMClassifier(**dict(SMALL, max_epochs=1, early_stopping=False))
    clf.partial_fit(shards).partial_fit(shards)
    assert clf.n_iter_ == 2
    clf.set_params(warm_start=True).fit(shards)
    assert clf.n_iter_ == 3


def test_y_with_shards_is_refused(tmp_path, raw):
    shards = write(tmp_path, raw, rows_per_shard=1000)
    with pytest.raises(ValueError, match="labels and weights come from the shards"):
        DeepFMClassifier(**SMALL).fit(shards, np.zeros(len(shards)))


def test_a_truncated_shard_is_named(tmp_path, raw):
    shards = write(tmp_path, raw, rows_per_shard=500)
    damaged = shards.paths_[1]
    damaged.write_bytes(damaged.read_bytes()[: damaged.stat().st_size // 2])
    with pytest.raises(ValueError, match="part-00001.parquet"):
        ParquetShards(tmp_path / "shards")


def test_a_foreign_parquet_file_is_refused(tmp_path):
    import pandas as pd

    pd.DataFrame({"a": [1, 2]}).to_parquet(tmp_path / "other.parquet")
    with pytest.raises(ValueError, match="not a shard written by write_parquet_shards"):
        ParquetShards(tmp_path / "other.parquet")


def test_shards_of_other_fields_are_refused(tmp_path, raw):
    shards = write(tmp_path, raw, rows_per_shard=1000)
    X, y = make_ctr_classification(
        n_samples=300, cardinalities=(5, 4, 3), as_frame=True, random_state=1
    )
    other_encoder = FieldEncoder().fit(X)
    write_parquet_shards(other_encoder, [X.assign(label=y)], tmp_path / "other")
    clf = DeepFMClassifier(**dict(SMALL, max_epochs=1)).fit(shards)
    with pytest.raises(ValueError, match="other fields than those of the first fit"):
        clf.predict_proba(ParquetShards(tmp_path / "other"))


def test_read_only_memmap_is_shared_not_copied(tmp_path, raw):
    X, y, encoder = raw
    codes = encoder.transform(X)
    path = tmp_path / "codes.npy"
    np.save(path, codes)
    mapped = np.load(path, mmap_mode="r")
    assert not mapped.flags.writeable
    tensor, _ = as_tensors(mapped, np.zeros(codes.shape[1], bool), codes.max(axis=0) + 1)
    assert tensor.data_ptr() == mapped.ctypes.data  # the file's pages, no copy
    params = dict(SMALL, max_epochs=2, early_stopping=True)
    from_map = DeepFMClassifier(**params).fit(mapped, y).predict_proba(mapped)
    from_array = DeepFMClassifier(**params).fit(codes, y).predict_proba(codes)
    np.testing.assert_array_equal(from_map, from_array)


MEMMAP_CHILD = """
import sys, threading, time
import numpy as np, torch
torch.set_num_threads(1)
from sklearn_deepfm import DeepFMClassifier

def anon_kib():
    for line in open("/proc/self/status"):
        if line.startswith("RssAnon"):
            return int(line.split()[1])

path, copy = sys.argv[1], sys.argv[2] == "copy"
codes = np.load(path, mmap_mode="r")
if copy:  # the control: fit as it was before, copying read-only input whole
    import sklearn_deepfm.estimators._base as base
    as_tensors = base.as_tensors
    base.as_tensors = lambda X, *args: as_tensors(np.array(X), *args)
y = (np.arange(len(codes)) % 3 == 0).astype(int)
clf = DeepFMClassifier(embedding_dim=2, hidden_layer_sizes=(4,), batch_size=8192,
                       max_epochs=1, early_stopping=True, random_state=0)
clf.fit(codes[:2000], y[:2000])  # torch's and skorch's own allocations, before measuring
start, peak, done = anon_kib(), [0], [False]

def sample():  # RssAnon has no high-water mark: sample it while fit runs
    while not done[0]:
        peak[0] = max(peak[0], anon_kib())
        time.sleep(0.005)

thread = threading.Thread(target=sample)
thread.start()
clf.fit(codes, y)
done[0] = True
thread.join()
print((peak[0] - start) * 1024)
"""


def test_a_read_only_memmap_is_not_copied_whole_during_fit(tmp_path):
    """Fit on a read-only memmap allocates a whole array less than fit copying it did.

    The peak of anonymous memory (the file's pages are page cache, not counted) is
    compared with the control: the same fit with the input copied whole first, as
    ``fit`` did before. Training itself allocates the same in both, give or take the
    allocator: a single run's peak varied by up to 80 MB, and only upward, so each
    arm's growth is the lowest of three runs.
    """
    import subprocess
    import sys

    rows, fields = 1_000_000, 32
    codes = np.lib.format.open_memmap(tmp_path / "codes.npy", "w+", np.int32, (rows, fields))
    codes[:] = np.random.default_rng(0).integers(0, 50, (rows, fields), dtype=np.int32)
    codes.flush()
    del codes
    size = rows * fields * 4  # 122 MiB, well above the allocator's noise (about 10 MiB)
    runs = {"memmap": [], "copy": []}
    for _ in range(3):
        for mode, peaks in runs.items():
            done = subprocess.run(
                [sys.executable, "-c", MEMMAP_CHILD, str(tmp_path / "codes.npy"), mode],
                capture_output=True,
                text=True,
                timeout=240,
                env={**__import__("os").environ, "OMP_NUM_THREADS": "1"},
            )
            assert done.returncode == 0, done.stderr[-2000:]
            peaks.append(int(done.stdout.split()[-1]))
    growth = {mode: min(peaks) for mode, peaks in runs.items()}
    assert growth["copy"] - growth["memmap"] > 0.6 * size, runs


def test_weights_from_a_shard_column_train_as_sample_weight_and_the_model_saves(tmp_path, raw):
    import io

    from sklearn_deepfm import load, save

    X, y, encoder = raw
    weight = np.random.default_rng(0).uniform(0.1, 3, len(X))
    frame = X.assign(label=y, weight=weight)
    write_parquet_shards(encoder, [frame], tmp_path / "w", sample_weight="weight")
    params = dict(SMALL, max_epochs=2, early_stopping=False)
    from_disk = DeepFMClassifier(**params).fit(ParquetShards(tmp_path / "w"))
    in_memory = DeepFMClassifier(**params).fit(encoder.transform(X), y, sample_weight=weight)
    unweighted = DeepFMClassifier(**params).fit(encoder.transform(X), y)
    codes = encoder.transform(X)
    np.testing.assert_array_equal(from_disk.predict_proba(codes), in_memory.predict_proba(codes))
    assert not np.array_equal(from_disk.predict_proba(codes), unweighted.predict_proba(codes))
    buffer = io.BytesIO()
    save(from_disk, buffer)
    loaded = load(io.BytesIO(buffer.getvalue()))
    np.testing.assert_array_equal(loaded.predict_proba(codes), from_disk.predict_proba(codes))


def test_multi_valued_fields_train_from_shards_as_from_memory(tmp_path):
    rng = np.random.default_rng(0)
    tags = np.array(["a", "b", "c", "d", "e"])
    X = pd.DataFrame(
        {
            "user": rng.integers(0, 30, 600).astype(str),
            "tags": [
                "|".join(rng.choice(tags, rng.integers(1, 4), replace=False)) for _ in range(600)
            ],
        }
    )
    odd_user = X["user"].astype(int) % 2 == 1
    y = (X["tags"].str.contains("a") == odd_user).to_numpy()
    encoder = FieldEncoder(multi_valued={"tags": "|"}).fit(X)
    write_parquet_shards(encoder, [X.assign(label=y)], tmp_path / "mv", rows_per_shard=10_000)
    shards = ParquetShards(tmp_path / "mv")
    params = dict(SMALL, max_epochs=2, early_stopping=False)
    from_disk = DeepFMClassifier(**params).fit(shards)
    in_memory = DeepFMClassifier(**params).fit(encoder.transform(X), y)
    assert [(s.start, s.stop) for s in from_disk.field_slices_] == [(0, 1), (1, 4)]
    np.testing.assert_array_equal(
        from_disk.predict_proba(shards), in_memory.predict_proba(encoder.transform(X))
    )
