"""Train DeepFM on the embedded synthetic CTR data and compare it with logistic regression.
========================================================================================

Run: python examples/quickstart.py
"""

import time
import warnings

from sklearn.compose import make_column_transformer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss, roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import KBinsDiscretizer, OneHotEncoder

from sklearn_deepfm import DeepFMClassifier, FieldEncoder, make_ctr_classification


def main():
    X, y = make_ctr_classification(
        n_samples=50_000,
        cardinalities=(100, 50, 20, 10, 10, 5),
        n_numeric=2,
        as_frame=True,
        random_state=0,
    )
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, stratify=y, random_state=0
    )
    print(
        f"{len(X_train):,} training rows, {len(X_test):,} test rows, {X.shape[1]} fields, "
        f"click rate {y.mean():.3f}\n"
    )

    categorical = [c for c in X.columns if c.startswith("C")]
    numeric = [c for c in X.columns if c.startswith("I")]
    models = {
        "DeepFM": make_pipeline(FieldEncoder(), DeepFMClassifier(random_state=0, verbose=1)),
        "LogisticRegression (one-hot)": make_pipeline(
            make_column_transformer(
                (OneHotEncoder(handle_unknown="infrequent_if_exist", min_frequency=5), categorical),
                (
                    KBinsDiscretizer(
                        n_bins=16,
                        encode="onehot",
                        quantile_method="averaged_inverted_cdf",
                        subsample=None,
                    ),
                    numeric,
                ),
            ),
            LogisticRegression(C=0.1, max_iter=2000),
        ),
    }
    # The numeric fields are counts with many repeated values, so some of the reference's
    # quantile bins coincide; KBinsDiscretizer merges them, as wanted, and warns.
    warnings.filterwarnings("ignore", message="Bins whose width are too small")
    rows = []
    for name, model in models.items():
        start = time.perf_counter()
        model.fit(X_train, y_train)
        seconds = time.perf_counter() - start
        proba = model.predict_proba(X_test)[:, 1]
        rows.append(
            f"{name:<30} {roc_auc_score(y_test, proba):7.4f} "
            f"{log_loss(y_test, proba):9.4f} {seconds:7.1f}"
        )
    print()
    print(f"{'model':<30} {'AUC':>7} {'log loss':>9} {'fit s':>7}")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
