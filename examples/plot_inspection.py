"""
What the default pipeline learned: the three Displays
=====================================================

Fits ``make_pipeline(FieldEncoder(), DeepFMClassifier(random_state=0))`` on Frappe (from
``../shared/data/frappe``; generated clicks when it is absent) and draws the three
Displays on held-out rows: the training history, the importance of each field (the drop
in ROC AUC when it is shuffled) and the FM part's pair interactions.

The gallery runs it on a sample of 12,000 rows in a few seconds. The pictures of the user
guide's inspection page come from the full run, two thirds of Frappe to train and the
held-out third to score (about a minute on one thread)::

    python examples/plot_inspection.py --full   # writes docs/images/*.png
"""

import sys
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torch
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline

from sklearn_deepfm import (
    DeepFMClassifier,
    FieldEncoder,
    FieldImportanceDisplay,
    FieldInteractionDisplay,
    TrainingHistoryDisplay,
    make_ctr_classification,
)
from sklearn_deepfm.datasets import load_frappe
from sklearn_deepfm.nn import fm_interaction

try:
    EXAMPLES = Path(__file__).resolve().parent
except NameError:  # the gallery runs each example from its folder, without __file__
    EXAMPLES = Path.cwd()
# The shared data beside the checkout (never copied into the repository).
FRAPPE = EXAMPLES.parents[1] / "shared" / "data" / "frappe" / "frappe.train.libfm"
IMAGES = EXAMPLES.parent / "docs" / "images"
FULL = "--full" in sys.argv[1:]

torch.set_num_threads(1)
if FRAPPE.exists():
    X, y = load_frappe(FRAPPE, return_X_y=True)
    name = "Frappe"
else:
    X, y = make_ctr_classification(n_samples=12_000, as_frame=True, random_state=0)
    name = "generated clicks"
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=1 / 3, random_state=0)
if not FULL:  # a sample, so that the gallery builds in seconds
    X_train, y_train = X_train[:12_000], y_train[:12_000]
    X_test, y_test = X_test[:4_000], y_test[:4_000]

model = make_pipeline(FieldEncoder(), DeepFMClassifier(random_state=0))
model.fit(X_train, y_train)
auc = roc_auc_score(y_test, model.predict_proba(X_test)[:, 1])
print(f"{name}: {len(X_train):,} training rows, held-out AUC {auc:.4f}")


def finish(display, filename, title):
    """Title the display's figure; with --full, save it for the user guide."""
    display.ax_.set_title(title)
    display.figure_.set_size_inches(6.4, 4.4)
    if FULL:
        IMAGES.mkdir(parents=True, exist_ok=True)
        display.figure_.savefig(IMAGES / filename, dpi=100, bbox_inches="tight")
        plt.close(display.figure_)
        print(f"wrote {IMAGES / filename}")


# %%
# Training history
# ----------------
# The training and validation log loss of each epoch, the validation AUC on the right
# axis, and the epoch whose weights early stopping kept (epoch 0 is the linear start).
# Below 100,000 rows these are the epochs of the early-stopped network: ``refit="auto"``
# then trained a second network on all the rows for the epochs kept.
history = TrainingHistoryDisplay.from_estimator(model)
finish(history, "training_history.png", f"Training history on {name} (test AUC {auc:.3f})")
print(f"kept epoch {history.best_epoch}, Platt scale {model[-1].calibration_[0]:.2f}")
loss = history.valid_loss
best = int(np.nanargmin(loss))
print(f"lowest validation loss {loss[best]:.3f} at epoch {history.epochs[best]}")

# %%
# Field importance
# ----------------
# The drop in held-out ROC AUC when one field is shuffled (scikit-learn's
# ``permutation_importance``; error bars: standard deviation over the repeats).
importance = FieldImportanceDisplay.from_estimator(
    model, X_test, y_test, n_repeats=5 if FULL else 2, random_state=0
)
finish(importance, "field_importance.png", f"Field importance on {name}'s held-out rows")
for i in np.argsort(-importance.importances_mean):
    mean, std = importance.importances_mean[i], importance.importances_std[i]
    print(f"  {importance.field_names[i]:<10} {mean:.4f} +- {std:.4f}")

# %%
# Field interactions
# ------------------
# The mean size of each pair's term in the FM part, ``|<v_i x_i, v_j x_j>|``, over the
# held-out rows. The deep part learns pairs too, which this map does not show: compare the
# size of the whole FM pair sum with the deep part's output.
interactions = FieldInteractionDisplay.from_estimator(model, X_test)
finish(interactions, "field_interactions.png", f"FM field interactions on {name}")
names, strength = interactions.field_names, interactions.interactions
pairs = sorted(
    ((strength[i, j], names[i], names[j]) for i in range(len(names)) for j in range(i)),
    reverse=True,
)
for value, a, b in pairs[:5]:
    print(f"  {a} x {b}: {value:.4f}")
module = model[-1].net_.module_
with torch.inference_mode():
    embedded = module.embedding(torch.from_numpy(np.asarray(model[:-1].transform(X_test))))
    fm = fm_interaction(embedded).abs().mean()
    deep = module.dnn(embedded.flatten(start_dim=1)).abs().mean()
print(f"mean |FM pair sum| {fm:.4f}, mean |deep part| {deep:.2f}")
