"""``DeepFMClassifier``: DeepFM as a scikit-learn classifier, trained through skorch."""

import functools
from numbers import Real

import numpy as np
from scipy.special import expit
from sklearn.base import ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from torch import nn

from .._sklearn import Interval, StrOptions, fit_context
from ._base import BaseDeepFM
from ._calibration import carried_platt, platt_scaling
from ._callbacks import ValidAUC
from ._defaults import AUTO_BATCH_MAX_LARGE, large_data, linear_start_on
from ._linear_update import LinearUpdateMixin
from ._net import _PREDICT_BATCH_SIZE
from ._targets import binary_classes, check_classes, label_targets


class DeepFMClassifier(ClassifierMixin, LinearUpdateMixin, BaseDeepFM):
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
        DeepFM, or one of the DeepFM paper's baselines, trained the same way:
        "fm" (no deep part), "lr" (order-1 weights only), "dnn" (the deep part
        alone), "wide_deep" (LR & DNN), "fnn" (the deep part on the embeddings
        of an "fm" model fitted first, on the same split and settings), "ipnn"
        and "opnn" (product-based networks, inner or outer; ``nn.PNN``).
    embedding_dim : int, default=32
        Size ``k`` of every feature's embedding.
    hidden_layer_sizes : tuple of int, default=(128, 128, 128)
        Widths of the deep part's hidden layers. Narrower than the paper's
        (400, 400, 400), which may be the better start for millions of rows.
    dropout : float, default=0.5
        Dropout rate after each hidden layer (the DeepFM paper's setting).
    batch_norm : bool or "auto", default="auto"
        Batch normalisation after each hidden linear layer. "auto" uses it when
        the training rows (after the validation split) hold at least 5,000 of
        each class (below, it made the deep part over-fit). Decided at the first
        ``fit`` or ``partial_fit`` call; the choice is ``batch_norm_``.
    pooling : {"mean", "sum"}, default="mean"
        How a multi-valued field (the columns ``name[0]``, ``name[1]``, ... that
        :class:`FieldEncoder` writes for its ``multi_valued``) combines its
        values' embeddings: their mean or their sum. Code 0 pads and is left
        out, so an empty list contributes a zero vector.
    embedding_l2 : float or "auto", default="auto"
        L2 penalty ``embedding_l2 / 2 * ||W||**2`` on the embedding and order-1
        tables, added to each batch's loss: on every row of dense tables (so
        that a code the data rarely moves is pulled to zero, as in an L2
        logistic regression), on the rows the batch uses of sparse ones (see
        ``sparse_embeddings``). "auto" takes 0.003 on large data (50,000
        training rows of each class, tables of at most 100,000 rows in all;
        batch normalisation then keeps the deep part's inputs at scale), else 0.
    learning_rate : float, default=1e-3
        Adam's step size.
    embedding_learning_rate : float or None, default=None
        Adam's step size for the embedding and order-1 tables; None takes
        ``learning_rate``.
    embedding_epsilon : float, default=1e-8
        Adam's epsilon for the embedding and order-1 tables. A row whose
        gradients are small beside it (a rare code) moves in proportion to
        them rather than by about the step size, which damps the memorising
        of rare codes. Worth tuning with ``embedding_learning_rate`` on small
        data with many rare codes (see :ref:`tuning` in the user guide).
    linear_start_C : float or None, default=0.05
        With early stopping, the bias and order-1 weights start from an L2
        logistic regression fitted on the training split's one-hot codes
        (``LogisticRegression(C=linear_start_C)``; for ``refit``, refitted on
        all rows), and early stopping scores that start as epoch 0: when no
        trained epoch scores better, the fit keeps it (and a refit trains no
        epoch). So the kept network is never worse on the validation split
        than the logistic regression, which trained from zero it often was:
        Adam memorises rare codes within the first epoch. Smaller ``C``
        regularises more; a strong start (large ``C``) can leave the deep part
        unable to pass it. The order-1 weights start at zero with None, below
        500 training rows of either class (where a dozen validation positives
        cannot judge the start), and above 500,000 training rows (where the
        one-hot matrix would cost three times the codes' memory).
    linear_update : bool, default=False
        For daily updates with ``partial_fit``. When True, ``fit`` keeps a
        precision for each order-1 weight: ``1 / linear_start_C`` plus the
        curvature of the log loss over the rows the kept network learned from.
        Each later ``partial_fit`` then first refits the bias and order-1 weights
        on its rows as an online logistic regression, the rest of the network's
        logit held, each weight pulled toward its current value by its precision
        (so a weight learned from many rows stays, and a new code's starts from
        the penalty alone), adds those rows' curvature to the precisions, and
        trains the rest for the epoch with the bias and order-1 weights held.
        One epoch of every weight instead lets the new codes' weights move by a
        day of Adam steps, and a second pass memorises the day. Needs
        ``linear_start_C``; not with data-parallel training.
    batch_size : int or "auto", default="auto"
        Rows per training step; capped at the number of training rows.
        "auto" takes ``n // 32`` for ``n`` training rows (after the validation
        split), at least 16 and at most 1024 (4096 on large data, as for
        ``embedding_l2="auto"``): about 32 steps an epoch on small data. The
        size used is ``batch_size_``.
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
        number of epochs early stopping kept (FNN's FM pre-training too, for
        its kept epochs). Its Platt scaling is fitted to the early-stopped
        network's calibrated probabilities, whose epochs stay in
        ``early_stopping_history_``. "auto" refits below 100,000 rows. Without
        early stopping nothing is held out, so nothing is refitted.
    scoring : {"roc_auc", "loss"}, default="roc_auc"
        What early stopping watches on the validation split: the ROC AUC, or
        the (weighted) log loss.
    calibrate : bool, default=True
        With early stopping on, map the logits through ``a * logit + b``
        (``a > 0``) fitted to minimise the log loss on the validation split
        (Platt scaling): this fixes overconfident probabilities, not the ranking.
    validation_fraction : float, default=0.1
        Fraction of the rows held out when early stopping is on.
    n_iter_no_change : int, default=3
        Patience of early stopping, in epochs.
    tol : float, default=1e-4
        Smallest improvement of the validation ``scoring`` (a rise of the AUC,
        a fall of the loss) that early stopping counts as one.
    plateau_factor : float or "auto", default="auto"
        With early stopping, multiply every learning rate by this after each
        epoch that does not improve the validation score, so that training
        goes on in smaller steps before it stops (torch's
        ``ReduceLROnPlateau`` with patience 0); a refit repeats the same
        rates. 1 keeps them constant. "auto" takes 0.1 on large data (as for
        ``embedding_l2="auto"``) and 1 elsewhere: on smaller validation splits
        a chance miss of the noisier score decays the rates too early. Each
        ``fit`` and ``partial_fit`` call starts at ``learning_rate``.
    sparse_embeddings : bool or "auto", default="auto"
        Update only the embedding rows present in each batch, so that a step
        costs the same whatever the vocabulary size; each row still makes the
        moves of dense Adam, those it missed when it comes back and at the end
        of each epoch. False uses dense Adam everywhere. "auto" is True, but
        for tables of at most 100,000 rows in all under an ``embedding_l2``
        penalty, whose dense step costs little and penalises every row.
    random_state : int, RandomState instance or None, default=None
        Seeds the weight initialisation, dropout, shuffling and the validation
        split: the same seed gives identical predictions, continued or not.
    warm_start : bool, default=False
        When True, ``fit`` on a fitted model continues training its network
        (weights, optimizer state, random streams) for ``max_epochs`` more
        epochs on the data given, which must have the columns of the first fit
        (see ``partial_fit``); the network's shape stays as first fitted, but
        for its embedding tables, which grow for new codes: a code beyond
        ``cardinalities_`` (from an encoder refitted on newer data) adds rows
        to its field's tables. Old rows keep their weights, new rows start as
        in a new fit, and the optimizer state grows with the tables.
    verbose : int, default=0
        1 prints one line per epoch (losses, validation AUC, duration),
        coloured only on a terminal; 2 adds a per-batch progress bar (tqdm).
    device : str or torch.device, default="cpu"
        Torch device to train and predict on, e.g. "cuda".
    checkpoint_dir : str or path-like, default=None
        Where ``fit`` saves its state after every epoch, atomically, in a file
        named after the fit (parameters, seed, data). ``fit`` with the same
        parameters and data resumes from it after a crash, ending with the
        model an uninterrupted fit gives; the file is removed when the fit
        ends. The fits of a search (each candidate and fold) keep their own
        files in one directory. Needs an int ``random_state``. ``partial_fit``
        and ``warm_start`` do not checkpoint; in a data-parallel fit, rank 0
        writes.
    n_threads : int, default=None
        Torch threads for fit and predict (restored after). None leaves
        torch's setting, except inside a Dask worker, where it takes the
        worker's thread count.
    precision : {"auto", "float32", "bfloat16"}, default="auto"
        Precision of the deep part's matrix products in training. "bfloat16"
        is mixed precision: the weights, the FM part and the output stay
        float32, and evaluation and prediction run in float32. "auto" takes
        "bfloat16" on a CPU with native bfloat16 arithmetic (AVX512-BF16 or AMX),
        where it trains faster at the same held-out AUC, and "float32"
        elsewhere; the choice is ``precision_``, so results depend on the CPU.

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
        The columns of each field: one, or the slots of a multi-valued field.
    net_ : skorch.NeuralNet
        The fitted skorch net; ``net_.module_`` is the ``DeepFM`` module (a
        ``PNN`` for "ipnn" and "opnn") and ``net_.history`` the per-epoch record.
    batch_norm_ : bool
        ``batch_norm``, or the "auto" rule's choice at the first fit.
    embedding_l2_, plateau_factor_ : float
        ``embedding_l2`` and ``plateau_factor``, or the "auto" rules' choices
        at the first fit.
    sparse_embeddings_ : bool
        ``sparse_embeddings``, or the "auto" rule's choice at the first fit.
    batch_size_ : int
        Rows per training step of the last fit or ``partial_fit`` call.
    precision_ : str
        The precision of the last fit or ``partial_fit`` call's training
        (``precision``, or "auto"'s choice).
    n_iter_ : int
        Number of epochs the network ran (for "fnn", after the FM pre-training;
        with ``refit``, the refitted network's), continued training included.
    calibration_ : tuple of float
        ``(a, b)`` of the Platt scaling; ``(1.0, 0.0)`` when not calibrated.
    early_stopping_history_ : list of dict or None
        When the last fit refitted (see ``refit``), the epochs of its
        early-stopped network (losses, validation scores); None otherwise.
    linear_precision_ : ndarray of shape (n_order1_weights,) or None
        With ``linear_update``, the precision of each order-1 weight, in the
        order of the network's order-1 table; None without.

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
        "linear_start_C": [Interval(Real, 0, None, closed="neither"), None],
        "linear_update": ["boolean"],
        "embedding_l2": [StrOptions({"auto"}), Interval(Real, 0, None, closed="left")],
        "plateau_factor": [StrOptions({"auto"}), Interval(Real, 0, 1, closed="right")],
    }

    def __init__(
        self,
        *,
        model="deepfm",
        embedding_dim=32,
        hidden_layer_sizes=(128, 128, 128),
        dropout=0.5,
        batch_norm="auto",
        pooling="mean",
        embedding_l2="auto",
        learning_rate=1e-3,
        embedding_learning_rate=None,
        embedding_epsilon=1e-8,
        linear_start_C=0.05,
        linear_update=False,
        batch_size="auto",
        max_epochs=50,
        early_stopping="auto",
        refit="auto",
        scoring="roc_auc",
        calibrate=True,
        validation_fraction=0.1,
        n_iter_no_change=3,
        tol=1e-4,
        plateau_factor="auto",
        sparse_embeddings="auto",
        random_state=None,
        warm_start=False,
        verbose=0,
        device="cpu",
        checkpoint_dir=None,
        n_threads=None,
        precision="auto",
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
        self.linear_start_C = linear_start_C
        self.linear_update = linear_update
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.early_stopping = early_stopping
        self.refit = refit
        self.scoring = scoring
        self.calibrate = calibrate
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.plateau_factor = plateau_factor
        self.sparse_embeddings = sparse_embeddings
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose
        self.device = device
        self.checkpoint_dir = checkpoint_dir
        self.n_threads = n_threads
        self.precision = precision

    @fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None, sample_weight=None):
        """Fit the network on field codes ``X`` and binary labels ``y``.

        With ``warm_start=True`` and a fitted model, continue training the
        fitted network instead, under ``partial_fit``'s rules for new data.

        Parameters
        ----------
        X : {array-like, DataFrame} of shape (n_samples, n_fields) or ParquetShards
            One column per field: non-negative integer codes, or continuous
            values (any column holding a non-integer). Or encoded data on disk,
            read a shard at a time, with its labels, weights and validation rows
            (:class:`~sklearn_deepfm.parquet.ParquetShards`).
        y : array-like of shape (n_samples,)
            Two distinct class labels of any type; None with ParquetShards.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weight of each row in the loss; None with ParquetShards.

        Returns
        -------
        self : DeepFMClassifier
            The fitted classifier.
        """
        return self._fit(X, y, sample_weight)

    @fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y=None, classes=None, sample_weight=None):
        """Train the network for one epoch on ``X`` and ``y``, continuing where it stands.

        The first call on an unfitted model initialises the network as ``fit``
        does, sizing each field from the largest code of that chunk (or call
        ``fit`` first). Later calls (and calls after ``fit``) continue training
        the network and its optimizer, without early stopping or calibration:
        ``calibration_`` becomes ``(1.0, 0.0)``.

        New data must have the same columns (the same continuous and
        multi-valued fields) and labels among ``classes_``. Codes beyond
        ``cardinalities_`` grow their fields, as from an encoder refitted on
        newer data (``FieldEncoder(warm_start=True)`` appends codes for new
        values): a field grows to its largest code plus one (with
        ParquetShards, to the cardinalities the shards store, when larger) and
        never shrinks. Its tables (embeddings and order-1 weights) gain rows:
        old rows keep their weights, new rows start as in a new fit (embedding
        rows drawn from the fit's random stream, order-1 weights at zero). The
        optimizer state grows with them: old rows keep their Adam moments, new
        rows start with none. A ``FieldEncoder`` kept fixed maps values it has
        not seen to code 0: to continue training a fitted Pipeline, encode with
        its fitted steps::

            pipe[-1].partial_fit(pipe[:-1].transform(X_new), y_new)

        Parameters
        ----------
        X : {array-like, DataFrame} of shape (n_samples, n_fields) or ParquetShards
            As in ``fit``.
        y : array-like of shape (n_samples,)
            Labels, all among ``classes``; one class is enough after the
            first call. None with ParquetShards.
        classes : array-like of shape (2,), default=None
            The two labels of all calls, inferred from ``y`` when it holds both;
            later calls may omit them, or must repeat ``classes_``.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weight of each row in the loss.

        Returns
        -------
        self : DeepFMClassifier
            The classifier, trained one more epoch.
        """
        return self._fit(X, y, sample_weight, incremental=True, classes=classes)

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

    # -- the target: labels, loss, scores and calibration ---------------

    def _target_map(
        self, labels, *, first, classes=None, partial=False, sample_weight=None, distinct=False
    ):
        """Learn ``classes_`` on a first fit, else check ``classes``; map labels to 0/1.

        Neither weights nor ``distinct`` labels change the classes.
        """
        if first:
            self.classes_ = binary_classes(labels, classes, partial=partial)
        else:
            check_classes(labels, classes, self.classes_)
        return functools.partial(label_targets, classes=self.classes_)

    def _criterion(self):
        return nn.BCEWithLogitsLoss

    def _monitor(self):
        """Watch ``scoring``; ``ValidAUC`` records the validation AUC either way."""
        if self.scoring == "roc_auc":
            return "valid_auc", False, [("valid_auc", ValidAUC())]
        return "valid_loss", True, [("valid_auc", ValidAUC())]

    def _starts_linear(self, train):
        return self.linear_start_C is not None and linear_start_on(train)

    def _linear_model(self):
        return LogisticRegression(C=self.linear_start_C, max_iter=1000)

    def _auto_batch_max_for(self, train, rows):
        """Return 4096 on large data (``large_data``), else 1024."""
        return AUTO_BATCH_MAX_LARGE if large_data(train, rows) else self._auto_batch_max

    def _validation_score(self, net, valid):
        """``scoring`` on ``valid``: the AUC (unweighted, as ``ValidAUC``), or the log loss."""
        logits, y, weight = net.predict_logits(valid, _PREDICT_BATCH_SIZE, with_targets=True)
        if self.scoring == "roc_auc":
            return roc_auc_score(y, logits)
        return np.average(np.logaddexp(0, logits) - y * logits, weights=weight)

    def _after_training(self, valid, stopped=None, train=None):
        """Platt-scale the logits on the validation split (see ``calibrate``).

        Fitted to the early-stopped network, on rows it has not seen; after a
        refit, carried over to the refitted ``net_``.
        """
        self.calibration_ = (1.0, 0.0)
        if self.calibrate and valid is not None:
            self.calibration_ = platt_scaling(self.net_ if stopped is None else stopped, valid)
        if stopped is not None and self.calibration_ != (1.0, 0.0):
            self.calibration_ = carried_platt(self.calibration_, stopped, self.net_, train)

    def _check_fitted_state(self):
        super()._check_fitted_state()
        if len(self.classes_) != 2 or len(self.calibration_) != 2:
            raise ValueError(
                "the classifier's fitted attributes are inconsistent: expected 2 classes "
                "and a calibration (scale, shift)."
            )
