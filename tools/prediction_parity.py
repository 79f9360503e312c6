"""Record, or check, the library's outputs on fixed seeds: a guard for refactors.

A refactor that "changes no behaviour" must give the same encodings, probabilities and
predictions, bit for bit, on the same machine. Run ``record`` before the change and
``check`` after it::

    python tools/prediction_parity.py record /tmp/parity.npz
    python tools/prediction_parity.py check /tmp/parity.npz

Only the public API is used (plus one patched ``forward`` to simulate a crash), so the
script survives the moves it guards. Real data comes from ``../shared/data``.
"""

import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.pipeline import make_pipeline

from sklearn_deepfm import DeepFMClassifier, DeepFMRegressor, FieldEncoder, load, save
from sklearn_deepfm.datasets import (
    CRITEO_CAT_COLUMNS,
    load_criteo,
    load_frappe,
    load_movielens_100k,
)
from sklearn_deepfm.parquet import ParquetShards, write_parquet_shards

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
MODELS = ["deepfm", "fm", "lr", "dnn", "wide_deep", "fnn", "ipnn", "opnn"]
SMALL = dict(embedding_dim=8, hidden_layer_sizes=(32, 32), max_epochs=3, random_state=0)


def criteo():
    X, y = load_criteo(DATA / "criteo_8k" / "criteo_8k.txt", return_X_y=True)
    return X.iloc[:6400], y[:6400], X.iloc[6400:]


def frappe():
    X, y = load_frappe(DATA / "frappe" / "frappe.train.libfm", return_X_y=True)
    return X.iloc[:20000], y[:20000], X.iloc[50000:]


def movielens():
    X, rating = load_movielens_100k(DATA / "movielens_100k", return_X_y=True)
    return X.iloc[:30000], rating[:30000], X.iloc[90000:]


def encodings(out):
    X, _, X_test = criteo()
    for encoding in ("quantile", "log_square", "value"):
        encoder = FieldEncoder(numeric_encoding=encoding, min_frequency=2).fit(X)
        codes = encoder.transform(X_test)
        out[f"encode/criteo/{encoding}"] = np.asarray(codes, dtype=np.float64)
        out[f"cardinalities/criteo/{encoding}"] = encoder.cardinalities_
        back = encoder.inverse_transform(codes)
        out[f"inverse/criteo/{encoding}"] = np.asarray([str(v) for v in back[:, :3].ravel()])
        one_row = encoder.transform(X_test.iloc[:1])
        out[f"encode_one/criteo/{encoding}"] = np.asarray(one_row, dtype=np.float64)
    X, _, X_test = movielens()
    encoder = FieldEncoder(multi_valued={"genres": "|"}, max_categories=500).fit(X)
    out["encode/movielens/multi_valued"] = encoder.transform(X_test).to_numpy()
    arrow = X_test.astype({"genres": "string[pyarrow]", "zip": "string[pyarrow]"})
    out["encode/movielens/arrow"] = encoder.transform(arrow).to_numpy()
    out["encode/movielens/category"] = encoder.transform(
        X_test.astype({"occupation": "category"})
    ).to_numpy()


