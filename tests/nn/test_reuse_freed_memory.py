"""``reuse_freed_memory``: after it, glibc keeps a freed 20 MB block for reuse.

Without it, a new process's glibc maps a block of 20 MB from the kernel and unmaps it
when freed, so that the next one is faulted in again, page by page. Each check runs in
a new process, whose glibc has not yet raised its threshold.
"""

import pickle
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from sklearn_deepfm import DeepFMClassifier
from sklearn_deepfm.nn import reuse_freed_memory

pytestmark = pytest.mark.skipif(
    not reuse_freed_memory(), reason="glibc's malloc only (Linux with glibc)"
)

# The resident memory given back to the kernel when a written 20 MB tensor is freed.
RETURNED_ON_FREE = """
import torch

def resident():
    return int(open("/proc/self/statm").read().split()[1]) * 4096

def returned_on_free():
    block = torch.empty(5 << 20).fill_(1.0)
    before = resident()
    del block
    return before - resident()
"""
BLOCK = 20 << 20


def returned_after(setup):
    code = RETURNED_ON_FREE + textwrap.dedent(setup) + "\nprint(returned_on_free())\n"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    return int(done.stdout.split()[-1])


@pytest.fixture(scope="module")
def returned_without():
    returned = returned_after("")
    if returned < BLOCK // 2:
        pytest.skip(f"this glibc kept the freed block without help ({returned} bytes returned)")
    return returned


def test_a_freed_block_is_kept(returned_without):
    returned = returned_after(
        """
        from sklearn_deepfm.nn import reuse_freed_memory
        assert reuse_freed_memory()
        """
    )
    assert returned < BLOCK // 20 < returned_without


def test_fit_keeps_freed_blocks(returned_without):
    setup = """
    import numpy as np
    from sklearn_deepfm import DeepFMClassifier
    rng = np.random.default_rng(0)
    X, y = rng.integers(0, 5, size=(64, 3)), rng.integers(0, 2, size=64)
    DeepFMClassifier(max_epochs=1, hidden_layer_sizes=(4,), verbose=0).fit(X, y)
    """
    assert returned_after(setup) < BLOCK // 20 < returned_without


def test_prediction_in_a_process_that_never_trained_keeps_them_too(returned_without, tmp_path):
    rng = np.random.default_rng(0)
    X, y = rng.integers(0, 5, size=(64, 3)), rng.integers(0, 2, size=64)
    model = DeepFMClassifier(max_epochs=1, hidden_layer_sizes=(4,), verbose=0).fit(X, y)
    path = tmp_path / "model.pkl"
    path.write_bytes(pickle.dumps(model))
    np.save(tmp_path / "X.npy", X)
    setup = f"""
    import pickle
    import numpy as np
    from pathlib import Path
    model = pickle.loads(Path({str(path)!r}).read_bytes())
    model.predict_proba(np.load({str(tmp_path / "X.npy")!r}))
    """
    assert returned_after(setup) < BLOCK // 20 < returned_without
