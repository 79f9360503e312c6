"""The FM part's learned field pairs: ``FieldInteractionDisplay``."""

import numpy as np

from .._slots import field_names
from ._base import Display, field_labels, identity
from ._learned import field_interactions

__all__ = ["FieldInteractionDisplay"]

_FM_MODELS = ("deepfm", "fm")  # the models with an FM part, whose pairs the heatmap shows


class FieldInteractionDisplay(Display):
    """Heatmap of the learned strength of each field pair in the FM part.

    Cell ``(i, j)`` is the mean over rows of ``|<v_i x_i, v_j x_j>|``, the size
    of the pair's term in the FM part's logit. Only models with an FM part
    (``model="deepfm"`` or ``"fm"``) have these terms.

    Parameters
    ----------
    interactions : ndarray of shape (n_fields, n_fields)
        Symmetric, with a zero diagonal (a field does not pair with itself).
    field_names : ndarray of str of shape (n_fields,)
        The classifier's fields (a multi-valued field's slots are one field);
        ``x0``, ``x1``, ... when it knows no names.

    Attributes
    ----------
    ax_ : matplotlib Axes
        Axes of the heatmap; the colorbar has axes of its own.
    figure_ : matplotlib Figure
    im_ : matplotlib AxesImage
        The heatmap; the diagonal is left blank.
    colorbar_ : matplotlib Colorbar

    Examples
    --------
    A classifier fitted on codes, whose fields are named ``x0``, ``x1``, ...:

    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn_deepfm import DeepFMClassifier, FieldInteractionDisplay
    >>> from sklearn_deepfm import make_ctr_classification
    >>> X, y = make_ctr_classification(n_samples=300, random_state=0)
    >>> clf = DeepFMClassifier(max_epochs=2, random_state=0).fit(X, y)
    >>> display = FieldInteractionDisplay.from_estimator(clf, X)
    >>> display.interactions.shape
    (6, 6)
    >>> display.field_names[:3].tolist()
    ['x0', 'x1', 'x2']
    """

    def __init__(self, *, interactions, field_names):
        self.interactions = interactions
        self.field_names = field_names

    @classmethod
    def from_estimator(cls, estimator, X, *, ax=None):
        """Average the FM part's field-pair terms over the rows of ``X`` and plot them.

        Parameters
        ----------
        estimator : DeepFMClassifier or Pipeline
            A fitted classifier with an FM part, or a fitted Pipeline ending in one.
        X : {array-like, DataFrame} of shape (n_samples, n_columns)
            Rows to average over: the classifier's codes and values, or the
            Pipeline's raw columns.
        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure when None.

        Returns
        -------
        display : FieldInteractionDisplay
            The mean pair terms, drawn as a heatmap.
        """
        encode, classifier = cls._classifier_of(estimator)
        if classifier.model not in _FM_MODELS:
            raise ValueError(
                f"{cls.__name__} shows the field pairs of the FM part, which "
                f"model={classifier.model!r} has not: only the models 'deepfm' and 'fm' have "
                "one. Fit DeepFMClassifier(model='deepfm') (the default) or model='fm'."
            )
        encoded = encode(X)
        names = getattr(classifier, "feature_names_in_", None)
        if names is None and encode is not identity:
            try:  # the encoder's output columns are the classifier's fields
                names = estimator[:-1].get_feature_names_out()
            except AttributeError:  # a step without get_feature_names_out
                names = None
        interactions = field_interactions(classifier, encoded)
        if names is not None:  # a multi-valued field's slots are one field
            names = field_names(list(names), classifier.field_slices_)
        display = cls(interactions=interactions, field_names=field_labels(names, len(interactions)))
        return display.plot(ax=ax)

    def _draw(self, cmap="viridis"):
        """Draw the heatmap (``cmap``, a matplotlib colormap), field names as tick labels."""
        n = len(self.interactions)
        blank_diagonal = np.ma.masked_array(self.interactions, mask=np.eye(n, dtype=bool))
        self.im_ = self.ax_.imshow(blank_diagonal, cmap=cmap)
        self.colorbar_ = self.figure_.colorbar(self.im_, ax=self.ax_)
        self.colorbar_.set_label(r"mean $|\langle v_i x_i, v_j x_j \rangle|$ over rows")
        ticks = np.arange(n)
        self.ax_.set_xticks(ticks, self.field_names, rotation=45, ha="right")
        self.ax_.set_yticks(ticks, self.field_names)
        self.ax_.set_title("Field interactions of the FM part")
