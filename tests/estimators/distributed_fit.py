"""Run under torchrun by test_distributed.py: one fit, as a user's script would do it.

Not a test module (pytest does not collect it): the same script runs on every rank,
and with no launcher in one process, for the comparison.
"""

import json
import os
import signal
import sys

import numpy as np
import torch
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline

from sklearn_deepfm import DeepFMClassifier, FieldEncoder, make_ctr_classification, save
from sklearn_deepfm.datasets import load_frappe

PARAMS = dict(
    embedding_dim=8,
    hidden_layer_sizes=(32,),
    dropout=0.0,
    batch_norm=False,
    batch_size=256,
    max_epochs=30,
    early_stopping=True,
    n_iter_no_change=2,
    learning_rate=0.01,
    random_state=0,
    # the comparison with one process is to float32 rounding: bfloat16 products of
    # half batches and of whole ones round differently (the ranks stay bit-identical)
    precision="float32",
)


def main(out, sparse):
    torch.set_num_threads(1)
    inferred = count_inferred_rows()
    X_all, y_all = make_ctr_classification(n_samples=6000, random_state=0)
    X, y, X_test, y_test = X_all[:4000], y_all[:4000], X_all[4000:], y_all[4000:]
    clf = DeepFMClassifier(**PARAMS, sparse_embeddings=sparse).fit(X, y)
    rank = torch.distributed.get_rank() if torch.distributed.is_initialized() else "single"
    weights = torch.cat([t.flatten().double() for t in clf.net_.module_.state_dict().values()])
    proba = clf.predict_proba(X_test)[:, 1]
    np.save(f"{out}/weights_{rank}.npy", weights.numpy())
    np.save(f"{out}/proba_{rank}.npy", proba)
    summary = {
        "n_iter": clf.n_iter_,
        # 4,000 rows refit on all rows after early stopping: its scores are kept apart
        "valid_auc": [epoch["valid_auc"] for epoch in clf.early_stopping_history_],
        "test_auc": roc_auc_score(y_test, proba),
        "calibration": list(clf.calibration_),
        "rows_inferred_in_eval_mode": inferred[0],
    }
    with open(f"{out}/summary_{rank}.json", "w") as file:
        json.dump(summary, file)
    if rank in (0, "single"):  # one writer
        save(clf, f"{out}/model_{rank}.deepfm")


def count_inferred_rows():
    """Count the rows the module infers in evaluation mode (validation, calibration)."""
    from sklearn_deepfm.estimators._net import CTRNet

    rows, infer = [0], CTRNet.infer

    def counting(self, x, **kwargs):
        if not self.module_.training:
            rows[0] += len(x["codes"])
        return infer(self, x, **kwargs)

    CTRNet.infer = counting
    return rows


def frappe(out, path):
    """A Pipeline on 12,000 real Frappe rows with batch normalisation: every rank's state."""
    torch.set_num_threads(1)
    X, y = load_frappe(path, return_X_y=True)
    X, y, X_test = X.iloc[:12_000], y[:12_000], X.iloc[12_000:14_000]
    classifier = DeepFMClassifier(
        embedding_dim=4, hidden_layer_sizes=(16,), batch_norm=True, batch_size=256,
        max_epochs=2, early_stopping=False, random_state=0,
    )  # fmt: skip
    pipe = make_pipeline(FieldEncoder(categorical_features=list(X.columns)), classifier)
    pipe.fit(X, y)
    rank = torch.distributed.get_rank() if torch.distributed.is_initialized() else "single"
    state = classifier.net_.module_.state_dict()  # parameters and buffers
    np.savez(f"{out}/state_{rank}.npz", **{k: t.numpy() for k, t in state.items()})
    np.save(f"{out}/proba_{rank}.npy", pipe.predict_proba(X_test)[:, 1])
    if rank == 0:
        save(pipe, f"{out}/model_0.deepfm")


def restarted(out, checkpoint_dir, kill):
    """A checkpointed fit whose rank 1 SIGKILLs itself in its second epoch on the first attempt.

    torchrun (``--max-restarts``) then restarts the group, which resumes from the last
    complete epoch; with ``kill="no"`` the same fit runs uninterrupted.
    """
    torch.set_num_threads(1)
    X, y = make_ctr_classification(n_samples=4000, random_state=0)
    clf = DeepFMClassifier(**dict(PARAMS, max_epochs=4), checkpoint_dir=checkpoint_dir)
    first_attempt = os.environ.get("TORCHELASTIC_RESTART_COUNT", "0") == "0"
    if not first_attempt:  # the test's evidence that the group was restarted
        open(f"{out}/restarted_{kill}_{os.environ['RANK']}", "w").close()
    if kill == "yes" and first_attempt and os.environ.get("RANK") == "1":
        from sklearn_deepfm.estimators._net import CTRNet

        steps, train_step = [0], CTRNet.train_step
        steps_per_epoch = -(-3_600 // PARAMS["batch_size"])  # 4,000 rows less the tenth

        def killing(self, batch, **kwargs):
            steps[0] += 1
            if steps[0] == steps_per_epoch + 3:
                os.kill(os.getpid(), signal.SIGKILL)
            return train_step(self, batch, **kwargs)

        CTRNet.train_step = killing
    clf.fit(X, y)
    rank = torch.distributed.get_rank()
    weights = torch.cat([t.flatten().double() for t in clf.net_.module_.state_dict().values()])
    np.save(f"{out}/weights_{kill}_{rank}.npy", weights.numpy())
    np.save(f"{out}/proba_{kill}_{rank}.npy", clf.predict_proba(X)[:, 1])


if __name__ == "__main__":
    if sys.argv[2] == "frappe":
        frappe(sys.argv[1], sys.argv[3])
    elif sys.argv[2] == "restart":
        restarted(sys.argv[1], sys.argv[3], sys.argv[4])
    else:
        main(sys.argv[1], sys.argv[2] == "sparse")
