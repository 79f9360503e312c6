"""Learning curves of a fit: ``TrainingHistoryDisplay``."""

import numpy as np

from ._base import Display
from ._learned import history_column, restored_epoch

__all__ = ["TrainingHistoryDisplay"]


class TrainingHistoryDisplay(Display):
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
            The curves and the kept epoch, drawn.
        """
        _, classifier = cls._classifier_of(estimator)
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
