"""``DeepFMClassifier``: DeepFM as a scikit-learn classifier, trained through skorch."""

import numpy as np
from scipy.special import expit
from sklearn.base import ClassifierMixin
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from torch import nn

from .._sklearn import StrOptions, fit_context
from ..data import ParquetShards
from ._base import _PREDICT_BATCH_SIZE, BaseDeepFM
from ._calibration import fit_platt
from ._net import ValidAUC

__all__ = ["DeepFMClassifier"]

# batch_norm="auto": batch normalisation from this many training rows of each class on.
_AUTO_BATCH_NORM_MIN_CLASS_ROWS = 5_000


class DeepFMClassifier(ClassifierMixin, BaseDeepFM):
    """DeepFM click-through-rate classifier (Guo et al., IJCAI 2017).

    Each input column is a field. A column of non-negative integers holds
    codes (one embedding row each, as produced by ``FieldEncoder`` or any
    ordinal encoder); a column holding non-integer numbers is a continuous
    field whose value scales the field's single embedding, as in the paper.
    Which column is which is decided in ``fit``. An FM part (bias, order-1
    weights and pairwise interactions) and a deep part (an MLP over the
    concatenated field embeddings) share one embedding table; their logits
    are summed and trained end to end with the log loss.

    Parameters
    ----------
    model : {"deepfm", "fm", "lr", "dnn", "wide_deep", "fnn", "ipnn", "opnn"}, default="deepfm"
        DeepFM, or one of the baselines of the DeepFM paper, all trained the
        same way: "fm" (no deep part), "lr" (logistic regression: order-1
        weights only), "dnn" (the deep part alone), "wide_deep" (Wide & Deep
        in its LR & DNN form), "fnn" (the deep part on FM-pretrained
        embeddings: fits the "fm" model first, on the same split and with the
        same settings, and starts from its embedding table), "ipnn" and
        "opnn" (product-based networks, with inner or outer products; see
        ``network.PNN``).
    embedding_dim : int, default=32
        Size ``k`` of every feature's embedding.
    hidden_layer_sizes : tuple of int, default=(128, 128, 128)
        Widths of the deep part's hidden layers. On Frappe (38k training
        rows, seeds 0-4) these defaults gave held-out AUC 0.941 and log loss
        0.263 against 0.937 and 0.282 with the paper's ``embedding_dim=10``
        and (400, 400, 400), in less than half the fit time. For millions of
        rows the paper's wider network, which public Criteo recipes use, may
        be the better start (not measured here).
    dropout : float, default=0.5
        Dropout rate after each hidden layer (0.5 is the DeepFM paper's
        setting; it beat 0.2 on Frappe and on the quickstart data).
    batch_norm : bool or "auto", default="auto"
        Batch normalisation after each hidden linear layer. "auto" uses it when
        the training rows (after the validation split) hold at least 5,000 of
        each class, and not below: on a few thousand rows, or on few clicks, it
        made the deep part over-fit within two or three epochs. Without it
        (test AUC, seeds 0-4) the Criteo and Avazu slices (about 1,300 clicks
        in 6-7k training rows) went from 0.730 to 0.734 and from 0.708 to
        0.714, and TalkingData (140 downloads in 60k rows) from 0.937 (sd
        0.020) to 0.956 (sd 0.007); Frappe (11k clicks) reached 0.942 with it
        and 0.930 without (seeds 0-2). Decided at the first ``fit`` or
        ``partial_fit`` call, from the rows it trains on; the choice is
        ``batch_norm_``.
    pooling : {"mean", "sum"}, default="mean"
        How a multi-valued field combines the embeddings of its values into the
        field's one embedding: their mean (a list and the same list repeated
        predict alike) or their sum. Such a field is a run of DataFrame columns
        ``name[0]``, ``name[1]``, ..., as :class:`FieldEncoder` writes a column
        named in its ``multi_valued``; code 0 pads and is left out, so an empty
        list contributes a zero vector.
    embedding_l2 : float, default=0.0
        L2 penalty on the embedding rows each batch uses, added to its loss.
    learning_rate : float, default=1e-3
        Adam's step size.
    embedding_learning_rate : float or None, default=None
        Adam's step size for the embedding and order-1 tables; None takes
        ``learning_rate``. 3e-3 lifted the Avazu slice (7k rows, seeds 0-4)
        from 0.714 to 0.722 AUC, but lowered the Criteo slice from 0.734 to
        0.728.
    embedding_epsilon : float, default=1e-8
        Adam's epsilon for the embedding and order-1 tables. Adam moves a row
        by about the step size whatever its gradient, so a code seen once
        moves as far as a frequent one and is memorised; when a row's
        gradients are small beside epsilon (rare codes) it moves in
        proportion to them instead, which damps rare codes. 1e-3 lifted the
        Criteo slice (6k rows, 9% of its cells a code seen once) from 0.734
        to 0.743 AUC, level with an L2-tuned logistic regression, but
        lowered Avazu from 0.714 to 0.703. The two data sets pull these two
        parameters opposite ways, so the defaults leave them as Adam's; tune
        them (with ``GridSearchCV``) on small data with many rare codes.
    batch_size : int or "auto", default="auto"
        Rows per training step; capped at the number of training rows.
        "auto" takes ``n // 32`` for ``n`` training rows (after the validation
        split), at least 16 and at most 1024: about 32 steps an epoch on small
        data, 1024 from 32,768 training rows on. Fixed 1024 gave a few
        thousand rows a handful of steps an epoch: on the Criteo and Avazu
        slices (6-7k rows, seeds 0-2) "auto" lifted the test AUC from 0.704
        to 0.732 and from 0.685 to 0.701. The size used is ``batch_size_``.
    max_epochs : int, default=50
        Maximum number of passes over the training data.
    early_stopping : "auto" or bool, default="auto"
        Hold out ``validation_fraction`` of the rows (stratified), stop when
        the validation ``scoring`` has not improved by ``tol`` for
        ``n_iter_no_change`` epochs, and restore the best epoch's weights.
        "auto" enables it from 2,000 rows on.
    refit : "auto" or bool, default="auto"
        After early stopping, train a new network from the same initial
        weights on all the rows, the validation split included, for the
        number of epochs early stopping kept (as a search refits its best
        setting on all the data). Its Platt scaling is fitted to the
        early-stopped network's calibrated probabilities (see ``calibrate``),
        and the early-stopped fit's epochs stay in ``early_stopping_history_``.
        "auto" refits below 100,000 rows, where the held-out tenth is worth
        most and a second training is short.
        Without early stopping nothing is held out, so nothing is refitted.
        With ``model="fnn"`` the FM pre-training runs again too, on all the
        rows for the epochs it kept.
    scoring : {"roc_auc", "loss"}, default="roc_auc"
        What early stopping watches on the validation split: the ROC AUC, or
        the (weighted) log loss.
    calibrate : bool, default=True
        With early stopping on, map the logits through ``a * logit + b``
        (``a > 0``) fitted to minimise the log loss on the validation split
        (Platt scaling): the best-AUC epoch is often overconfident, and this
        fixes its probabilities without changing their ranking.
    validation_fraction : float, default=0.1
        Fraction of the rows held out when early stopping is on.
    n_iter_no_change : int, default=3
        Patience of early stopping, in epochs.
    tol : float, default=1e-4
        Smallest improvement of the validation ``scoring`` that early stopping
        counts as one: a rise of the AUC, or a fall of the loss, by more than
        ``tol``.
    sparse_embeddings : bool, default=True
        Update only the embedding rows present in each batch (sparse
        gradients), so that a step costs the same whatever the vocabulary
        size. Each row still makes the moves of dense Adam: those of the steps
        it missed are applied when it comes back, and for all rows at the
        end of each epoch. False uses dense Adam everywhere.
    random_state : int, RandomState instance or None, default=None
        Seeds the weight initialisation, dropout, shuffling and the
        validation split: the same seed gives identical predictions, also
        after continued training (``warm_start``, ``partial_fit``).
    warm_start : bool, default=False
        When True, ``fit`` on a fitted model continues training its network
        (weights, optimizer state, random streams) for ``max_epochs`` more
        epochs on the data given, instead of starting anew. The data must have
        the fields of the first fit (see ``partial_fit``); the network's shape
        and learning rate stay as first fitted.
    verbose : int, default=0
        1 prints one line per epoch (train loss, validation loss and AUC,
        duration), coloured only on a terminal; 2 also shows a per-batch
        progress bar (tqdm, on stderr); 0 is silent.
    device : str or torch.device, default="cpu"
        Torch device to train and predict on, e.g. "cuda".
    checkpoint_dir : str or path-like, default=None
        Where ``fit`` saves its state after every epoch (weights, optimizer
        states, random streams, early stopping, epochs done), atomically, so
        that a crash leaves the last checkpoint whole. ``fit`` with the same
        parameters and data resumes from that checkpoint, ending with the model
        an uninterrupted fit gives; the checkpoint is removed when the fit ends.
        A checkpoint of another fit is refused. ``partial_fit`` and continued
        training (``warm_start``) do not checkpoint. In a data-parallel fit,
        rank 0 writes it.
    n_threads : int, default=None
        Torch threads for fit and predict (restored after). None leaves
        torch's setting, except inside a Dask worker, where it takes the
        worker's thread count, so that a search on a cluster does not run
        more threads than cores.

    Attributes
    ----------
    classes_ : ndarray of shape (2,)
        The two class labels; ``classes_[1]`` is the positive (click) class.
    n_features_in_ : int
        Number of fields seen in ``fit``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names seen in ``fit``, when ``X`` was a DataFrame with string
        column names.
    cardinalities_ : ndarray of shape (n_features_in_,)
        Number of codes of each column's field (1 for a continuous field).
    value_fields_ : ndarray of bool of shape (n_features_in_,)
        True for the columns taken as continuous values.
    field_slices_ : list of slice
        The columns of each field of the network: one column, or the slots of a
        multi-valued field (see ``pooling``).
    net_ : skorch.NeuralNet
        The fitted skorch net (a ``NeuralNet`` subclass with a per-row weighted
        loss and the sparse optimizer); ``net_.module_`` is the ``DeepFM`` module (a
        ``PNN`` for "ipnn" and "opnn") and ``net_.history`` the per-epoch record.
    batch_norm_ : bool
        Whether the hidden layers have batch normalisation: ``batch_norm``, or
        the "auto" rule's choice at the first fit.
    batch_size_ : int
        Rows per training step of the last fit or ``partial_fit`` call:
        ``batch_size`` capped at the training rows, or the "auto" rule's size.
    n_iter_ : int
        Number of epochs the network ran (for "fnn", after the FM
        pre-training; with ``refit``, the refitted network's), those of
        continued training (``warm_start``, ``partial_fit``) included.
    calibration_ : tuple of float
        ``(a, b)`` of the Platt scaling; ``(1.0, 0.0)`` when not calibrated.
    early_stopping_history_ : list of dict or None
        When the last fit refitted (see ``refit``), the epochs of its
        early-stopped network (losses, validation scores), which
        ``net_.history`` of the refitted network lacks; None otherwise.

    Notes
    -----
    ``X`` must hold numbers: codes and values, not raw strings (encode them
    with ``FieldEncoder``). NaN, infinities and numbers beyond float32's range
    are rejected with the column and row that hold them. A DataFrame must
    have the columns of ``fit``, in the same order (scikit-learn's rule; unlike
    ``FieldEncoder``, which selects its columns by name and ignores extra ones,
    so a Pipeline of both accepts any column order and extra columns).

    Examples
    --------
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn_deepfm import DeepFMClassifier, FieldEncoder, make_ctr_classification
    >>> X, y = make_ctr_classification(n_samples=500, as_frame=True, random_state=0)
    >>> model = make_pipeline(FieldEncoder(), DeepFMClassifier(max_epochs=2, random_state=0))
    >>> model.fit(X, y).predict_proba(X.head(2)).shape
    (2, 2)
    """

    _parameter_constraints = {
        **BaseDeepFM._parameter_constraints,
        "batch_norm": [StrOptions({"auto"}), "boolean"],
        "scoring": [StrOptions({"roc_auc", "loss"})],
        "calibrate": ["boolean"],
    }
    _criterion = nn.BCEWithLogitsLoss

    def __init__(
        self,
        *,
        model="deepfm",
        embedding_dim=32,
        hidden_layer_sizes=(128, 128, 128),
        dropout=0.5,
        batch_norm="auto",
        pooling="mean",
        embedding_l2=0.0,
        learning_rate=1e-3,
        embedding_learning_rate=None,
        embedding_epsilon=1e-8,
        batch_size="auto",
        max_epochs=50,
        early_stopping="auto",
        refit="auto",
        scoring="roc_auc",
        calibrate=True,
        validation_fraction=0.1,
        n_iter_no_change=3,
        tol=1e-4,
        sparse_embeddings=True,
        random_state=None,
        warm_start=False,
        verbose=0,
        device="cpu",
        checkpoint_dir=None,
        n_threads=None,
    ):
        self.model = model
        self.embedding_dim = embedding_dim
        self.hidden_layer_sizes = hidden_layer_sizes
        self.dropout = dropout
        self.batch_norm = batch_norm
        self.pooling = pooling
        self.embedding_l2 = embedding_l2
        self.learning_rate = learning_rate
        self.embedding_learning_rate = embedding_learning_rate
        self.embedding_epsilon = embedding_epsilon
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.early_stopping = early_stopping
        self.refit = refit
        self.scoring = scoring
        self.calibrate = calibrate
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.sparse_embeddings = sparse_embeddings
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose
        self.device = device
        self.checkpoint_dir = checkpoint_dir
        self.n_threads = n_threads

    @fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None, sample_weight=None):
        """Fit the network on field codes ``X`` and binary labels ``y``.

        With ``warm_start=True`` and a fitted model, continue training the
        fitted network instead, under the rules of ``partial_fit`` for new
        data.

        Parameters
        ----------
        X : {array-like, DataFrame} of shape (n_samples, n_fields) or ParquetShards
            One column per field: non-negative integer codes, or continuous
            values (any column holding a non-integer). Or encoded data on disk
            (:class:`~sklearn_deepfm.parquet.ParquetShards`), read a shard at a
            time, which also holds the labels, weights and validation rows.
        y : array-like of shape (n_samples,)
            Two distinct class labels of any type; None with ParquetShards.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weight of each row in the loss; None with ParquetShards.

        Returns
        -------
        self : DeepFMClassifier
            The fitted classifier.
        """
        first = not (self.warm_start and hasattr(self, "net_"))
        return self._fit(X, y, sample_weight, first=first)

    @fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y=None, classes=None, sample_weight=None):
        """Train the network for one epoch on ``X`` and ``y``, continuing where it stands.

        The first call on an unfitted model initialises the network as ``fit``
        does, sizing each field from the largest code it sees: that chunk must
        hold each field's largest code, or call ``fit`` first. Later calls (and
        calls after ``fit``) continue training the network and its optimizer.
        Early stopping and calibration need a validation split and do not
        apply: ``calibration_`` becomes ``(1.0, 0.0)``.

        New data must go through the same fields: the same columns, codes
        below ``cardinalities_`` (a larger code raises ValueError) and labels
        among ``classes_``. No encoder is refitted here: a ``FieldEncoder``
        fitted once and kept fixed maps values it has not seen to code 0. To
        continue training a fitted Pipeline, encode with its fitted steps::

            pipe[-1].partial_fit(pipe[:-1].transform(X_new), y_new)

        Parameters
        ----------
        X : {array-like, DataFrame} of shape (n_samples, n_fields) or ParquetShards
            As in ``fit``.
        y : array-like of shape (n_samples,)
            Labels, all among ``classes``; one class is enough after the
            first call. None with ParquetShards.
        classes : array-like of shape (2,), default=None
            The two labels of all calls. The first call infers them from ``y``
            when it holds both; later calls may omit them, or must repeat
            ``classes_``.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weight of each row in the loss.

        Returns
        -------
        self : DeepFMClassifier
            The classifier, trained one more epoch.
        """
        first = not hasattr(self, "net_")
        return self._fit(X, y, sample_weight, first=first, classes=classes, epochs=1)

    def decision_function(self, X):
        """Return the logit of the positive class for each row.

        Parameters
        ----------
        X : {array-like, DataFrame} of shape (n_samples, n_fields)

        Returns
        -------
        ndarray of shape (n_samples,)
            Positive values favour ``classes_[1]``.
        """
        logits = self._raw_logits(X)
        scale, shift = self.calibration_
        return scale * logits + shift

    def predict_proba(self, X):
        """Return the probability of each class for each row.

        Parameters
        ----------
        X : {array-like, DataFrame} of shape (n_samples, n_fields)

        Returns
        -------
        ndarray of shape (n_samples, 2)
            Columns follow ``classes_``.
        """
        positive = expit(self.decision_function(X))
        return np.column_stack([1.0 - positive, positive])

    def predict(self, X):
        """Return the more probable class label of each row.

        Parameters
        ----------
        X : {array-like, DataFrame} of shape (n_samples, n_fields)

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        positive = self.decision_function(X) > 0
        return self.classes_[positive.astype(int)]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        return tags

    # -- the target: labels, scores and calibration ---------------------

    def _targets(self, y, classes=None, *, first=True, partial=False, sample_weight=None):
        """Return ``y`` as 0/1 targets, setting ``classes_`` on a first fit (weights unused)."""
        check_classification_targets(y)
        if not first:
            if classes is not None and not np.array_equal(np.unique(classes), self.classes_):
                raise ValueError(
                    f"classes={np.unique(classes).tolist()} differs from classes_="
                    f"{self.classes_.tolist()} of the first fit; continued training keeps the "
                    "classes of the first call. Omit classes or pass the same ones."
                )
            return self._label_targets(y)
        labels = y if classes is None else classes
        self.classes_, target = np.unique(labels, return_inverse=True)
        if len(self.classes_) == 1:
            hint = " Pass both labels as classes to the first partial_fit call." if partial else ""
            raise ValueError(
                "y holds only one class; DeepFMClassifier needs clicks and non-clicks (two "
                f"classes) to learn from. Got only {self.classes_.tolist()[0]!r}.{hint}"
            )
        if len(self.classes_) > 2:
            raise ValueError(
                "Only binary classification is supported: y must hold exactly two classes. "
                f"Got {len(self.classes_)} ({type_of_target(labels)}): "
                f"{self.classes_.tolist()[:10]}."
            )
        return target if classes is None else self._label_targets(y)

    def _label_targets(self, y):
        """0/1 target of each label of ``y``, which must all be in ``classes_``."""
        unknown = ~np.isin(y, self.classes_)
        if unknown.any():
            raise ValueError(
                f"y holds the label {y[unknown].tolist()[0]!r}, which is not among classes_="
                f"{self.classes_.tolist()}, the classes of the first fit or partial_fit call "
                "(its y or its classes argument), which continued training keeps."
            )
        return np.searchsorted(self.classes_, y)

    def _target_map(self):
        return self._label_targets

    def _stratify(self, target):
        return target

    def _monitor(self):
        """Return what early stopping watches: ``(history key, lower_is_better)``."""
        return ("valid_auc", False) if self.scoring == "roc_auc" else ("valid_loss", True)

    def _resolve_batch_norm(self, train):
        """``batch_norm``, or the "auto" rule on the class counts of the training rows."""
        if self.batch_norm != "auto":
            return self.batch_norm
        labels = train.labels() if isinstance(train, ParquetShards) else train.y.numpy()
        return auto_batch_norm(np.unique(labels, return_counts=True)[1])

    def _scoring_callbacks(self):
        return [("valid_auc", ValidAUC())]

    def _finish_fit(self, valid):
        """Platt-scale the logits on the validation split (see ``calibrate``)."""
        self.calibration_ = (1.0, 0.0)
        if self.calibrate and valid is not None:
            logits, y, weight = self.net_.predict_logits(
                valid, _PREDICT_BATCH_SIZE, with_targets=True
            )
            self.calibration_ = fit_platt(logits, y, weight)

    def _finish_refit(self, first, train):
        """Platt-scale the refitted network towards the first's calibrated probabilities.

        The Platt scaling was fitted to the first network's logits on rows it had
        not seen; the refitted network has no such rows. On the rows both trained
        on, the refitted network's scaling is fitted with the first's calibrated
        probabilities as soft labels (each row once as a click with weight p, once
        as none with weight 1 - p): the log loss between the two is least where
        the probabilities matter, which a line between logits is not when clicks
        are rare.
        """
        if self.calibration_ == (1.0, 0.0):
            return
        scale, shift = self.calibration_
        old = first.predict_logits(train, _PREDICT_BATCH_SIZE)
        new, _, weight = self.net_.predict_logits(train, _PREDICT_BATCH_SIZE, with_targets=True)
        p = expit(scale * old + shift)
        weight = np.ones_like(p) if weight is None else weight
        self.calibration_ = fit_platt(
            np.concatenate([new, new]),
            np.concatenate([np.ones_like(p), np.zeros_like(p)]),
            np.concatenate([p * weight, (1 - p) * weight]),
        )

    def _check_fitted_state(self):
        super()._check_fitted_state()
        if len(self.classes_) != 2 or len(self.calibration_) != 2:
            raise ValueError(
                "the classifier's fitted attributes are inconsistent: expected 2 classes "
                "and a calibration (scale, shift)."
            )


def auto_batch_norm(class_counts):
    """Return the choice of ``batch_norm="auto"`` for the training rows' class counts.

    True when both classes have at least 5,000 rows: the rarer class, not the
    number of rows, bounds what a few thousand clicks (or downloads in a sea of
    non-clicks) can teach the deep part.

    Examples
    --------
    >>> from sklearn_deepfm.estimator import auto_batch_norm
    >>> [auto_batch_norm(c) for c in ([4_515, 1_245], [59_864, 136], [23_079, 11_553])]
    [False, False, True]
    """
    counts = np.asarray(class_counts)
    return bool(len(counts) == 2 and counts.min() >= _AUTO_BATCH_NORM_MIN_CLASS_ROWS)
