"""Draw what the default pipeline learned on Frappe: the README's three pictures.

Fits make_pipeline(FieldEncoder(), DeepFMClassifier(random_state=0)) on 2/3 of
../shared/data/frappe (the split of tests/test_quality.py) and saves
docs/images/training_history.png, field_importance.png and field_interactions.png,
computed on the held-out third. About a minute on one thread.

Run: python examples/plot_inspection.py  (needs pip install "sklearn-deepfm[plot]")
"""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from sklearn.metrics import roc_auc_score  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402

from sklearn_deepfm import (
    DeepFMClassifier,
    FieldEncoder,
    FieldImportanceDisplay,
    FieldInteractionDisplay,
    TrainingHistoryDisplay,
)
from sklearn_deepfm.datasets import load_frappe  # noqa: E402
from sklearn_deepfm.nn import fm_interaction  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
# The shared data beside the checkout (as in tests/conftest.py); never copied into the repo.
FRAPPE = ROOT.parent / "shared" / "data" / "frappe" / "frappe.train.libfm"
IMAGES = ROOT / "docs" / "images"


def main():
    if not FRAPPE.exists():
        print(f"Frappe data absent ({FRAPPE}): nothing drawn.")
        return
    torch.set_num_threads(1)
    X, y = load_frappe(FRAPPE, return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=1 / 3, random_state=0)
    model = make_pipeline(FieldEncoder(), DeepFMClassifier(random_state=0))
    model.fit(X_train, y_train)
    auc = roc_auc_score(y_test, model.predict_proba(X_test)[:, 1])
    print(f"held-out AUC {auc:.4f} after {model[-1].n_iter_} epochs")

    IMAGES.mkdir(parents=True, exist_ok=True)
    history = TrainingHistoryDisplay.from_estimator(model)
    save(history, "training_history.png", f"Training history on Frappe (test AUC {auc:.3f})")
    print(f"kept epoch {history.best_epoch}, Platt scale {model[-1].calibration_[0]:.2f}")
    loss, auc = history.valid_loss, history.valid_auc
    best = int(np.nanargmin(loss))
    print(f"lowest validation loss {loss[best]:.3f} at epoch {history.epochs[best]}")
    kept = list(history.epochs).index(history.best_epoch)
    print(f"kept epoch's validation AUC {auc[kept]:.4f}, loss {loss[kept]:.3f}")

    importance = FieldImportanceDisplay.from_estimator(
        model, X_test, y_test, n_repeats=5, random_state=0
    )
    save(importance, "field_importance.png", "Field importance on Frappe's held-out third")
    for i in np.argsort(-importance.importances_mean):
        mean, std = importance.importances_mean[i], importance.importances_std[i]
        print(f"  {importance.field_names[i]:<10} {mean:.4f} +- {std:.4f}")

    interactions = FieldInteractionDisplay.from_estimator(model, X_test)
    save(interactions, "field_interactions.png", "FM field interactions on Frappe")
    names, strength = interactions.field_names, interactions.interactions
    pairs = sorted(
        ((strength[i, j], names[i], names[j]) for i in range(len(names)) for j in range(i)),
        reverse=True,
    )
    for value, a, b in pairs[:8]:
        print(f"  {a} x {b}: {value:.3f}")
    # The size of the whole FM pair sum beside the deep part's output, on the same rows.
    module = model[-1].net_.module_
    with torch.inference_mode():
        embedded = module.embedding(torch.from_numpy(model[:-1].transform(X_test)))
        fm = fm_interaction(embedded).abs().mean()
        deep = module.dnn(embedded.flatten(start_dim=1)).abs().mean()
    print(f"mean |FM pair sum| {fm:.4f}, mean |deep part| {deep:.2f}")


def save(display, filename, title):
    display.ax_.set_title(title)
    display.figure_.set_size_inches(6.4, 4.4)
    display.figure_.savefig(IMAGES / filename, dpi=100, bbox_inches="tight")
    plt.close(display.figure_)
    print(f"wrote {IMAGES / filename}")


if __name__ == "__main__":
    main()
