"""
Tuning with GridSearchCV and time-ordered folds
===============================================

The pipeline of ``FieldEncoder`` and ``DeepFMClassifier`` goes into scikit-learn's
searches as it is; the encoder is refitted on each training fold. On small data full of
rare codes the settings that matter most after the defaults are how the embedding tables
learn: ``embedding_epsilon`` (Adam's epsilon for the tables, which damps codes seen only a
few times) and ``embedding_learning_rate`` (their own step size). Click logs come in time
order, so the folds are time-ordered too (``TimeSeriesSplit``).

The data are the first 3,000 rows of Avazu (``../shared/data/avazu_9k``; generated clicks
when it is absent), with few epochs so that the gallery builds in seconds: the search
shows the recipe, not the best setting for Avazu.
"""

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.model_selection import GridSearchCV, TimeSeriesSplit
from sklearn.pipeline import make_pipeline

from sklearn_deepfm import DeepFMClassifier, FieldEncoder, make_ctr_classification

try:
    EXAMPLES = Path(__file__).resolve().parent
except NameError:  # the gallery runs each example from its folder, without __file__
    EXAMPLES = Path.cwd()
AVAZU = EXAMPLES.parents[1] / "shared" / "data" / "avazu_9k" / "avazu_9k.csv"

if AVAZU.exists():
    frame = pd.read_csv(AVAZU, dtype=str, nrows=3_000)  # every Avazu column is categorical
    y = frame.pop("click").astype(int).to_numpy()
    X = frame.drop(columns=["id", "hour"])  # a row id, and one hour in this slice
    name = "Avazu, first 3,000 rows"
else:
    X, y = make_ctr_classification(n_samples=3_000, as_frame=True, random_state=0)
    name = "generated clicks"
print(f"{name}: {X.shape[1]} fields, click rate {np.mean(y):.3f}")

# %%
# The search
# ----------
# Four settings, three time-ordered folds, each fit of at most 3 epochs (the defaults'
# early stopping applies to the folds of 2,000 rows or more), one torch thread per fit.
pipe = make_pipeline(FieldEncoder(), DeepFMClassifier(max_epochs=3, random_state=0, n_threads=1))
search = GridSearchCV(
    pipe,
    {
        "deepfmclassifier__embedding_epsilon": [1e-8, 1e-3],
        "deepfmclassifier__embedding_learning_rate": [None, 3e-3],
    },
    cv=TimeSeriesSplit(3),
    scoring="roc_auc",
).fit(X, y)
print("best:", search.best_params_, f"mean AUC {search.best_score_:.4f}")

# %%
# The scores of each setting
# --------------------------
# The mean validation AUC over the folds, with their standard deviation: on a few
# thousand rows the folds differ by more than the settings do, which is why the
# benchmarks compare settings over several seeds and data sets.
results = pd.DataFrame(search.cv_results_)
labels = [
    f"epsilon {p['deepfmclassifier__embedding_epsilon']:g}\n"
    f"table lr {p['deepfmclassifier__embedding_learning_rate'] or 'same'}"
    for p in results["params"]
]
fig, ax = plt.subplots(figsize=(7, 3.8))
ax.errorbar(
    range(len(labels)),
    results["mean_test_score"],
    yerr=results["std_test_score"],
    fmt="o",
    capsize=4,
)
ax.set_xticks(range(len(labels)))
ax.set_xticklabels(labels)
ax.set_ylabel("validation ROC AUC (3 time-ordered folds)")
ax.set_title(f"GridSearchCV over the embedding tables' Adam ({name})")
ax.grid(axis="y", alpha=0.3)
fig.tight_layout()
plt.show()
