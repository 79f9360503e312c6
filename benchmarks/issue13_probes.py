"""Probes of issue 13's small slices: levers tried on the 0.4.0 defaults, none adopted.

Exploratory, not part of the library: the ``row-scaling`` and ``last-scale`` probes patch
its internals for the length of the run. Each prints the mean test AUC over seeds
(``quality.py``'s splits and encoding, one torch thread); benchmarks/README.md, "After
0.4.0", quotes them.

``averages``
    Per seed: the early-stopped network (``refit=False``) and the refit's trajectory
    (``early_stopping=False``, one ``partial_fit`` epoch at a time, as the refit trains),
    with their probabilities or weights averaged, and the refit's weights averaged over
    its epochs (SWA).
``epochs``
    The test AUC every ``--every`` training steps of an early-stopped fit (patience
    ``--patience``), beside the validation AUC of each epoch.
``fit``
    Test AUC of default fits with ``--row-scaling C`` (each embedding and order-1 row's
    Adam step times ``n / (n + C)``, or ``min(1, n / C)`` with ``--hard``, ``n`` its
    code's count in the rows given to ``fit``) and ``--last-scale S`` (the deep part's
    output layer starts at ``S`` times its initial weights), with ``--set`` parameters.

    python benchmarks/issue13_probes.py averages --data criteo
    python benchmarks/issue13_probes.py epochs --data avazu --every 32 --set embedding_epsilon=1e-3
    python benchmarks/issue13_probes.py fit --data criteo --row-scaling 1
    python benchmarks/issue13_probes.py fit --data avazu --last-scale 0.1
"""

import argparse
import copy
import math
import sys
from contextlib import contextmanager, nullcontext
from pathlib import Path
from unittest import mock

import numpy as np
import torch
from scipy.special import expit
from sklearn.metrics import roc_auc_score
from skorch.callbacks import Callback

from sklearn_deepfm import DeepFMClassifier
from sklearn_deepfm import nn as network
from sklearn_deepfm.estimators import _base, _net
from sklearn_deepfm.estimators._base import _kept_epochs
from sklearn_deepfm.nn import _optim

sys.path.insert(0, str(Path(__file__).resolve().parent))
from movielens import parse_settings  # noqa: E402
from quality import encode, load  # noqa: E402
from quality_data import MULTI_VALUED  # noqa: E402


def held_out_auc(clf, test, y_test, state=None):
    """Test AUC of ``clf``, or of its network with the weights ``state``."""
    if state is not None:
        clf = copy.deepcopy(clf)
        clf.net_.module_.load_state_dict(state)
    return roc_auc_score(y_test, clf._raw_logits(test))


def mean_state(states):
    """The element-wise mean of state dicts (integer buffers: the last one's)."""
    return {
        key: sum(s[key] for s in states) / len(states)
        if states[0][key].is_floating_point()
        else states[-1][key]
        for key in states[0]
    }


def averages(train, y, test, y_test, seed, settings, extra_epochs=3):
    first = DeepFMClassifier(random_state=seed, refit=False, **settings).fit(train, y)
    kept = _kept_epochs(first.net_)
    refit = DeepFMClassifier(
        random_state=seed, refit=False, early_stopping=False, max_epochs=1, **settings
    ).fit(train, y)
    states, logits = [], []
    for epoch in range(kept + extra_epochs):
        if epoch:
            refit.partial_fit(train, y)
        states.append(copy.deepcopy(refit.net_.module_.state_dict()))
        logits.append(refit._raw_logits(test))
    first_logits, half = first._raw_logits(test), kept // 2
    both = [first.net_.module_.state_dict(), states[kept - 1]]
    return {
        "early-stopped": roc_auc_score(y_test, first_logits),
        "refitted": roc_auc_score(y_test, logits[kept - 1]),
        "probabilities of both": roc_auc_score(
            y_test, expit(first_logits) + expit(logits[kept - 1])
        ),
        "weights of both": held_out_auc(refit, test, y_test, mean_state(both)),
        "SWA, second half": held_out_auc(refit, test, y_test, mean_state(states[half:kept])),
        "SWA, all kept": held_out_auc(refit, test, y_test, mean_state(states[:kept])),
        "SWA, kept and 3 past": held_out_auc(refit, test, y_test, mean_state(states[kept - 1 :])),
    }


class HeldOutAUCProbe(Callback):
    """Record the test AUC every ``every`` training steps, the tables brought up to date."""

    def __init__(self, clf, test, y_test, every):
        self.clf, self.test, self.y_test, self.every = clf, test, y_test, every
        self.steps, self.aucs = 0, []

    def on_batch_end(self, net, training, **kwargs):
        self.steps += training
        if training and self.steps % self.every == 0:
            net._flush_sparse()
            self.aucs.append(round(held_out_auc(self.clf, self.test, self.y_test), 4))
            net.module_.train()


