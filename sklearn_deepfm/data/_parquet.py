"""Encoded fields on disk as Parquet shards, for training on data larger than memory.

:func:`write_parquet_shards` streams raw chunks (from :func:`~sklearn_deepfm.datasets.
iter_criteo`, ``pandas.read_csv(chunksize=...)`` or any iterable of DataFrames)
through a fitted :class:`~sklearn_deepfm.FieldEncoder` into Parquet files: one int32
column per code field, float32 for value fields, the label and, optionally, a
sample weight. Any Parquet reader can read them. :class:`ParquetShards` names such
files; ``DeepFMClassifier.fit`` accepts it in place of ``X`` and then holds one
shard in memory at a time (two while the next one is read ahead).

Shuffling, as reproducible as in memory: each epoch visits the shards in a random
order and each shard's rows in a random order (a shuffle buffer of one shard).
Batches run across shard boundaries, so with one shard the batches are exactly
those of the same rows in memory.
"""

import json
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch

from ._arrays import FieldDataset, as_tensors
from ._dataset import FieldData

# Schema metadata key of the fields' description in every shard.
_METADATA_KEY = b"sklearn_deepfm"


def write_parquet_shards(
    encoder, chunks, directory, *, label="label", sample_weight=None, rows_per_shard=1_000_000
):
    """Encode raw chunks with a fitted encoder into Parquet shards, in one streaming pass.

    Parameters
    ----------
    encoder : FieldEncoder or Pipeline
        A fitted FieldEncoder (or a Pipeline whose steps before the last encode).
    chunks : iterable of DataFrame
        The raw rows, each chunk holding the encoder's columns and ``label``.
    directory : str or path-like
        Where to write ``part-00000.parquet``, ``part-00001.parquet``, ...; created
        if missing, and it must not already hold such parts.
    label : str, default="label"
        The column of the labels, stored as they are.
    sample_weight : str, default=None
        A column of non-negative row weights to store too.
    rows_per_shard : int, default=1_000_000
        Rows of each file (the last may hold fewer). Training holds one or two
        shards in memory: this bounds its memory.

    Returns
    -------
    paths : list of pathlib.Path
        The files written, in order.

    Examples
    --------
    >>> import tempfile
    >>> from sklearn_deepfm import FieldEncoder, make_ctr_classification
    >>> X, y = make_ctr_classification(n_samples=250, as_frame=True, random_state=0)
    >>> frame = X.assign(label=y)
    >>> encoder = FieldEncoder().fit(X)
    >>> chunks = (frame.iloc[i : i + 100] for i in range(0, 250, 100))
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     paths = write_parquet_shards(encoder, chunks, tmp, rows_per_shard=120)
    ...     shards = ParquetShards(tmp)
    ...     [p.name for p in paths], len(shards), shards.classes_.tolist()
    (['part-00000.parquet', 'part-00001.parquet', 'part-00002.parquet'], 250, [0, 1])
    """
    import pyarrow.parquet as pq

    transform, fields = _encoding_of(encoder)
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    if any(directory.glob("part-*.parquet")):
        raise ValueError(f"{directory} already holds part-*.parquet files; use an empty folder.")
    writer, paths, rows_in_shard = None, [], 0
    try:
        for chunk in chunks:
            table = _encoded_table(transform(chunk), chunk, fields, label, sample_weight)
            start = 0
            while start < table.num_rows:
                if writer is None:
                    paths.append(directory / f"part-{len(paths):05d}.parquet")
                    writer = pq.ParquetWriter(paths[-1], table.schema)
                take = min(rows_per_shard - rows_in_shard, table.num_rows - start)
                writer.write_table(table.slice(start, take))
                start, rows_in_shard = start + take, rows_in_shard + take
                if rows_in_shard == rows_per_shard:
                    writer.close()
                    writer, rows_in_shard = None, 0
    finally:
        if writer is not None:
            writer.close()
    if not paths:
        raise ValueError("write_parquet_shards got no rows: chunks was empty.")
    return paths


def _encoding_of(encoder):
    """Return the transform of ``encoder`` and the fields' description for the metadata."""
    steps = encoder[:-1] if hasattr(encoder, "steps") and len(encoder.steps) > 1 else encoder
    last = steps[-1] if hasattr(steps, "steps") else steps
    # one entry per output column: a multi-valued field's slots repeat its own
    widths = [columns.stop - columns.start for columns in last.field_slices_]
    fields = {
        "names": [str(name) for name in last.get_feature_names_out()],
        "cardinalities": [int(c) for c in np.repeat(last.cardinalities_, widths)],
        "value_fields": [bool(v) for v in np.repeat(last.value_fields_, widths)],
    }
    return steps.transform, fields


