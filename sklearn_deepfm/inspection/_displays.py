"""Pictures of what a fitted DeepFM model learned, in scikit-learn's Display style.

Each display holds the numbers it draws: ``from_estimator`` computes them from a fitted
``DeepFMClassifier`` or a Pipeline ending in one, and ``plot`` draws them, keeping the
figure, axes and artists. Drawing needs matplotlib: ``pip install "sklearn-deepfm[plot]"``.
"""

import numpy as np
from sklearn.inspection import permutation_importance
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted

from .._slots import field_names
from ..estimators._classifier import DeepFMClassifier
from ._learned import field_interactions, history_column, restored_epoch

__all__ = ["FieldImportanceDisplay", "FieldInteractionDisplay", "TrainingHistoryDisplay"]

_FM_MODELS = ("deepfm", "fm")  # the models with an FM part, whose pairs the heatmap shows


class _Display:
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


class TrainingHistoryDisplay(_Display):
    """Learning curves of a fit: losses and validation AUC per epoch, the restored epoch.

    Without a validation split (``early_stopping`` off) only the training loss exists.

    Parameters
    ----------
    epochs : ndarray of shape (n_epochs,)
        Epoch numbers, from 1.
    train_loss : ndarray of shape (n_epochs,)
        Mean training log loss of each epoch.
    valid_loss : ndarray of shape (n_epochs,) or None, default=None
        Validation log loss of each epoch (NaN where not recorded).
    valid_auc : ndarray of shape (n_epochs,) or None, default=None
        Validation ROC AUC of each epoch (NaN where not recorded).
    best_epoch : int or None, default=None
        The epoch whose weights early stopping restored.

    Attributes
    ----------
    ax_ : matplotlib Axes
        Axes of the losses.
    auc_ax_ : matplotlib Axes or None
        Second y-axis, sharing ``ax_``'s x-axis, of the validation AUC.
    figure_ : matplotlib Figure
    lines_ : dict of str to matplotlib Line2D
        The curves drawn, by history key ("train_loss", "valid_loss", "valid_auc").
    best_line_ : matplotlib Line2D or None
        Vertical line at ``best_epoch``.

    Notes
    -----
    ``DeepFMClassifier`` keeps the weights of the epoch where its ``scoring`` last
    improved by more than ``tol`` (skorch's ``EarlyStopping(load_best=True)``);
    ``best_epoch`` applies that rule to the history. The history does not record where
    the fits of ``warm_start`` begin, so the rule then spans them all. After a
    ``partial_fit`` (no validation split) there is no mark. After a refit (the
    classifier's ``refit``) the curves are the early-stopped network's
    (``early_stopping_history_``), and the mark is the number of epochs the
    refitted network then trained on all rows.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn_deepfm import DeepFMClassifier, FieldEncoder, make_ctr_classification
    >>> from sklearn_deepfm import TrainingHistoryDisplay
    >>> X, y = make_ctr_classification(n_samples=300, as_frame=True, random_state=0)
    >>> clf = DeepFMClassifier(max_epochs=2, early_stopping=True, random_state=0)
    >>> model = make_pipeline(FieldEncoder(), clf).fit(X, y)
    >>> display = TrainingHistoryDisplay.from_estimator(model)
    >>> display.epochs
    array([1, 2])
    >>> sorted(display.lines_)
    ['train_loss', 'valid_auc', 'valid_loss']
    """

    def __init__(self, *, epochs, train_loss, valid_loss=None, valid_auc=None, best_epoch=None):
        self.epochs = epochs
        self.train_loss = train_loss
        self.valid_loss = valid_loss
        self.valid_auc = valid_auc
        self.best_epoch = best_epoch

    @classmethod
    def from_estimator(cls, estimator, *, ax=None):
        """Read the learning curves of a fitted model and plot them.

        Parameters
        ----------
        estimator : DeepFMClassifier or Pipeline
            A fitted classifier, or a fitted Pipeline ending in one.
        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure when None.

        Returns
        -------
        display : TrainingHistoryDisplay
        """
        _check_matplotlib(f"{cls.__name__}.from_estimator")
        _, classifier = _split_pipeline(estimator, cls.__name__)
        history = classifier.early_stopping_history_ or list(classifier.net_.history)
        monitor = "valid_auc" if classifier.scoring == "roc_auc" else "valid_loss"
        display = cls(
            epochs=np.array([epoch["epoch"] for epoch in history]),
            train_loss=history_column(history, "train_loss"),
            valid_loss=history_column(history, "valid_loss"),
            valid_auc=history_column(history, "valid_auc"),
            best_epoch=restored_epoch(
                history,
                monitor,
                lower_is_better=classifier.scoring == "loss",
                threshold=classifier.tol,
            ),
        )
        return display.plot(ax=ax)

    def _draw(self):
        """Draw the losses, the validation AUC on a second axis and the restored epoch."""
        from matplotlib.ticker import MaxNLocator

        ax = self.ax_
        self.auc_ax_, self.lines_ = None, {}
        (self.lines_["train_loss"],) = ax.plot(
            self.epochs, self.train_loss, "o-", label="train loss"
        )
        if self.valid_loss is not None:
            (self.lines_["valid_loss"],) = ax.plot(
                self.epochs, self.valid_loss, "s-", label="validation loss"
            )
        if self.valid_auc is not None:
            self.auc_ax_ = ax.twinx()
            (self.lines_["valid_auc"],) = self.auc_ax_.plot(
                self.epochs, self.valid_auc, "^-", color="tab:green", label="validation AUC"
            )
            self.auc_ax_.set_ylabel("validation ROC AUC")
        self.best_line_ = None
        if self.best_epoch is not None:
            label = f"kept epoch ({self.best_epoch})"
            self.best_line_ = ax.axvline(self.best_epoch, color="grey", ls="--", label=label)
        ax.set(xlabel="epoch", ylabel="log loss", title="Training history")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        handles = ax.get_lines() + ([] if self.auc_ax_ is None else self.auc_ax_.get_lines())
        # below the axes: the curves of both y-axes fill the plot
        ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=2)


