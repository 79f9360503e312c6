"""``DeepFMRegressor``: DeepFM as a scikit-learn regressor, trained through skorch."""

import functools

import numpy as np
from sklearn.base import RegressorMixin
from torch import nn

from .._sklearn import StrOptions, fit_context
from ._base import BaseDeepFM
from ._defaults import AUTO_BATCH_MAX_REGRESSION
from ._targets import numeric_targets, standardisation, standardised

# Per-row losses on the standardised target; HuberLoss's delta is 1.0, one standard
# deviation of y.
_LOSSES = {"squared_error": nn.MSELoss, "huber": nn.HuberLoss}


class DeepFMRegressor(RegressorMixin, BaseDeepFM):
    """DeepFM regressor: the click-through-rate network with an identity output.

    The network of ``DeepFMClassifier`` (an FM part and a deep part sharing one
    embedding table, their outputs summed), trained with the squared error (or
    the Huber loss) to predict a number such as a rating or a revenue. Each
    input column is a field: non-negative integer codes (from ``FieldEncoder``
    or any ordinal encoder) or continuous values (any column holding a
    non-integer), decided in ``fit``.

    The target is standardised inside ``fit``: the network learns
    ``(y - y_mean_) / y_scale_``, with the mean and standard deviation of the
    first fit (weighted by ``sample_weight``), and ``predict`` maps its output
    back to the units of ``y``. So ratings on 1-5 and revenues in the
    thousands train alike with the default learning rate, and the network's
    bias starts at the mean instead of far from it.

    Parameters
    ----------
    model : {"deepfm", "fm", "lr", "dnn", "wide_deep", "fnn", "ipnn", "opnn"}, default="deepfm"
        DeepFM or one of its baselines, as in ``DeepFMClassifier`` ("lr" is
        then a linear regression on the fields' order-1 weights).
    embedding_dim : int, default=32
        Size ``k`` of every feature's embedding.
    hidden_layer_sizes : tuple of int, default=(128, 128, 128)
        Widths of the deep part's hidden layers.
    dropout : float, default=0.5
        Dropout rate after each hidden layer.
    batch_norm : bool, default=True
        Batch normalisation after each hidden linear layer.
    pooling : {"mean", "sum"}, default="mean"
        How a multi-valued field combines the embeddings of its values into the
        field's one embedding: their mean (a list and the same list repeated
        predict alike) or their sum. Such a field is a run of DataFrame columns
        ``name[0]``, ``name[1]``, ..., as :class:`FieldEncoder` writes a column
        named in its ``multi_valued``; code 0 pads and is left out, so an empty
        list contributes a zero vector.
    embedding_l2 : float, default=0.0
        L2 penalty on the embedding and order-1 tables, added to each batch's
        loss (see ``DeepFMClassifier``).
    learning_rate : float, default=1e-3
        Adam's step size.
    embedding_learning_rate : float or None, default=None
        Adam's step size for the embedding and order-1 tables; None takes
        ``learning_rate``.
    embedding_epsilon : float, default=1e-8
        Adam's epsilon for the embedding and order-1 tables: rows whose
        gradients are small beside it (rare codes) move in proportion to
        them rather than by about the step size, which damps the memorising
        of rare codes (see :class:`DeepFMClassifier`).
    batch_size : int or "auto", default="auto"
        Rows per training step; capped at the number of training rows.
        "auto" takes ``n // 32`` for ``n`` training rows (after the validation
        split), at least 16 and at most 256: the classifier's rule, about 32
        steps an epoch on small data, where a fixed batch would make a few
        hundred rows one step an epoch. Its ceiling is 256 rather than the
        classifier's 1024, whose larger batches did worse on rating
        regression (see :ref:`defaults` in the user guide). The size used is
        ``batch_size_``.
    max_epochs : int, default=50
        Maximum number of passes over the training data.
    early_stopping : "auto" or bool, default="auto"
        Hold out ``validation_fraction`` of the rows (a random split), stop
        when the validation loss (the weighted ``loss`` on the standardised
        target) has not decreased by ``tol`` for ``n_iter_no_change`` epochs,
        and restore the best epoch's weights. "auto" enables it from 2,000
        rows on.
    refit : "auto" or bool, default="auto"
        After early stopping, train a new network from the same initial
        weights on all the rows, the validation split included, for the
        number of epochs early stopping kept; the early-stopped fit's epochs
        stay in ``early_stopping_history_``. "auto" refits below 100,000
        rows. Without early stopping nothing is held out, so nothing is
        refitted.
        With ``model="fnn"`` the FM pre-training runs again too, on all the
        rows for the epochs it kept.
    loss : {"squared_error", "huber"}, default="squared_error"
        The loss on the standardised target. "huber" is quadratic for
        residuals up to 1.0 in standardised units (one standard deviation of
        ``y``, ``y_scale_``) and linear beyond, so that outliers weigh less.
    validation_fraction : float, default=0.1
        Fraction of the rows held out when early stopping is on.
    n_iter_no_change : int, default=3
        Patience of early stopping, in epochs.
    tol : float, default=1e-4
        Smallest decrease of the validation loss that counts as improvement,
        in standardised units (a fraction of ``y``'s variance for the squared
        error).
    plateau_factor : float, default=1.0
        With early stopping, multiply every learning rate by this after each
        epoch that does not improve the validation loss (see
        ``DeepFMClassifier``); a refit repeats the same rates. 1 keeps them
        constant.
    sparse_embeddings : bool or "auto", default="auto"
        Update only the embedding rows present in each batch, with the moves
        of dense Adam (see ``DeepFMClassifier``). False uses dense Adam. "auto"
        is True, but for tables of at most 100,000 rows under an
        ``embedding_l2`` penalty.
    random_state : int, RandomState instance or None, default=None
        Seeds the weight initialisation, dropout, shuffling and the
        validation split, also of continued training.
    warm_start : bool, default=False
        When True, ``fit`` on a fitted model trains its network for
        ``max_epochs`` more epochs on the data given, keeping the columns and
        the target's ``y_mean_`` and ``y_scale_`` of the first fit. Codes
        beyond ``cardinalities_`` grow their fields' tables (see
        ``partial_fit``): old rows keep their weights, new rows start as in a
        new fit, and the optimizer state grows with the tables.
    verbose : int, default=0
        1 prints one line per epoch (train and validation loss, duration).
    device : str or torch.device, default="cpu"
        Torch device to train and predict on, e.g. "cuda".
    checkpoint_dir : str or path-like, default=None
        Where ``fit`` saves its state after every epoch, atomically; ``fit`` with
        the same parameters and data resumes from it after a crash; needs an int
        ``random_state`` (see ``DeepFMClassifier``).
    n_threads : int, default=None
        Torch threads for fit and predict; None leaves torch's setting, except
        inside a Dask worker, where it takes the worker's thread count.
    precision : {"auto", "float32", "bfloat16"}, default="auto"
        Precision of the deep part's matrix products in training. "auto" takes
        "bfloat16" (mixed: weights and predictions stay float32) on a CPU with
        native bfloat16 arithmetic, else "float32"; the choice is ``precision_``
        (see ``DeepFMClassifier``).

    Attributes
    ----------
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
    y_mean_ : float
        Weighted mean of the ``y`` of the first fit.
    y_scale_ : float
        Weighted standard deviation of the ``y`` of the first fit (1.0 when
        ``y`` was constant).
    net_ : skorch.NeuralNet
        The fitted skorch net; ``net_.module_`` is the network, whose output
        is the standardised prediction, and ``net_.history`` the per-epoch
        record.
    batch_norm_ : bool
        ``batch_norm``, as the network was built at the first fit.
    embedding_l2_, plateau_factor_ : float
        ``embedding_l2`` and ``plateau_factor`` as fitted.
    sparse_embeddings_ : bool
        ``sparse_embeddings``, or the "auto" rule's choice at the first fit.
    batch_size_ : int
        Rows per training step of the last fit or ``partial_fit`` call.
    precision_ : str
        The precision of the last fit or ``partial_fit`` call's training
        (``precision``, or "auto"'s choice).
    n_iter_ : int
        Number of epochs the network ran (with ``refit``, the refitted
        network's), those of continued training included.
    early_stopping_history_ : list of dict or None
        When the last fit refitted (see ``refit``), the epochs of its
        early-stopped network; None otherwise.

    See Also
    --------
    DeepFMClassifier : The same network for clicks (binary labels).

    Notes
    -----
    ``X`` must hold numbers, as for ``DeepFMClassifier``: encode raw columns
    with ``FieldEncoder``, for example in a Pipeline. ``y`` must be numeric
    and finite; a column vector of shape (n_samples, 1) is accepted with a
    ``DataConversionWarning`` and raveled, as scikit-learn's single-output
    regressors do.

    Examples
    --------
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn_deepfm import DeepFMRegressor, FieldEncoder, make_ctr_classification
    >>> X, _ = make_ctr_classification(n_samples=500, as_frame=True, random_state=0)
    >>> rating = 1.0 + (X["C1"] == "C1_3") + 2.0 * (X["C2"] == "C2_1")
    >>> model = make_pipeline(FieldEncoder(), DeepFMRegressor(max_epochs=2, random_state=0))
    >>> model.fit(X, rating).predict(X.head(3)).shape
    (3,)
    """

    _parameter_constraints = {
        **BaseDeepFM._parameter_constraints,
        "loss": [StrOptions(set(_LOSSES))],
    }
    _auto_batch_max = AUTO_BATCH_MAX_REGRESSION

    def __init__(
        self,
        *,
        model="deepfm",
        embedding_dim=32,
        hidden_layer_sizes=(128, 128, 128),
        dropout=0.5,
        batch_norm=True,
        pooling="mean",
        embedding_l2=0.0,
        learning_rate=1e-3,
        embedding_learning_rate=None,
        embedding_epsilon=1e-8,
        batch_size="auto",
        max_epochs=50,
        early_stopping="auto",
        refit="auto",
        loss="squared_error",
        validation_fraction=0.1,
        n_iter_no_change=3,
        tol=1e-4,
        plateau_factor=1.0,
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
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.early_stopping = early_stopping
        self.refit = refit
        self.loss = loss
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
    def fit(self, X, y, sample_weight=None):
        """Fit the network on field codes ``X`` and numeric targets ``y``.

        With ``warm_start=True`` and a fitted model, continue training the
        fitted network instead, under the rules of ``partial_fit`` for new
        data.

        Parameters
        ----------
        X : {array-like, DataFrame} of shape (n_samples, n_fields)
            One column per field: non-negative integer codes, or continuous
            values (any column holding a non-integer).
        y : array-like of shape (n_samples,)
            Finite numbers.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weight of each row in the loss and in ``y_mean_``
            and ``y_scale_``.

        Returns
        -------
        self : DeepFMRegressor
            The fitted regressor.
        """
        return self._fit(X, y, sample_weight)

    @fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None):
        """Train the network for one epoch on ``X`` and ``y``, continuing where it stands.

        The first call on an unfitted model initialises the network as ``fit``
        does: that chunk sizes each field from its largest code and sets
        ``y_mean_`` and ``y_scale_``, which later calls keep. Later calls (and
        calls after ``fit``) continue training the network and its optimizer,
        without early stopping. New data must have the same columns (the same
        continuous and multi-valued fields). Codes beyond ``cardinalities_``
        grow their fields, as from an encoder refitted on newer data: a field
        grows to its largest code plus one (with ParquetShards, to the
        cardinalities the shards store, when larger) and never shrinks. Its
        tables gain rows: old rows keep their weights, new rows start as in a
        new fit (embedding rows drawn from the fit's random stream, order-1
        weights at zero), and the optimizer state grows with them (old rows
        keep their Adam moments, new rows start with none). To continue
        training a fitted Pipeline, encode with its fitted steps::

            pipe[-1].partial_fit(pipe[:-1].transform(X_new), y_new)

        Parameters
        ----------
        X : {array-like, DataFrame} of shape (n_samples, n_fields)
            As in ``fit``.
        y : array-like of shape (n_samples,)
            Finite numbers.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weight of each row in the loss.

        Returns
        -------
        self : DeepFMRegressor
            The regressor, trained one more epoch.
        """
        return self._fit(X, y, sample_weight, incremental=True)

    def predict(self, X):
        """Return the predicted target of each row, in the units of ``y``.

        Parameters
        ----------
        X : {array-like, DataFrame} of shape (n_samples, n_fields)

        Returns
        -------
        ndarray of float64 of shape (n_samples,)
        """
        return self._raw_logits(X) * self.y_scale_ + self.y_mean_

    # -- the target: standardisation and loss ---------------------------

    def _target_map(
        self, labels, *, first, classes=None, partial=False, sample_weight=None, distinct=False
    ):
        """Learn ``y_mean_`` and ``y_scale_`` on a first fit; map ``y`` to standardised floats."""
        y = numeric_targets(labels)
        if distinct:  # the mean and scale need every label and its weight
            raise NotImplementedError(
                f"{type(self).__name__} does not train from ParquetShards; DeepFMClassifier does."
            )
        if first:
            self.y_mean_, self.y_scale_ = standardisation(y, sample_weight)
        return functools.partial(standardised, mean=self.y_mean_, scale=self.y_scale_)

    def _criterion(self):
        return _LOSSES[self.loss]

    def _monitor(self):
        """Watch the validation loss, which skorch records."""
        return "valid_loss", True, []

    def _after_training(self, valid, stopped=None, train=None):
        """Nothing to fit: ``predict`` maps the output back with ``y_mean_`` and ``y_scale_``."""

    def _check_fitted_state(self):
        super()._check_fitted_state()
        values = (self.y_mean_, self.y_scale_)
        if not (all(isinstance(v, float) and np.isfinite(v) for v in values) and values[1] > 0):
            raise ValueError(
                "the regressor's fitted attributes are inconsistent: expected a finite "
                "y_mean_ and a positive, finite y_scale_."
            )