def pipelines(out):
    X, y, X_test = frappe()
    pipe = make_pipeline(
        FieldEncoder(categorical_features=list(X.columns)),
        DeepFMClassifier(max_epochs=2, random_state=0),
    )
    out["proba/frappe/default"] = pipe.fit(X, y).predict_proba(X_test)
    X, y, X_test = criteo()
    for model in MODELS:
        pipe = make_pipeline(
            FieldEncoder(categorical_features=list(CRITEO_CAT_COLUMNS)),
            DeepFMClassifier(model=model, **SMALL),
        )
        out[f"proba/criteo/{model}"] = pipe.fit(X, y).predict_proba(X_test)
    pipe = make_pipeline(
        FieldEncoder(numeric_encoding="value"), DeepFMClassifier(sparse_embeddings=False, **SMALL)
    )
    out["proba/criteo/value_dense"] = pipe.fit(X, y).predict_proba(X_test)
    X, rating, X_test = movielens()
    categorical = ["user_id", "item_id", "gender", "occupation", "zip"]
    for pooling in ("mean", "sum"):
        pipe = make_pipeline(
            FieldEncoder(categorical_features=categorical, multi_valued={"genres": "|"}),
            DeepFMClassifier(pooling=pooling, **SMALL),
        )
        out[f"proba/movielens/{pooling}"] = pipe.fit(X, rating >= 4).predict_proba(X_test)
    pipe = make_pipeline(
        FieldEncoder(categorical_features=categorical, multi_valued={"genres": "|"}),
        DeepFMRegressor(**SMALL),
    )
    out["predict/movielens/regressor"] = pipe.fit(X, rating).predict(X_test)
    with tempfile.TemporaryDirectory() as tmp:
        save(pipe, Path(tmp) / "model.deepfm")
        out["predict/movielens/regressor_loaded"] = load(Path(tmp) / "model.deepfm").predict(X_test)


def parquet(out):
    X, y, X_test = criteo()
    encoder = FieldEncoder(categorical_features=list(CRITEO_CAT_COLUMNS)).fit(X)
    frame = X.assign(label=y)
    chunks = [frame.iloc[i : i + 2000] for i in range(0, len(frame), 2000)]
    with tempfile.TemporaryDirectory() as tmp:
        paths = write_parquet_shards(encoder, chunks, tmp, rows_per_shard=1500)
        clf = DeepFMClassifier(early_stopping=True, **SMALL).fit(ParquetShards(paths))
        out["proba/criteo/parquet"] = clf.predict_proba(encoder.transform(X_test))
        shards = ParquetShards(paths[:-1], validation=ParquetShards(paths[-1:]))
        clf = DeepFMClassifier(early_stopping=True, **SMALL).fit(shards)
        out["proba/criteo/parquet_validation"] = clf.predict_proba(encoder.transform(X_test))


class Crash(Exception):
    pass


def resumed_checkpoint(out):
    X, y, X_test = criteo()
    encoder = FieldEncoder(categorical_features=list(CRITEO_CAT_COLUMNS)).fit(X)
    codes, codes_test = encoder.transform(X), encoder.transform(X_test)
    params = dict(SMALL, max_epochs=5, early_stopping=True, refit=True)
    uninterrupted = DeepFMClassifier(**params).fit(codes, y)
    out["proba/criteo/uninterrupted"] = uninterrupted.predict_proba(codes_test)
    module_class = type(uninterrupted.net_.module_)
    forward = module_class.forward
    calls = {"n": 0}

    def crashing(self, *args, **kwargs):
        if self.training:
            calls["n"] += 1
            if calls["n"] == 30:  # in the third epoch of 12 batches
                raise Crash
        return forward(self, *args, **kwargs)

    with tempfile.TemporaryDirectory() as tmp:
        module_class.forward = crashing
        try:
            DeepFMClassifier(**params, checkpoint_dir=tmp).fit(codes, y)
        except Crash:
            pass
        finally:
            module_class.forward = forward
        resumed = DeepFMClassifier(**params, checkpoint_dir=tmp).fit(codes, y)
    out["proba/criteo/resumed"] = resumed.predict_proba(codes_test)


def record():
    torch.set_num_threads(1)
    out = {}
    for step in (encodings, pipelines, parquet, resumed_checkpoint):
        start = time.perf_counter()
        step(out)
        print(f"{step.__name__}: {time.perf_counter() - start:.1f} s", flush=True)
    return out


def main(argv):
    command, path = argv
    out = record()
    if command == "record":
        np.savez(path, **out)
        print(f"recorded {len(out)} arrays in {path}")
        return 0
    expected = np.load(path, allow_pickle=False)
    differ = [k for k in expected.files if k not in out or not np.array_equal(expected[k], out[k])]
    missing = sorted(set(out) - set(expected.files))
    for key in differ:
        print(f"DIFFERS: {key}")
    print(f"{len(expected.files) - len(differ)} of {len(expected.files)} arrays identical")
    return 1 if differ or missing else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
