"""How much a model relies on each field: ``FieldImportanceDisplay``."""

import numpy as np
from sklearn.inspection import permutation_importance

from ._base import Display, field_labels

__all__ = ["FieldImportanceDisplay"]


class FieldImportanceDisplay(Display):
    """Drop in ROC AUC when one field is shuffled: how much the model relies on it.

    The permutation importance of each input column (:func:`sklearn.inspection.
    permutation_importance` with ``scoring="roc_auc"``). Compute it on held-out
    rows: on the training rows it also measures what the model memorised.

    Parameters
    ----------
    importances_mean : ndarray of shape (n_fields,)
        Mean drop in ROC AUC over the repeats.
    importances_std : ndarray of shape (n_fields,)
        Its standard deviation over the repeats.
    field_names : ndarray of str of shape (n_fields,)
        The columns of ``X``; ``x0``, ``x1``, ... when it has no names.

    Attributes
    ----------
    ax_ : matplotlib Axes
        Axes of the bars.
    figure_ : matplotlib Figure
    bars_ : matplotlib BarContainer
        One bar per field, the most important at the top; its ``errorbar``
        holds the standard deviations.

    Examples
    --------
    On rows held out from training:

    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn.model_selection import train_test_split
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn_deepfm import DeepFMClassifier, FieldEncoder, FieldImportanceDisplay
    >>> from sklearn_deepfm import make_ctr_classification
    >>> X, y = make_ctr_classification(n_samples=400, as_frame=True, random_state=0)
    >>> X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
    >>> model = make_pipeline(FieldEncoder(), DeepFMClassifier(max_epochs=2, random_state=0))
    >>> model = model.fit(X_train, y_train)
    >>> display = FieldImportanceDisplay.from_estimator(
    ...     model, X_test, y_test, n_repeats=2, random_state=0
    ... )
    >>> display.field_names.tolist()
    ['C1', 'C2', 'C3', 'C4', 'C5', 'C6']
    >>> len(display.bars_)
    6
    """

    def __init__(self, *, importances_mean, importances_std, field_names):
        self.importances_mean = importances_mean
        self.importances_std = importances_std
        self.field_names = field_names

    @classmethod
    def from_estimator(cls, estimator, X, y, *, n_repeats=5, random_state=None, ax=None):
        """Compute the permutation importance of each field of ``X`` and plot it.

        Parameters
        ----------
        estimator : DeepFMClassifier or Pipeline
            A fitted classifier (``X`` holds its codes and values), or a fitted
            Pipeline ending in one (``X`` holds the raw columns).
        X : {array-like, DataFrame} of shape (n_samples, n_fields)
            Rows to score, preferably held out from training; each column is a field.
        y : array-like of shape (n_samples,)
            Their labels.
        n_repeats : int, default=5
            Number of shuffles of each field.
        random_state : int, RandomState instance or None, default=None
            Seeds the shuffles.
        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure when None.

        Returns
        -------
        display : FieldImportanceDisplay
        """
        cls._classifier_of(estimator)
        result = permutation_importance(
            estimator, X, y, scoring="roc_auc", n_repeats=n_repeats, random_state=random_state
        )
        mean, std = result.importances_mean, result.importances_std
        names = field_labels(getattr(X, "columns", None), np.shape(X)[1])
        display = cls(importances_mean=mean, importances_std=std, field_names=names)
        return display.plot(ax=ax)

    def _draw(self):
        """Draw one horizontal bar per field, sorted, with the standard deviation as error bar."""
        order = np.argsort(self.importances_mean, kind="stable")  # barh draws bottom-up
        self.bars_ = self.ax_.barh(
            np.arange(len(order)),
            self.importances_mean[order],
            xerr=self.importances_std[order],
            tick_label=np.asarray(self.field_names)[order],
            capsize=3,
        )
        self.ax_.axvline(0, color="black", linewidth=0.8)
        self.ax_.set(xlabel="drop in ROC AUC when the field is shuffled", title="Field importance")
