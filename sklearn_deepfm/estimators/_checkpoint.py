"""Checkpoints of a fit in progress: written atomically after each epoch, read to resume it.

One file per fit in the estimator's ``checkpoint_dir``, named after the fit's
identity (parameters, seed, data): ``checkpoint-<digest>.zip``, holding
``state.json`` (the ``_json`` codec's form of the state) and ``tensors.safetensors``.
So the fits of a search (each candidate and fold) keep their own files in one
directory, a rerun of the search resumes the fit that crashed, and parallel fits do
not overwrite each other. A file is written beside the old one and moved over it with
``os.replace``, so a crash while writing leaves the previous checkpoint whole.
Nothing in it is unpickled.

A ``FitCheckpoint`` is one fit's: its identity, so that only the same fit resumes
from it; what an epoch saves (the estimator's fitted state, training's random
stream, early stopping's state, FNN's pre-training epochs); what resuming restores;
and its removal once the fit has ended.
"""

import hashlib
import json
import zipfile
from pathlib import Path
from typing import NamedTuple

import torch

from .. import _files, _json
from . import _distributed
from ._callbacks import early_stopping

# Parameters that leave what a fit computes as it is: they do not make it another fit.
_NOT_IDENTITY = {"verbose", "checkpoint_dir", "device", "random_state", "warm_start"}


class Resumed(NamedTuple):
    """What a fit resumed from its checkpoint continues from."""

    epochs: int  # the epochs it had done
    torch_rng: torch.Tensor  # training's random stream (dropout), as saved
    early_stopping: dict | None  # ResumableEarlyStopping's state
    fm_epochs: int | None  # the epochs FNN's pre-training kept, for a refit


def file_name(identity):
    """Return the name of the checkpoint file of the fit ``identity`` describes."""
    digest = hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()
    return f"checkpoint-{digest[:16]}.zip"


def write(path, state):
    """Write ``state`` (plain values, arrays and tensors) as the checkpoint file ``path``."""
    import safetensors.torch

    tensors = {}
    document = _json.encode_value(state, "checkpoint", tensors)
    # clones: safetensors refuses tensors that share memory
    payload = safetensors.torch.save({key: t.clone() for key, t in tensors.items()})
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with _files.written_whole(path) as file, zipfile.ZipFile(file, "w") as archive:
        archive.writestr("state.json", json.dumps(document, allow_nan=False))
        archive.writestr("tensors.safetensors", payload)


def read(path):
    """Return the state in the checkpoint file ``path``, or None when there is none."""
    import safetensors.torch

    path = Path(path)
    if not path.exists():
        return None
    try:
        with zipfile.ZipFile(path) as archive:
            document = json.loads(archive.read("state.json"))
            tensors = safetensors.torch.load(archive.read("tensors.safetensors"))
        return _json.decode_value(document, tensors)
    except Exception as exc:  # a damaged file: name it rather than start over silently
        raise ValueError(
            f"The checkpoint {path} cannot be read ({exc}). Remove it to start the fit anew."
        ) from exc


class FitCheckpoint:
    """The checkpoint of one fit, in ``directory``.

    Parameters
    ----------
    directory : str or path-like
        The estimator's ``checkpoint_dir``.
    identity : dict
        What makes the fit itself (see ``FitCheckpoint.of``): it names the file,
        and a file that holds another fit's is refused.
    """

    def __init__(self, directory, identity):
        self.path = Path(directory) / file_name(identity)
        self.identity = identity

    @classmethod
    def of(cls, estimator, seed, train, valid):
        """Return the checkpoint of ``estimator``'s fit from ``seed`` on ``train`` and ``valid``."""
        if estimator.random_state is None:
            raise ValueError(
                "checkpoint_dir needs a fixed random_state: a fit resumes only with the "
                "seed it started from, and random_state=None draws a new one on every fit."
            )
        params = estimator.get_params(deep=False)
        params = {k: v for k, v in params.items() if k not in _NOT_IDENTITY}
        identity = {
            "params": repr(sorted(params.items())),
            "seed": int(seed),
            "data": [None if part is None else part.fingerprint() for part in (train, valid)],
        }
        return cls(estimator.checkpoint_dir, identity)

    def save(self, estimator, run, net):
        """Save the fit after an epoch of ``net``, as the ``EpochCheckpoint`` callback does.

        The checkpoint holds ``estimator``'s fitted state, training's random stream,
        early stopping's state and the FNN pre-training epochs of ``run``.
        """
        if _distributed.rank() != 0:  # one writer; every rank resumes from its file
            return
        state = estimator._get_fitted_state(include_optimizer=True)
        state["fitted"].setdefault("calibration_", (1.0, 0.0))  # set anew when the fit ends
        state["history"] = [_json.plain(epoch) for epoch in state["history"]]
        stopping = early_stopping(net)
        checkpoint = {
            "run": self.identity,
            "fit_epochs": len(net.history),  # a checkpointed fit is a first fit
            "state": state,
            "torch_rng": torch.get_rng_state(),  # training's stream (dropout), in fork_rng
            "early_stopping": None if stopping is None else stopping.state(),
            "fm_epochs": run.fm_epochs,  # FNN's, for a refit
        }
        write(self.path, checkpoint)

    def restore(self, estimator):
        """Restore ``estimator``'s fitted state from this fit's checkpoint.

        Returns
        -------
        Resumed or None
            What training continues from; None when there is no checkpoint.
        """
        saved = read(self.path)
        if saved is None:
            return None
        if saved["run"] != self.identity:
            raise ValueError(
                f"The checkpoint {self.path} belongs to another fit (other parameters, "
                "seed or data). Remove it, or pass another checkpoint_dir."
            )
        # older checkpoints kept FNN's epochs among the fitted attributes too
        saved["state"]["fitted"].pop("_fm_epochs", None)
        estimator._set_fitted_state(saved["state"])
        return Resumed(
            saved["fit_epochs"], saved["torch_rng"], saved["early_stopping"], saved.get("fm_epochs")
        )

    def remove(self):
        """Remove the checkpoint, once the fit it belongs to has ended."""
        self.path.unlink(missing_ok=True)