def epochs(train, y, test, y_test, seed, settings, every, patience):
    clf = DeepFMClassifier(random_state=seed, refit=False, n_iter_no_change=patience, **settings)
    probe = HeldOutAUCProbe(clf, test, y_test, every)
    callbacks = _base.BaseDeepFM._callbacks
    with mock.patch.object(
        _base.BaseDeepFM,
        "_callbacks",
        lambda self, valid, checkpoint=True: (
            callbacks(self, valid, checkpoint) + [("probe", probe)]
        ),
    ):
        clf.fit(train, y)
    return {
        "kept epochs": _kept_epochs(clf.net_),
        "validation AUC per epoch": [
            round(e.get("valid_auc", math.nan), 4) for e in clf.net_.history
        ],
        f"test AUC every {every} steps": probe.aucs,
        "best test AUC": max(probe.aucs),
    }


@contextmanager
def row_scaled_steps(codes, c, hard):
    """Scale each table row's Adam step by its code's count ``n``: ``n / (n + c)``."""
    step, flush = _optim.CatchUpAdam._step, _optim.CatchUpAdam.flush
    initialize = _net.CTRNet.initialize_optimizer

    def initialize_with_counts(self, *args, **kwargs):
        initialize(self, *args, **kwargs)
        table = next(m for m in self.module_.modules() if isinstance(m, network.FieldEmbedding))
        rows = table.embedding.num_embeddings
        n = torch.tensor(
            np.bincount((codes + table.offsets.numpy()).ravel(), minlength=rows)[:rows],
            dtype=torch.float32,
        )
        scale = torch.clamp(n / c, max=1.0) if hard else n / (n + c)
        self.optimizer_sparse_.row_scale = scale.unsqueeze(1)
        return self

    with (
        mock.patch.object(
            _optim.CatchUpAdam, "_step", lambda self, *a: _scaled_step(self, step, *a)
        ),
        mock.patch.object(_optim.CatchUpAdam, "flush", lambda self: _scaled_flush(self, flush)),
        mock.patch.object(_net.CTRNet, "initialize_optimizer", initialize_with_counts),
    ):
        yield


@torch.no_grad()
def _scaled_step(optimizer, step, param, rows, values, group):
    """``CatchUpAdam._step``, its moves of ``rows`` scaled by their row scale."""
    before = param[rows].clone()
    step(optimizer, param, rows, values, group)
    moved = param[rows] - before
    param[rows] = before + moved * optimizer.row_scale[rows]


@torch.no_grad()
def _scaled_flush(optimizer, flush):
    """``CatchUpAdam.flush``, each row's catch-up moves scaled by its row scale."""
    params = [p for group in optimizer.param_groups for p in group["params"]]
    before = [p.clone() for p in params]
    flush(optimizer)
    for param, old in zip(params, before, strict=True):
        param.copy_(old + (param - old) * optimizer.row_scale)


@contextmanager
def scaled_last_layer(scale):
    """Start the deep part's output layer at ``scale`` times its initial weights."""
    init = network.DeepFM.__init__

    def scaled_init(self, *args, **kwargs):
        init(self, *args, **kwargs)
        if self.dnn is not None:
            last = [m for m in self.dnn.modules() if isinstance(m, torch.nn.Linear)][-1]
            with torch.no_grad():
                last.weight.mul_(scale)

    with mock.patch.object(network.DeepFM, "__init__", scaled_init):
        yield


def fit(train, y, test, y_test, seed, settings):
    clf = DeepFMClassifier(random_state=seed, **settings).fit(train, y)
    return {"test AUC": roc_auc_score(y_test, clf.predict_proba(test)[:, 1])}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("probe", choices=["averages", "epochs", "fit"])
    parser.add_argument("--data", default="criteo")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--set", nargs="*", default=[], metavar="NAME=VALUE")
    parser.add_argument("--every", type=int, default=4, help="epochs: steps between probes")
    parser.add_argument("--patience", type=int, default=5, help="epochs: n_iter_no_change")
    parser.add_argument("--row-scaling", type=float, default=0.0, metavar="C")
    parser.add_argument("--hard", action="store_true", help="row scaling min(1, n / C)")
    parser.add_argument("--last-scale", type=float, default=1.0, metavar="S")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    settings = parse_settings(args.set)
    X_train, y, X_test, y_test, categorical, _ = load(args.data)
    train, test = encode(X_train, X_test, categorical, MULTI_VALUED.get(args.data))
    means = {}
    for seed in range(args.seeds):
        if args.probe == "averages":
            row = averages(train, y, test, y_test, seed, settings)
        elif args.probe == "epochs":
            row = epochs(train, y, test, y_test, seed, settings, args.every, args.patience)
        else:
            with (
                row_scaled_steps(np.asarray(train, dtype=np.int64), args.row_scaling, args.hard)
                if args.row_scaling
                else nullcontext(),
                scaled_last_layer(args.last_scale),
            ):
                row = fit(train, y, test, y_test, seed, settings)
        print(f"seed {seed}: {row}", flush=True)
        for key, value in row.items():
            if isinstance(value, float):
                means.setdefault(key, []).append(value)
    print(f"{args.data}, {args.probe}, mean over {args.seeds} seeds:")
    for key, values in means.items():
        print(f"  {key}: {np.mean(values):.4f} (sd {np.std(values):.4f})")


if __name__ == "__main__":
    main()
