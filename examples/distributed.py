"""Scaling out: the same script trains data-parallel under torchrun, or searches on Dask.
======================================================================================

Data-parallel training (each process takes its share of every batch; gloo on CPUs)::

    torchrun --nproc_per_node=2 examples/distributed.py                 # one machine
    torchrun --nnodes=2 --nproc_per_node=4 --rdzv-backend=c10d \\
        --rdzv-endpoint=HOST:29400 examples/distributed.py               # on each machine
    python examples/distributed.py                                       # one process

A hyper-parameter search with each fit on a Dask worker::

    python examples/distributed.py --search                              # a LocalCluster
    python examples/distributed.py --search --scheduler tcp://HOST:8786  # a cluster

Data: Frappe from ``../shared/data`` when present, else synthetic clicks.
"""

import argparse
import os
from pathlib import Path

import numpy as np
import torch
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import make_pipeline

from sklearn_deepfm import DeepFMClassifier, FieldEncoder, make_ctr_classification, save
from sklearn_deepfm.datasets import load_frappe

FRAPPE = Path(__file__).resolve().parents[2] / "shared" / "data" / "frappe" / "frappe.train.libfm"


def data():
    if FRAPPE.exists():
        X, y = load_frappe(FRAPPE, return_X_y=True)
    else:
        X, y = make_ctr_classification(n_samples=50_000, as_frame=True, random_state=0)
    return train_test_split(X, np.asarray(y), test_size=0.2, random_state=0)


def train(args):
    X_train, X_test, y_train, y_test = data()
    model = make_pipeline(FieldEncoder(), DeepFMClassifier(random_state=0, verbose=1))
    model.fit(X_train, y_train)  # every rank passes the same rows; each trains on its share
    auc = roc_auc_score(y_test, model.predict_proba(X_test)[:, 1])
    rank = torch.distributed.get_rank() if torch.distributed.is_initialized() else 0
    world = torch.distributed.get_world_size() if torch.distributed.is_initialized() else 1
    if rank == 0:  # every rank holds the same model: one writes it
        save(model, args.output)
        print(f"{world} process(es): held-out AUC {auc:.4f}; model saved to {args.output}")


def search(args):
    from distributed import Client, LocalCluster
    from joblib import parallel_backend

    X_train, X_test, y_train, y_test = data()
    model = make_pipeline(FieldEncoder(), DeepFMClassifier(random_state=0))
    grid = {
        "deepfmclassifier__embedding_dim": [16, 32],
        "deepfmclassifier__learning_rate": [1e-3, 3e-3],
    }
    cluster = None if args.scheduler else LocalCluster(n_workers=2, threads_per_worker=1)
    with Client(args.scheduler or cluster), parallel_backend("dask"):
        # each fit runs in a worker with that worker's thread count (n_threads=None)
        found = GridSearchCV(model, grid, scoring="roc_auc", cv=3, n_jobs=-1).fit(X_train, y_train)
    auc = roc_auc_score(y_test, found.predict_proba(X_test)[:, 1])
    print(f"best {found.best_params_}: CV AUC {found.best_score_:.4f}, held-out AUC {auc:.4f}")
    if cluster is not None:
        cluster.close()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--search", action="store_true", help="grid search on a Dask cluster")
    parser.add_argument("--scheduler", help="address of a running Dask scheduler")
    parser.add_argument("--output", default=os.environ.get("OUTPUT", "deepfm.model"))
    args = parser.parse_args(argv)
    search(args) if args.search else train(args)


if __name__ == "__main__":
    main()