class FieldImportanceDisplay(_Display):
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

    Attributes
    ----------
    ax_ : matplotlib Axes
    figure_ : matplotlib Figure
    bars_ : matplotlib BarContainer
        One bar per field, the most important at the top; its ``errorbar``
        holds the standard deviations.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn_deepfm import DeepFMClassifier, FieldEncoder, make_ctr_classification
    >>> from sklearn_deepfm import FieldImportanceDisplay
    >>> X, y = make_ctr_classification(n_samples=300, as_frame=True, random_state=0)
    >>> clf = DeepFMClassifier(max_epochs=2, random_state=0)
    >>> model = make_pipeline(FieldEncoder(), clf).fit(X, y)
    >>> display = FieldImportanceDisplay.from_estimator(model, X, y, n_repeats=2, random_state=0)
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
        _check_matplotlib(f"{cls.__name__}.from_estimator")
        _split_pipeline(estimator, cls.__name__)
        result = permutation_importance(
            estimator, X, y, scoring="roc_auc", n_repeats=n_repeats, random_state=random_state
        )
        mean, std = result.importances_mean, result.importances_std
        names = _names(getattr(X, "columns", None), np.shape(X)[1])
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


class FieldInteractionDisplay(_Display):
    """Heatmap of the learned strength of each field pair in the FM part.

    Cell ``(i, j)`` is the mean over rows of ``|<v_i x_i, v_j x_j>|``, the size
    of the pair's term in the FM part's logit. Only models with an FM part
    (``model="deepfm"`` or ``"fm"``) have these terms.

    Parameters
    ----------
    interactions : ndarray of shape (n_fields, n_fields)
        Symmetric, with a zero diagonal (a field does not pair with itself).
    field_names : ndarray of str of shape (n_fields,)

    Attributes
    ----------
    ax_ : matplotlib Axes
    figure_ : matplotlib Figure
    im_ : matplotlib AxesImage
        The heatmap; the diagonal is left blank.
    colorbar_ : matplotlib Colorbar

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn_deepfm import DeepFMClassifier, FieldEncoder, make_ctr_classification
    >>> from sklearn_deepfm import FieldInteractionDisplay
    >>> X, y = make_ctr_classification(n_samples=300, as_frame=True, random_state=0)
    >>> model = make_pipeline(FieldEncoder(), DeepFMClassifier(max_epochs=2, random_state=0))
    >>> display = FieldInteractionDisplay.from_estimator(model.fit(X, y), X)
    >>> display.interactions.shape
    (6, 6)
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
        """
        _check_matplotlib(f"{cls.__name__}.from_estimator")
        encode, classifier = _split_pipeline(estimator, cls.__name__)
        if classifier.model not in _FM_MODELS:
            raise ValueError(
                f"{cls.__name__} shows the field pairs of the FM part, which "
                f"model={classifier.model!r} has not: only the models 'deepfm' and 'fm' have "
                "one. Fit DeepFMClassifier(model='deepfm') (the default) or model='fm'."
            )
        encoded = encode(X)
        names = getattr(classifier, "feature_names_in_", None)
        if names is None and encode is not _identity:
            try:  # the encoder's output columns are the classifier's fields
                names = estimator[:-1].get_feature_names_out()
            except AttributeError:  # a step without get_feature_names_out
                names = None
        interactions = field_interactions(classifier, encoded)
        if names is not None:  # a multi-valued field's slots are one field
            names = field_names(list(names), classifier.field_slices_)
        display = cls(interactions=interactions, field_names=_names(names, len(interactions)))
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


def _identity(X):
    return X


def _split_pipeline(estimator, caller):
    """Return the function that turns X into the classifier's input, and the classifier."""
    if isinstance(estimator, Pipeline):
        classifier = estimator[-1]
        encode = estimator[:-1].transform if len(estimator) > 1 else _identity
    else:
        classifier, encode = estimator, _identity
    if not isinstance(classifier, DeepFMClassifier):
        what = "a Pipeline ending in " if isinstance(estimator, Pipeline) else ""
        raise TypeError(
            f"{caller} needs a DeepFMClassifier or a Pipeline ending in one. Got "
            f"{what}{type(classifier).__name__}."
        )
    check_is_fitted(classifier)
    return encode, classifier


def _names(names, n_fields):
    """Field names as strings: ``names`` when given, else ``x0, x1, ...``."""
    if names is None:
        return np.array([f"x{i}" for i in range(n_fields)], dtype=object)
    return np.asarray([str(name) for name in names], dtype=object)
