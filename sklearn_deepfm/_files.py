"""Files written whole: model files and checkpoints never show a partial file at their path."""

import contextlib
import os
from pathlib import Path


@contextlib.contextmanager
def written_whole(path):
    """Yield a binary file that becomes ``path`` only once it is written and synced.

    The file is written beside ``path`` (``<name>.partial``) and moved over it with
    ``os.replace``, so that a crash while writing, or a rank killed under torchrun,
    leaves the previous file at ``path`` whole.
    """
    path = Path(path)
    partial = path.with_name(path.name + ".partial")
    with open(partial, "wb") as file:
        yield file
        file.flush()
        os.fsync(file.fileno())
    os.replace(partial, path)
