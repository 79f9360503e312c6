"""
Saving, loading and serving: a file without pickle, and ONNX
============================================================

A fitted ``make_pipeline(FieldEncoder(), DeepFMClassifier())`` goes to one file that loads
without pickle (``save``, ``load``), and its network to ONNX (``export_onnx``) for serving
outside Python, with the encoder's vocabularies as plain JSON (``export_vocabularies``).
The data are the first 2,000 rows of Criteo (``../shared/data/criteo_8k``; generated
clicks when it is absent). ONNX needs ``pip install "sklearn-deepfm[export]"``; without it
the example stops after ``load``.
"""

import json
import shutil
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from sklearn.pipeline import make_pipeline

from sklearn_deepfm import (
    DeepFMClassifier,
    FieldEncoder,
    export_onnx,
    export_vocabularies,
    load,
    make_ctr_classification,
    save,
)
from sklearn_deepfm.datasets import load_criteo

try:
    EXAMPLES = Path(__file__).resolve().parent
except NameError:  # the gallery runs each example from its folder, without __file__
    EXAMPLES = Path.cwd()
CRITEO_8K = EXAMPLES.parents[1] / "shared" / "data" / "criteo_8k" / "criteo_8k.txt"

if CRITEO_8K.exists():
    X, y = load_criteo(CRITEO_8K, n_rows=2_000, return_X_y=True)
else:
    X, y = make_ctr_classification(n_samples=2_000, n_numeric=2, as_frame=True, random_state=0)
model = make_pipeline(FieldEncoder(), DeepFMClassifier(max_epochs=3, random_state=0))
model.fit(X[:1_500], y[:1_500])
rows = X[1_500:]
work = Path(tempfile.mkdtemp(prefix="deepfm-files-"))

# %%
# A file that loads without pickle
# --------------------------------
# A zip of ``model.json`` and ``weights.safetensors``; loading it cannot run code.
save(model, work / "ctr.deepfm")
loaded = load(work / "ctr.deepfm")
same = np.array_equal(loaded.predict_proba(rows), model.predict_proba(rows))
print(f"{(work / 'ctr.deepfm').stat().st_size:,} bytes; the same probabilities: {same}")

# %%
# The vocabularies as JSON
# ------------------------
# How each field turns a raw value into a code, for a service in any language.
export_vocabularies(model, work / "vocabularies.json")
document = json.loads((work / "vocabularies.json").read_text(encoding="utf-8"))
first = document["fields"][0]
print(document["format"], document["format_version"], f"{len(document['fields'])} fields")
print({key: first[key] for key in ("name", "kind", "cardinality")})

# %%
# The network as ONNX
# -------------------
# Its inputs are the encoder's codes; its outputs the calibrated logit and probability.
try:
    import onnxruntime
except ImportError:
    onnxruntime = None
    print("onnxruntime is not installed: pip install 'sklearn-deepfm[export]'")
if onnxruntime is not None:
    export_onnx(model, work / "ctr.onnx")
    session = onnxruntime.InferenceSession(str(work / "ctr.onnx"))
    codes = np.asarray(model[0].transform(rows))
    logit, probability = session.run(None, {"codes": codes.astype("int64")})
    expected = model.predict_proba(rows)[:, 1]
    gap = np.abs(probability - expected).max()
    print(f"largest gap between ONNX and predict_proba: {gap:.2e}")

    fig, ax = plt.subplots(figsize=(4.6, 4.2))
    ax.scatter(expected, probability, s=6, alpha=0.5)
    ax.plot([0, 1], [0, 1], color="grey", linewidth=0.8)
    ax.set_xlabel("predict_proba (Python)")
    ax.set_ylabel("probability (onnxruntime)")
    ax.set_title(f"ONNX against the pipeline (max gap {gap:.1e})")
    fig.tight_layout()
    plt.show()
shutil.rmtree(work)