def _encoded_table(encoded, chunk, fields, label, sample_weight):
    import pyarrow as pa

    encoded = np.asarray(encoded)
    columns, names = [], []
    for j, name in enumerate(fields["names"]):
        dtype = np.float32 if fields["value_fields"][j] else np.int32
        columns.append(pa.array(encoded[:, j].astype(dtype)))
        names.append(name)
    if label not in chunk:
        raise ValueError(f"A chunk lacks the label column {label!r}; it has {list(chunk)[:10]}.")
    columns.append(pa.array(np.asarray(chunk[label])))
    names.append(label)
    if sample_weight is not None:
        columns.append(pa.array(np.asarray(chunk[sample_weight], dtype=np.float32)))
        names.append(sample_weight)
    metadata = {**fields, "label": label, "sample_weight": sample_weight}
    return pa.table(columns, names=names, metadata={_METADATA_KEY: json.dumps(metadata)})


class ParquetShards(FieldData):
    """Parquet files of encoded fields (see :func:`write_parquet_shards`), read a shard at a time.

    Pass it to ``DeepFMClassifier.fit`` in place of ``X`` (and no ``y``): the
    labels, weights and fields come from the files. It is also accepted by
    ``predict_proba``, ``decision_function`` and ``predict``.

    Parameters
    ----------
    paths : str, path-like or list of them
        Parquet files, or a folder whose ``*.parquet`` files are taken in name order.
    validation : ParquetShards, default=None
        Held-out rows for early stopping and calibration. When None and early
        stopping is on, the estimator holds out whole shards instead
        (``validation_fraction`` of them, at least one, drawn with its seed).

    Attributes
    ----------
    paths_ : list of pathlib.Path
    n_rows_ : list of int
        Rows of each shard.
    classes_ : ndarray
        The distinct labels of all shards, sorted (read from the label column).

    Examples
    --------
    >>> import tempfile
    >>> from sklearn_deepfm import DeepFMClassifier, FieldEncoder, make_ctr_classification
    >>> X, y = make_ctr_classification(n_samples=300, as_frame=True, random_state=0)
    >>> encoder = FieldEncoder().fit(X)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     _ = write_parquet_shards(encoder, [X.assign(label=y)], tmp, rows_per_shard=100)
    ...     clf = DeepFMClassifier(max_epochs=2, random_state=0).fit(ParquetShards(tmp))
    ...     clf.predict_proba(ParquetShards(tmp)).shape
    (300, 2)
    """

    def __init__(self, paths, *, validation=None):
        import pyarrow.parquet as pq

        self.paths_ = _resolve(paths)
        self.validation = validation
        self.n_rows_, described = [], None
        for path in self.paths_:
            try:
                metadata = pq.read_metadata(path)
                fields = json.loads(metadata.schema.to_arrow_schema().metadata[_METADATA_KEY])
            except Exception as exc:  # pyarrow raises its own types for damaged files
                raise ValueError(
                    f"{path} is not a shard written by write_parquet_shards: {exc}"
                ) from exc
            if described is not None and fields != described:
                raise ValueError(f"{path} describes other fields than {self.paths_[0]}.")
            described = fields
            self.n_rows_.append(metadata.num_rows)
        self.fields_ = described
        self._classes = None

    def __len__(self):
        return sum(self.n_rows_)

    def __getitem__(self, index):
        raise TypeError("ParquetShards is read in batches (iter_batches), not row by row.")

    @property
    def classes_(self):
        """The distinct labels of all shards, sorted (read once, then kept)."""
        if self._classes is None:
            labels = [np.unique(self._read(i, [self.fields_["label"]])[0]) for i in self._ids()]
            self._classes = np.unique(np.concatenate(labels))
        return self._classes

    @property
    def n_fields(self):
        """The number of fields (code and value columns) of every shard."""
        return len(self.fields_["names"])

    def with_targets(self, targets):
        """Return a copy whose batches (and validation's) carry ``targets(labels)`` as targets.

        The estimator sets its label map this way, leaving the user's object as it is.
        """
        copy = self.subset(self._ids())
        copy.targets = targets
        if self.validation is not None:
            copy.validation = self.validation.with_targets(targets)
        return copy

    def check_fields(self, names, cardinalities, value_fields):
        """Refuse shards whose fields are not those of a fitted model.

        Parameters
        ----------
        names : sequence of str
            The model's column names (``x0``, ``x1``, ... when it had none).
        cardinalities : ndarray of int
            The shards' codes must stay below these.
        value_fields : ndarray of bool
        """
        fields = self.fields_
        if (
            list(fields["names"]) != [str(n) for n in names]
            or np.any(np.array(fields["cardinalities"]) > cardinalities)
            or list(fields["value_fields"]) != value_fields.tolist()
        ):
            raise ValueError(
                f"The shards {self.paths_[0]} ... hold other fields than those of the first "
                f"fit ({list(names)}, cardinalities {cardinalities.tolist()}): encode them "
                "with the same fitted encoder."
            )

    def subset(self, shard_ids):
        """Return the shards at ``shard_ids`` (positions in ``paths_``) as a new dataset."""
        subset = ParquetShards.__new__(ParquetShards)
        subset.paths_ = [self.paths_[i] for i in shard_ids]
        subset.n_rows_ = [self.n_rows_[i] for i in shard_ids]
        subset.validation, subset.fields_, subset._classes = None, self.fields_, None
        subset.targets = getattr(self, "targets", None)
        return subset

    def iter_batches(self, batch_size, shuffle=False, generator=None, min_rows=1):
        """Yield ``(inputs, targets)`` batches, one shard in memory (the next read ahead).

        As ``FieldDataset.iter_batches``: a last batch of fewer than ``min_rows`` rows
        joins the batch before it.
        """
        order = self._ids()
        if shuffle and len(order) > 1:
            order = torch.randperm(len(order), generator=generator).tolist()
        carry, pending = None, None
        with ThreadPoolExecutor(max_workers=1) as reader:
            upcoming = reader.submit(self.load, order[0]) if order else None
            for position in range(len(order)):
                shard = upcoming.result()
                if position + 1 < len(order):  # decode the next shard while this one trains
                    upcoming = reader.submit(self.load, order[position + 1])
                if shuffle:
                    shard = shard.subset(torch.randperm(len(shard), generator=generator))
                if carry is not None:
                    shard = _concat(carry, shard)
                full = len(shard) - len(shard) % batch_size
                for start in range(0, full, batch_size):
                    if pending is not None:
                        yield pending
                    pending = shard.batch(slice(start, start + batch_size))
                carry = shard.subset(torch.arange(full, len(shard))) if full < len(shard) else None
        if carry is not None and len(carry) < min_rows and pending is not None:
            yield _concat(_as_dataset(pending), carry).batch(slice(None))
            return
        if pending is not None:
            yield pending
        if carry is not None:
            yield carry.batch(slice(None))

    def labels(self):
        """Return the label column of all shards, in order."""
        label = self.fields_["label"]
        return np.concatenate([self._read(i, [label])[0] for i in self._ids()])

    def split(self, fraction, seed, *, stratify=False):
        """Return ``(train, valid)``: whole shards, ``fraction`` of them (at least one) held out.

        The shards are drawn with ``seed``; ``stratify`` does not apply to whole shards.
        """
        if len(self.paths_) < 2:
            raise ValueError(
                "Early stopping needs held-out rows: pass ParquetShards(..., "
                "validation=ParquetShards(...)), write more than one shard, or set "
                "early_stopping=False."
            )
        order = np.random.RandomState(seed).permutation(len(self.paths_))
        n_valid = max(1, round(fraction * len(order)))
        return self.subset(sorted(order[n_valid:])), self.subset(order[:n_valid])

    def fingerprint(self):
        """Return ``[rows, paths]``: the shards are files, named by their paths."""
        return [len(self), [str(path) for path in self.paths_]]

    def n_batches(self, batch_size, min_rows=1):
        """Return how many batches ``iter_batches`` yields."""
        n = len(self)
        count = -(-n // batch_size)
        return count - 1 if count > 1 and 0 < n % batch_size < min_rows else count

    def load(self, shard_id):
        """Read one shard whole as a ``FieldDataset`` (targets mapped by ``targets``)."""
        fields = self.fields_
        names = [*fields["names"], fields["label"]]
        if fields["sample_weight"] is not None:
            names.append(fields["sample_weight"])
        columns = self._read(shard_id, names)
        value_fields = np.array(fields["value_fields"])
        if value_fields.any():
            X = np.column_stack([c.astype(np.float64) for c in columns[: self.n_fields]])
        else:
            X = np.column_stack(columns[: self.n_fields])
        codes, values = as_tensors(X, value_fields, np.array(fields["cardinalities"]))
        targets = getattr(self, "targets", None)  # the estimator's labels -> targets map
        y = None
        if targets is not None:
            y = torch.as_tensor(np.array(targets(columns[self.n_fields]), dtype=np.float32))
        weight = None
        if fields["sample_weight"] is not None:
            weight = torch.as_tensor(np.array(columns[-1], dtype=np.float32))
        return FieldDataset(codes, values, y, weight)

    def _read(self, shard_id, names):
        import pyarrow.parquet as pq

        path = self.paths_[shard_id]
        try:
            table = pq.read_table(path, columns=names)
        except Exception as exc:  # truncated or damaged file
            raise ValueError(f"Cannot read the shard {path}: {exc}") from exc
        if table.num_rows != self.n_rows_[shard_id]:
            raise ValueError(f"The shard {path} changed while training: its row count differs.")
        return [table.column(name).to_numpy() for name in names]

    def _ids(self):
        return list(range(len(self.paths_)))


def _resolve(paths):
    if isinstance(paths, (str, os.PathLike)):
        path = Path(paths)
        if path.is_dir():
            found = sorted(path.glob("*.parquet"))
            if not found:
                raise ValueError(f"The folder {path} holds no .parquet file.")
            return found
        paths = [path]
    paths = [Path(p) for p in paths]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing or not paths:
        raise ValueError(f"ParquetShards needs existing Parquet files; missing: {missing}.")
    return paths


def _concat(first, second):
    parts = []
    for a, b in zip(
        (first.codes, first.values, first.y, first.sample_weight),
        (second.codes, second.values, second.y, second.sample_weight),
        strict=True,
    ):
        parts.append(None if a is None else torch.cat([a, b.to(a.dtype)]))
    return FieldDataset(*parts)


def _as_dataset(batch):
    inputs, targets = batch
    return FieldDataset(
        inputs["codes"], inputs.get("values"), targets["y"], targets.get("sample_weight")
    )
