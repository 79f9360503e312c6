"""
DeepFM against logistic regression and LightGBM
===============================================

The references that click-through-rate models must beat: a logistic regression on the
one-hot codes and gradient-boosted trees (LightGBM), all three reading the codes of one
``FieldEncoder``. The data are the first 8,000 rows of Criteo's ``train.txt``
(``../shared/data/criteo_8k``), split in time order as the benchmarks split them (the
first 6,400 rows to train, the last 1,600 to test); generated clicks when it is absent.

This is one seed on a small slice, drawn when the documentation is built; the measured
comparison over five seeds on every shared data set, with bootstrap intervals, is on the
:doc:`/benchmarks` page. LightGBM comes with ``pip install "sklearn-deepfm[benchmarks]"``;
without it the example compares the other two.
"""

import warnings
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import RocCurveDisplay, log_loss, roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder

from sklearn_deepfm import DeepFMClassifier, FieldEncoder, make_ctr_classification
from sklearn_deepfm.datasets import load_criteo

try:
    EXAMPLES = Path(__file__).resolve().parent
except NameError:  # the gallery runs each example from its folder, without __file__
    EXAMPLES = Path.cwd()
CRITEO_8K = EXAMPLES.parents[1] / "shared" / "data" / "criteo_8k" / "criteo_8k.txt"

if CRITEO_8K.exists():
    X, y = load_criteo(CRITEO_8K, return_X_y=True)
    name = "Criteo, first 8,000 rows"
else:
    X, y = make_ctr_classification(n_samples=8_000, n_numeric=2, as_frame=True, random_state=0)
    name = "generated clicks"
y = np.asarray(y)
X_train, X_test, y_train, y_test = X[:6_400], X[6_400:], y[:6_400], y[6_400:]

# %%
# Three models on the same codes
# ------------------------------
# The encoder is fitted on the training rows only. Logistic regression reads the codes
# one-hot (``C=0.03``, which the benchmarks' tuning picked on the Criteo slice);
# LightGBM reads them as categorical features, its number of trees chosen by early
# stopping on the last 20% of the training rows.
encoder = FieldEncoder(min_frequency=2).fit(X_train)
codes_train, codes_test = encoder.transform(X_train), encoder.transform(X_test)

models = {
    "DeepFM, defaults": DeepFMClassifier(random_state=0, n_threads=1),
    "logistic regression": make_pipeline(
        OneHotEncoder(handle_unknown="ignore"), LogisticRegression(C=0.03, max_iter=1000)
    ),
}
try:
    import lightgbm
except ImportError:
    print("LightGBM is not installed: compared without it.")
else:
    warnings.filterwarnings("ignore", message="The argument 'eval_set' is deprecated")
    cut = int(0.8 * len(codes_train))
    probe = lightgbm.LGBMClassifier(learning_rate=0.05, n_estimators=500, verbose=-1)
    probe.fit(
        codes_train[:cut],
        y_train[:cut],
        eval_set=[(codes_train[cut:], y_train[cut:])],
        categorical_feature=list(range(codes_train.shape[1])),
        callbacks=[lightgbm.early_stopping(20, verbose=False)],
    )
    models["LightGBM"] = lightgbm.LGBMClassifier(
        learning_rate=0.05, n_estimators=max(probe.best_iteration_, 1), verbose=-1
    )

probabilities = {}
for label, model in models.items():
    if label == "LightGBM":
        model.fit(codes_train, y_train, categorical_feature=list(range(codes_train.shape[1])))
    else:
        model.fit(codes_train, y_train)
    probabilities[label] = model.predict_proba(codes_test)[:, 1]
    print(
        f"{label:<22} AUC {roc_auc_score(y_test, probabilities[label]):.4f}  "
        f"log loss {log_loss(y_test, probabilities[label]):.4f}"
    )

# %%
# ROC curves and the scores
# -------------------------
fig, (roc_ax, bar_ax) = plt.subplots(1, 2, figsize=(10, 4.2))
for label, proba in probabilities.items():
    RocCurveDisplay.from_predictions(y_test, proba, name=label, ax=roc_ax)
roc_ax.plot([0, 1], [0, 1], color="grey", linewidth=0.8, linestyle=":")
roc_ax.set_title(f"ROC on the test rows ({name})")

labels = list(probabilities)
aucs = [roc_auc_score(y_test, probabilities[label]) for label in labels]
bar_ax.barh(labels, aucs, color=["tab:blue", "tab:orange", "tab:green"][: len(labels)])
bar_ax.set_xlim(min(aucs) - 0.03, max(aucs) + 0.01)
bar_ax.set_xlabel("test ROC AUC")
bar_ax.invert_yaxis()
for i, auc in enumerate(aucs):
    bar_ax.text(auc, i, f" {auc:.4f}", va="center")
bar_ax.set_title("One seed; five seeds on the benchmarks page")
fig.tight_layout()
plt.show()
