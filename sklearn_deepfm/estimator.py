"""``DeepFMClassifier``: DeepFM as a scikit-learn classifier, trained through skorch."""

from numbers import Integral, Real

import numpy as np
import torch
from scipy.special import expit
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data
from skorch.callbacks import EarlyStopping
from skorch.helper import predefined_split
from torch import nn

from ._calibration import fit_platt
from ._training import BatchIterator, CTRNet, FieldDataset, ValidAUC
from ._validation import (
    check_codes,
    check_finite,
    check_non_negative,
    check_table_size,
    column_label,
    first_non_number,
    raise_nan_logit,
)
from .network import MODEL_PARTS, PNN, DeepFM

# Rows per forward pass at prediction time: large enough to amortise the call
# overhead, small enough to bound the activations' memory.
_PREDICT_BATCH_SIZE = 65_536
# Integer and float input keep their dtype; anything else (lists, object arrays)
# becomes float64, which never truncates a continuous value.
_DTYPES = [np.float64, np.float32, np.int64, np.int32]
# With early_stopping="auto", hold out a validation split from this many rows on.
_AUTO_EARLY_STOPPING_MIN_SAMPLES = 2_000
# The comparison family of the DeepFM paper: model name -> (module, its arguments).
# "fnn" is the "dnn" network started from the embeddings of a fitted "fm" (see fit).
_MODELS = {
    **{name: (DeepFM, parts) for name, parts in MODEL_PARTS.items()},
    "fnn": (DeepFM, MODEL_PARTS["dnn"]),
    "ipnn": (PNN, {"product": "inner"}),
    "opnn": (PNN, {"product": "outer"}),
}


