"""What the displays share, in scikit-learn's Display style.

Each display holds the numbers it draws: ``from_estimator`` computes them from a fitted
``DeepFMClassifier`` or a Pipeline ending in one, and ``plot`` draws them, keeping the
figure, axes and artists. Drawing needs matplotlib: ``pip install "sklearn-deepfm[plot]"``.
"""

import numpy as np
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted

from ..estimators._classifier import DeepFMClassifier


class Display:
    """What the displays share: ``plot`` makes or takes the axes, and ``_draw`` draws."""

    def plot(self, *, ax=None, **options):
        """Draw the display on ``ax``, keeping the figure, axes and artists.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure when None.
        **options
            What the display lets you choose: ``cmap`` (a matplotlib colormap,
            default "viridis") for ``FieldInteractionDisplay``, nothing for the others.

        Returns
        -------
        display : the display
            ``self``, with ``ax_``, ``figure_`` and the artists set.
        """
        self.ax_, self.figure_ = _axes(ax, f"{type(self).__name__}.plot")
        self._draw(**options)
        return self

    @classmethod
    def _classifier_of(cls, estimator):
        """Return what turns X into the classifier's input, and the fitted classifier.

        The checks each ``from_estimator`` starts with: matplotlib is installed, and
        ``estimator`` is a fitted DeepFMClassifier or a Pipeline ending in one.
        """
        _check_matplotlib(f"{cls.__name__}.from_estimator")
        return _split_pipeline(estimator, cls.__name__)


def _check_matplotlib(caller):
    """Raise an ImportError that says how to install matplotlib."""
    try:
        import matplotlib  # noqa: F401
    except ImportError as error:
        raise ImportError(
            f"{caller} needs matplotlib, which is not installed. Install it with "
            'pip install "sklearn-deepfm[plot]".'
        ) from error


def _axes(ax, caller):
    """Return ``ax`` and its figure, or those of a new figure."""
    _check_matplotlib(caller)
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots()
    return ax, ax.figure


def identity(X):
    """Return ``X``: a bare classifier takes its input as it is."""
    return X


def _split_pipeline(estimator, caller):
    """Return the function that turns X into the classifier's input, and the classifier."""
    if isinstance(estimator, Pipeline):
        classifier = estimator[-1]
        encode = estimator[:-1].transform if len(estimator) > 1 else identity
    else:
        classifier, encode = estimator, identity
    if not isinstance(classifier, DeepFMClassifier):
        what = "a Pipeline ending in " if isinstance(estimator, Pipeline) else ""
        raise TypeError(
            f"{caller} needs a DeepFMClassifier or a Pipeline ending in one. Got "
            f"{what}{type(classifier).__name__}."
        )
    check_is_fitted(classifier)
    return encode, classifier


def field_labels(names, n_fields):
    """Field names as strings: ``names`` when given, else ``x0, x1, ...``."""
    if names is None:
        return np.array([f"x{i}" for i in range(n_fields)], dtype=object)
    return np.asarray([str(name) for name in names], dtype=object)
