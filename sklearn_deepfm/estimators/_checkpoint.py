"""Checkpoints of a fit in progress: written atomically after each epoch, read to resume it.

One file, ``checkpoint.zip`` in the estimator's ``checkpoint_dir``: ``state.json``
(the ``_json`` codec's form of the state) and ``tensors.safetensors``. It is
written beside the old one and moved over it with ``os.replace``, so a crash while
writing leaves the previous checkpoint whole. Nothing in it is unpickled.
"""

import json
import os
import zipfile
from pathlib import Path

from skorch.callbacks import Callback

from .. import _json

FILE = "checkpoint.zip"


def write(directory, state):
    """Write ``state`` (plain values, arrays and tensors) as the checkpoint of ``directory``."""
    import safetensors.torch

    tensors = {}
    document = _json.encode_value(state, "checkpoint", tensors)
    # clones: safetensors refuses tensors that share memory
    payload = safetensors.torch.save({key: t.clone() for key, t in tensors.items()})
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    partial = directory / (FILE + ".partial")
    with open(partial, "wb") as file:
        with zipfile.ZipFile(file, "w") as archive:
            archive.writestr("state.json", json.dumps(document, allow_nan=False))
            archive.writestr("tensors.safetensors", payload)
        file.flush()
        os.fsync(file.fileno())
    os.replace(partial, directory / FILE)


def read(directory):
    """Return the state in ``directory``'s checkpoint, or None when there is none."""
    import safetensors.torch

    path = Path(directory) / FILE
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


def remove(directory):
    """Remove ``directory``'s checkpoint, once the fit it belongs to has ended."""
    (Path(directory) / FILE).unlink(missing_ok=True)


class EpochCheckpoint(Callback):
    """Call ``write_state(net)`` after each epoch (after early stopping has scored it)."""

    def __init__(self, write_state):
        self.write_state = write_state

    def on_epoch_end(self, net, **kwargs):
        self.write_state(net)