class DeepFMClassifier(ClassifierMixin, BaseEstimator):
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
    batch_norm : bool, default=True
        Batch normalisation after each hidden linear layer.
    embedding_l2 : float, default=0.0
        L2 penalty on the embedding rows each batch uses, added to its loss.
    learning_rate : float, default=1e-3
        Adam's step size.
    batch_size : int, default=1024
        Rows per training step; capped at the number of training rows.
    max_epochs : int, default=50
        Maximum number of passes over the training data.
    early_stopping : "auto" or bool, default="auto"
        Hold out ``validation_fraction`` of the rows (stratified), stop when
        the validation ``scoring`` has not improved by ``tol`` for
        ``n_iter_no_change`` epochs, and restore the best epoch's weights.
        "auto" enables it from 2,000 rows on.
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
        Smallest decrease of the validation loss that counts as improvement.
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
        duration); 0 is silent.
    device : str, default="cpu"
        Torch device to train and predict on, e.g. "cuda".

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
        Number of codes of each field (1 for a continuous field).
    value_fields_ : ndarray of bool of shape (n_features_in_,)
        True for the fields taken as continuous values.
    net_ : skorch.NeuralNet
        The fitted skorch net; ``net_.module_`` is the ``DeepFM`` module (a
        ``PNN`` for "ipnn" and "opnn") and ``net_.history`` the per-epoch record.
    n_iter_ : int
        Number of epochs run (for "fnn", after the FM pre-training), those of
        continued training (``warm_start``, ``partial_fit``) included.
    calibration_ : tuple of float
        ``(a, b)`` of the Platt scaling; ``(1.0, 0.0)`` when not calibrated.

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
        "model": [StrOptions(set(_MODELS))],
        "embedding_dim": [Interval(Integral, 1, None, closed="left")],
        "hidden_layer_sizes": ["array-like"],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "batch_norm": ["boolean"],
        "embedding_l2": [Interval(Real, 0, None, closed="left")],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "max_epochs": [Interval(Integral, 1, None, closed="left")],
        "early_stopping": [StrOptions({"auto"}), "boolean"],
        "scoring": [StrOptions({"roc_auc", "loss"})],
        "calibrate": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "sparse_embeddings": ["boolean"],
        "random_state": ["random_state"],
        "warm_start": ["boolean"],
        "verbose": ["verbose"],
        "device": [str, torch.device],
    }

    def __init__(
        self,
        *,
        model="deepfm",
        embedding_dim=32,
        hidden_layer_sizes=(128, 128, 128),
        dropout=0.5,
        batch_norm=True,
        embedding_l2=0.0,
        learning_rate=1e-3,
        batch_size=1024,
        max_epochs=50,
        early_stopping="auto",
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
    ):
        self.model = model
        self.embedding_dim = embedding_dim
        self.hidden_layer_sizes = hidden_layer_sizes
        self.dropout = dropout
        self.batch_norm = batch_norm
        self.embedding_l2 = embedding_l2
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.early_stopping = early_stopping
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

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the network on field codes ``X`` and binary labels ``y``.

        With ``warm_start=True`` and a fitted model, continue training the
        fitted network instead, under the rules of ``partial_fit`` for new
        data.

        Parameters
        ----------
        X : {array-like, DataFrame} of shape (n_samples, n_fields)
            One column per field: non-negative integer codes, or continuous
            values (any column holding a non-integer).
        y : array-like of shape (n_samples,)
            Two distinct class labels of any type.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weight of each row in the loss.

        Returns
        -------
        self : DeepFMClassifier
            The fitted classifier.
        """
        return self._fit(X, y, sample_weight, first=not (self.warm_start and hasattr(self, "net_")))

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, classes=None, sample_weight=None):
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
        X : {array-like, DataFrame} of shape (n_samples, n_fields)
            As in ``fit``.
        y : array-like of shape (n_samples,)
            Labels, all among ``classes``; one class is enough after the
            first call.
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

    def _fit(self, X, y, sample_weight, *, first, classes=None, epochs=None):
        """Fit anew (``first``) or continue training ``net_``.

        ``epochs=None`` is ``fit``: ``max_epochs`` epochs, with early stopping
        when on. An int is ``partial_fit``: that many epochs on all rows.
        """
        X, y = self._validate_input(X, y, reset=first)
        target = self._encode_labels(y, classes, first=first, partial=epochs is not None)
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X, ensure_non_negative=True)
        if first:
            self._learn_fields(X)
        else:
            check_codes(X, self.value_fields_, self.cardinalities_, self._names())
        if len(X) < 2 and self._has_batch_norm():
            raise ValueError(
                "Batch normalisation cannot train on a single row, and X holds 1 row. "
                "Pass at least 2 rows (larger chunks to partial_fit), or set batch_norm=False."
            )
        codes, values = self._to_tensors(X)
        weights = None if sample_weight is None else torch.as_tensor(sample_weight).float()
        dataset = FieldDataset(codes, values, torch.as_tensor(target).float(), weights)

        if first:
            self._seed = check_random_state(self.random_state).randint(np.iinfo(np.int32).max)
        seed = self._seed
        train, valid = (dataset, None) if epochs else self._split(dataset, target, seed)
        if first:
            pretrained = None
            if self.model == "fnn":
                pretrained = self._pretrain_fm(train, valid, seed, epochs)
            self.net_ = self._build_net(train, valid, seed)
        else:
            self._point_net_at(train, valid)
        # fork_rng keeps the user's global torch random state untouched; the state
        # kept after training makes continued training reproducible.
        with torch.random.fork_rng(devices=[]):
            if first:
                torch.manual_seed(seed)
                self.net_.initialize()  # as net_.fit would, but FNN's table goes in first
                if pretrained is not None:
                    with torch.no_grad():
                        self.net_.module_.embedding.embedding.weight.copy_(pretrained)
            else:
                torch.set_rng_state(self._torch_rng_state)
            self.net_.partial_fit(train, y=None, epochs=epochs or self.max_epochs)
            self._torch_rng_state = torch.get_rng_state()
        self.net_.module_.eval()
        self.n_iter_ = len(self.net_.history)
        self.calibration_ = (1.0, 0.0)
        if self.calibrate and valid is not None:
            logits = self._logits(valid.codes, valid.values)
            weight = None if valid.sample_weight is None else valid.sample_weight.numpy()
            self.calibration_ = fit_platt(logits, valid.y.numpy(), weight)
        return self

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
        check_is_fitted(self)
        X = self._validate_input(X, reset=False)
        check_codes(X, self.value_fields_, self.cardinalities_, self._names())
        logits = self._logits(*self._to_tensors(X))
        if np.isnan(logits).any():
            row = int(np.flatnonzero(np.isnan(logits))[0])
            raise_nan_logit(X, row, self.value_fields_, self._names())
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

    # -- fitting helpers -------------------------------------------------

    def _encode_labels(self, y, classes=None, *, first=True, partial=False):
        """Return ``y`` as 0/1 targets, setting ``classes_`` on a first fit."""
        check_classification_targets(y)
        if not first:
            if classes is not None and not np.array_equal(np.unique(classes), self.classes_):
                raise ValueError(
                    f"classes={np.unique(classes).tolist()} differs from classes_="
                    f"{self.classes_.tolist()} of the first fit; continued training keeps the "
                    "classes of the first call. Omit classes or pass the same ones."
                )
            return self._targets(y)
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
        return target if classes is None else self._targets(y)

    def _targets(self, y):
        """0/1 target of each label of ``y``, which must all be in ``classes_``."""
        unknown = ~np.isin(y, self.classes_)
        if unknown.any():
            raise ValueError(
                f"y holds the label {y[unknown].tolist()[0]!r}, which is not among classes_="
                f"{self.classes_.tolist()}, the classes of the first fit or partial_fit call "
                "(its y or its classes argument), which continued training keeps."
            )
        return np.searchsorted(self.classes_, y)

    def _has_batch_norm(self):
        """Tell whether the network has batch normalisation, which cannot train on one row."""
        parts = _MODELS[self.model][1]
        return self.batch_norm and len(self.hidden_layer_sizes) > 0 and parts.get("dnn", True)

    def _learn_fields(self, X):
        """Decide which columns are codes and which continuous values; size the fields."""
        if X.dtype.kind in "iu":  # integer columns are all codes; no rounding copy
            self.value_fields_ = np.zeros(X.shape[1], dtype=bool)
        else:
            self.value_fields_ = np.any(X != np.round(X), axis=0)
        codes = X[:, ~self.value_fields_] if self.value_fields_.any() else X
        check_non_negative(X, codes, self.value_fields_, self._names())
        self.cardinalities_ = np.ones(X.shape[1], dtype=np.int64)
        if codes.size:
            largest = codes.max(axis=0)
            check_table_size(
                largest, self.value_fields_, self.embedding_dim, self.device, self._names()
            )
            self.cardinalities_[~self.value_fields_] = largest.astype(np.int64) + 1

    def _split(self, dataset, target, seed):
        """Hold out a stratified validation split when early stopping is on."""
        n = len(dataset)
        early = self.early_stopping
        if early == "auto":
            early = n >= _AUTO_EARLY_STOPPING_MIN_SAMPLES
        if not early:
            return dataset, None
        try:
            train, valid = train_test_split(
                np.arange(n), test_size=self.validation_fraction, stratify=target, random_state=seed
            )
        except ValueError as error:
            raise ValueError(
                "Early stopping holds out a stratified validation split of "
                f"validation_fraction={self.validation_fraction} of the {n} rows, which needs "
                f"rows of both classes on each side: {error} Pass more rows or set "
                "early_stopping=False."
            ) from error
        return _subset(dataset, train), _subset(dataset, valid)

    def _pretrain_fm(self, train, valid, seed, epochs=None):
        """Fit FNN's first stage, the "fm" model on the same split; return its embedding table."""
        fm = self._build_net(train, valid, seed, model="fm")
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            fm.fit(train, y=None, epochs=epochs)
        return fm.module_.embedding.embedding.weight.detach()

    def _point_net_at(self, train, valid):
        """Prepare the fitted ``net_`` to continue training on new data."""
        self.net_.batch_size = min(self.batch_size, len(train))
        self.net_.train_split = None if valid is None else predefined_split(valid)
        self.net_.callbacks = self._callbacks(valid)
        self.net_.initialize_callbacks()

    def _callbacks(self, valid):
        """Return the validation AUC and early stopping callbacks, if there is a split."""
        if valid is None:
            return []
        return [
            ("valid_auc", ValidAUC()),
            (
                "early_stopping",
                EarlyStopping(
                    monitor="valid_auc" if self.scoring == "roc_auc" else "valid_loss",
                    lower_is_better=self.scoring == "loss",
                    patience=self.n_iter_no_change,
                    threshold=self.tol,
                    threshold_mode="abs",
                    load_best=True,
                    sink=print if self.verbose else _silent,
                ),
            ),
        ]

    def _build_net(self, train, valid, seed, model=None):
        """Build the skorch net of ``model`` (default: ``self.model``)."""
        module, module_params = _MODELS[model or self.model]
        callbacks = self._callbacks(valid)
        return CTRNet(
            module=module,
            module__cardinalities=self.cardinalities_.tolist(),
            module__embedding_dim=self.embedding_dim,
            module__hidden_layer_sizes=tuple(self.hidden_layer_sizes),
            module__dropout=self.dropout,
            module__batch_norm=self.batch_norm,
            module__sparse=self.sparse_embeddings,
            **{f"module__{name}": value for name, value in module_params.items()},
            criterion=nn.BCEWithLogitsLoss,
            criterion__reduction="none",
            optimizer=torch.optim.Adam,
            lr=self.learning_rate,
            max_epochs=self.max_epochs,
            batch_size=min(self.batch_size, len(train)),
            iterator_train=BatchIterator,
            iterator_train__shuffle=True,
            iterator_train__generator=torch.Generator().manual_seed(seed),
            iterator_valid=BatchIterator,
            iterator_valid__batch_size=_PREDICT_BATCH_SIZE,
            train_split=None if valid is None else predefined_split(valid),
            callbacks=callbacks,
            sparse_embeddings=self.sparse_embeddings,
            embedding_l2=self.embedding_l2,
            verbose=self.verbose,
            device=self.device,
        )

    # -- shared by fit and predict ---------------------------------------

    def _validate_input(self, X, y="no_validation", *, reset):
        """``validate_data``, with errors that name the column of a non-number, NaN or inf."""
        try:
            out = validate_data(self, X, y, reset=reset, dtype=_DTYPES, ensure_all_finite=False)
        except (TypeError, ValueError) as error:
            cell = first_non_number(X)
            if cell is None:
                raise
            column, row, value = cell
            raise type(error)(  # TypeError for cells of a non-number type, as numpy says
                "DeepFMClassifier needs numbers (field codes or values), but column "
                f"{column_label(column, self._names())} holds {value!r} at row {row} "
                f"({error}). Encode raw columns with FieldEncoder first, for example in a "
                "Pipeline."
            ) from error
        check_finite(out[0] if isinstance(out, tuple) else out, self._names())
        return out

    def _to_tensors(self, X):
        """Split ``X`` into integer codes and, if any field is continuous, float32 values.

        Integer ``X`` with no continuous field is used as is, without a copy
        (int32 and int64 both index an embedding); otherwise the codes are int32
        when every field fits, int64 if not.
        """
        if X.dtype in (np.int32, np.int64) and not self.value_fields_.any():
            # torch refuses to share read-only memory (a memmap, say): copy only then.
            X = np.ascontiguousarray(X) if X.flags.writeable else np.array(X)
            return torch.from_numpy(X), None
        fits = self.cardinalities_.max() <= np.iinfo(np.int32).max
        codes = np.zeros(X.shape, dtype=np.int32 if fits else np.int64)
        codes[:, ~self.value_fields_] = X[:, ~self.value_fields_]
        values = None
        if self.value_fields_.any():
            values = np.ones(X.shape, dtype=np.float32)
            values[:, self.value_fields_] = X[:, self.value_fields_]
            values = torch.from_numpy(values)
        return torch.from_numpy(codes), values

    def _logits(self, codes, values):
        """Forward pass in large batches, without autograd."""
        module = self.net_.module_
        device = self.net_.device
        logits = np.empty(len(codes), dtype=np.float64)
        with torch.inference_mode():
            for start in range(0, len(codes), _PREDICT_BATCH_SIZE):
                batch = slice(start, start + _PREDICT_BATCH_SIZE)
                batch_values = None if values is None else values[batch].to(device)
                logits[batch] = module(codes[batch].to(device), batch_values).cpu().numpy()
        return logits

    def _names(self):
        """``feature_names_in_`` where fitted on a DataFrame, to name columns in errors."""
        return getattr(self, "feature_names_in_", None)


def _subset(dataset, index):
    index = torch.as_tensor(index)
    return FieldDataset(
        *(None if t is None else t[index] for t in (dataset.codes, dataset.values, dataset.y)),
        None if dataset.sample_weight is None else dataset.sample_weight[index],
    )


def _silent(*args, **kwargs):
    """Sink for skorch messages when ``verbose=0``."""
