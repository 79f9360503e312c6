"""``BaseDeepFM``: all of a DeepFM estimator but its target, as ``BaseMultilayerPerceptron``.

A subclass supplies the target through four abstract methods. ``_fit`` does the
rest, top to bottom: the input becomes ``FieldData`` (``data``), a validation split
is held out, the net is resumed (``_checkpoint``), started (``_net``, its order-1
part from a linear model: ``_linear_start``) or continued, trained with the
callbacks of ``_callbacks``, and refitted on all rows. What one fit
knows while it runs is a ``_FitRun``; what it learns stays as fitted attributes.
"""

import contextlib
import copy
import os
from abc import ABCMeta, abstractmethod
from dataclasses import dataclass
from functools import partial
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator, is_classifier
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted
from skorch.helper import predefined_split

from .. import _json
from .._sklearn import Interval, StrOptions, check_sample_weight
from ..data import FieldData, FieldDataset, as_tensors
from ..nn import MODELS, CatchUpAdam, has_batch_norm, reuse_freed_memory, train_in
from . import _distributed
from ._callbacks import early_stopping, fit_callbacks, kept_epochs
from ._checkpoint import FitCheckpoint
from ._defaults import (
    AUTO_BATCH_MAX,
    batch_norm_for,
    batch_size_for,
    early_stopping_on,
    precision_for,
    refit_on,
    regularisation_for,
)
from ._fitted_state import FittedStateMixin, epochs_of
from ._growth import GrowingFieldsMixin, stored_cardinalities
from ._linear_start import fit_linear
from ._net import _PREDICT_BATCH_SIZE, build_net, module_fields
from ._validation import (
    check_codes,
    check_hidden_layer_sizes,
    group_fields,
    learn_fields,
    names_of,
    raise_nan_logit,
    validate_input,
)


@dataclass
class _FitRun:
    """What one call of ``fit`` or ``partial_fit`` knows while it runs: never a fitted attribute."""

    first: bool  # a new network, not warm_start's or a later partial_fit's
    epochs: int | None  # partial_fit's epochs; None for fit (max_epochs, early stopping)
    part: tuple = (0, 1)  # (rank, world size) of a data-parallel fit
    checkpoint: FitCheckpoint | None = None  # a first fit's, with checkpoint_dir
    fm_epochs: int | None = None  # the epochs FNN's pre-training kept, which its refit repeats


class BaseDeepFM(FittedStateMixin, GrowingFieldsMixin, BaseEstimator, metaclass=ABCMeta):
    """Fields, data, network, training, early stopping, refit, warm start and fitted state.

    A subclass defines the target with the abstract methods ``_target_map``,
    ``_criterion``, ``_monitor`` and ``_after_training``, and extends
    ``_check_fitted_state`` with its own fitted attributes.
    """

    # The optimizer of sparse embedding tables: a subclass may swap it (for torch's
    # SparseAdam with a no-op flush, say) to compare optimizers.
    _sparse_optimizer = CatchUpAdam
    # The largest batch of batch_size="auto" (see _defaults.auto_batch_size).
    _auto_batch_max = AUTO_BATCH_MAX

    _parameter_constraints = {
        "model": [StrOptions(set(MODELS))],
        "embedding_dim": [Interval(Integral, 1, None, closed="left")],
        "hidden_layer_sizes": ["array-like"],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "batch_norm": ["boolean"],
        "pooling": [StrOptions({"mean", "sum"})],
        "embedding_l2": [Interval(Real, 0, None, closed="left")],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "embedding_learning_rate": [Interval(Real, 0, None, closed="neither"), None],
        "embedding_epsilon": [Interval(Real, 0, None, closed="neither")],
        "batch_size": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "max_epochs": [Interval(Integral, 1, None, closed="left")],
        "early_stopping": [StrOptions({"auto"}), "boolean"],
        "refit": [StrOptions({"auto"}), "boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "plateau_factor": [Interval(Real, 0, 1, closed="right")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "sparse_embeddings": [StrOptions({"auto"}), "boolean"],
        "random_state": ["random_state"],
        "warm_start": ["boolean"],
        "verbose": ["verbose"],
        "device": [str, torch.device],
        "checkpoint_dir": [str, os.PathLike, None],
        "n_threads": [Interval(Integral, 1, None, closed="left"), None],
        "precision": [StrOptions({"auto", "float32", "bfloat16"})],
    }

    # -- what a subclass supplies: the target ----------------------------

    @abstractmethod
    def _target_map(
        self, labels, *, first, classes=None, partial=False, sample_weight=None, distinct=False
    ):
        """Learn the target from ``labels``, or check them; return their map to the loss's targets.

        A first fit learns what the target needs (the classifier's ``classes_``, the
        regressor's ``y_mean_`` and ``y_scale_``); a later one checks ``labels``. The
        map takes an ndarray of labels to the loss's targets, one float each.

        ``labels`` is the validated ``y``, weighted by ``sample_weight``; with
        ``distinct``, the distinct labels of data that stores its labels
        (``ParquetShards``). ``classes`` is ``partial_fit``'s, and ``partial`` tells
        whether ``partial_fit`` is the caller.
        """

    @abstractmethod
    def _criterion(self):
        """Return the loss's class: a ``torch.nn`` loss, built with ``reduction="none"``."""

    @abstractmethod
    def _monitor(self):
        """Return what early stopping watches: ``(history key, lower_is_better, callbacks)``.

        The callbacks, ``(name, callback)`` pairs, record the key in the net's
        history (skorch records ``valid_loss`` itself).
        """

    def _starts_linear(self, train):
        """Tell whether a first fit on ``train`` starts its order-1 part from a linear model.

        When it does, ``_linear_model`` gives the model and ``_validation_score`` scores
        the start.
        """
        return False

    def _linear_model(self):
        """Return the unfitted scikit-learn linear model that the order-1 part starts from."""
        raise NotImplementedError

    def _auto_batch_max_for(self, train, rows):
        """Return the largest batch of ``batch_size="auto"`` for ``train``, tables of ``rows``."""
        return self._auto_batch_max

    def _validation_score(self, net, valid):
        """Return the score early stopping watches (``_monitor``'s key) of ``net`` on ``valid``."""
        raise NotImplementedError

    def _linear_update(self, net, train, run):
        """Return the context the epochs of this fit run in (the classifier's ``linear_update``)."""
        return contextlib.nullcontext()

    def _start_linear_update(self, trained, run):
        """After a first fit, ``trained`` the rows its kept network learned from: a hook."""

    @abstractmethod
    def _after_training(self, valid, stopped=None, train=None):
        """Fit what the output needs once the network is trained (the classifier's calibration).

        ``valid`` is the validation split, None without one. After a refit,
        ``stopped`` is the early-stopped net that the refitted ``net_`` replaced, and
        ``train`` the rows both trained on.
        """

    # -- fitting ---------------------------------------------------------

    def _fit(self, X, y, sample_weight, *, incremental=False, classes=None):
        """Fit anew or continue training ``net_``: ``fit``, or ``partial_fit`` (``incremental``).

        A first call, or ``fit`` without ``warm_start``, starts a new network.
        ``fit`` trains for ``max_epochs`` epochs, with early stopping when on;
        ``partial_fit`` for one epoch on all rows.
        """
        first = not (hasattr(self, "net_") and (incremental or self.warm_start))
        epochs = 1 if incremental else None
        with _distributed.torch_threads(self.n_threads):
            reuse_freed_memory()  # the steps' temporaries: see nn._memory
            run = _FitRun(first, epochs)
            data = self._training_data(X, y, sample_weight, classes, run)
            train, valid, whole = self._hold_out(data, run)
            run.part = _distributed.world(self.device)
            rows = _table_rows(self)
            self.batch_size_ = batch_size_for(
                self.batch_size, len(train), self._auto_batch_max_for(train, rows), run.part[1]
            )
            if first:  # the network's shape stays that of its first fit
                self.batch_norm_ = batch_norm_for(self.batch_norm, train)
                self.embedding_l2_, self.plateau_factor_, self.sparse_embeddings_ = (
                    regularisation_for(self, train, rows)
                )
            self.precision_ = precision_for(self.precision, self.device)
            if first and epochs is None and self.checkpoint_dir is not None:
                run.checkpoint = FitCheckpoint.of(self, self._seed, train, valid)
            net, done = self._network(train, valid, run)
            if len(train) < 2 and has_batch_norm(net.module_):
                raise ValueError(
                    "Batch normalisation cannot train on a single row, and X holds 1 sample. "
                    "Pass at least 2 rows (larger chunks to partial_fit), or set "
                    "batch_norm=False."
                )
            self.net_ = net
            with self._linear_update(net, train, run):
                self._train(net, train, epochs or self.max_epochs - done, run)
            stopped = None
            if first and whole is not None and refit_on(self.refit, len(whole)):
                stopped = self._refit(whole, run)
            self._after_training(valid, stopped, train)
            if first:
                self._start_linear_update(train if stopped is None else whole, run)
            self.early_stopping_history_ = None
            if stopped is not None:
                self.early_stopping_history_ = [_json.plain(e) for e in epochs_of(stopped.history)]
            self.n_iter_ = len(self.net_.history)
            if run.checkpoint is not None:
                run.checkpoint.remove()  # the fit has ended: nothing to resume
        return self

    def _training_data(self, X, y, sample_weight, classes, run):
        """Return the fit's data as ``FieldData`` whose batches carry the loss's targets.

        Arrays are validated, and their fields learnt on a first fit, checked and
        grown for new codes after (``_growth``). ``FieldData`` given as ``X``
        (``ParquetShards``) stores its fields, labels and weights: see ``_stored_data``.
        """
        if isinstance(X, FieldData):
            return self._stored_data(X, y, sample_weight, classes, run)
        X, y = validate_input(self, X, y, reset=run.first)
        if sample_weight is not None:
            sample_weight = check_sample_weight(sample_weight, X, ensure_non_negative=True)
        partial_fit = run.epochs is not None
        target_map = self._target_map(
            y, first=run.first, classes=classes, partial=partial_fit, sample_weight=sample_weight
        )
        targets = torch.as_tensor(target_map(y)).float()
        if run.first:
            self.value_fields_, self.cardinalities_ = learn_fields(
                X, self.embedding_dim, self.device, names_of(self)
            )
            self._group_fields()
            self._start_first_fit()
        else:
            self._grow_for_codes(X)
        weights = None if sample_weight is None else torch.as_tensor(sample_weight).float()
        return FieldDataset(*self._as_tensors(X), targets, weights)

    def _stored_data(self, data, y, sample_weight, classes, run):
        """Take the fields and labels that ``data`` stores; return it with its targets mapped."""
        if y is not None or sample_weight is not None:
            raise ValueError(
                "With ParquetShards as X, the labels and weights come from the shards' "
                "columns: pass y=None and sample_weight=None (see write_parquet_shards)."
            )
        fields, grown = data.fields_, None
        if run.first:
            self.n_features_in_ = data.n_fields
            self.feature_names_in_ = np.asarray(fields["names"], dtype=object)
            self.value_fields_ = np.array(fields["value_fields"], dtype=bool)
            self.cardinalities_ = np.array(fields["cardinalities"], dtype=np.int64)
            self._group_fields()
            self._start_first_fit()
        else:  # the shards' new codes grow the fields, once every check has passed
            grown = stored_cardinalities(data, self.cardinalities_)
            data.check_fields(*self._fitted_fields(grown))
        partial_fit = run.epochs is not None
        target_map = self._target_map(
            data.classes_, first=run.first, classes=classes, partial=partial_fit, distinct=True
        )
        if data.validation is not None:
            data.validation.check_fields(*self._fitted_fields(grown))
        if grown is not None:
            self._grow_fields(grown)
        return data.with_targets(target_map)

    def _start_first_fit(self):
        """Check the network's shape and draw the seed of every random stream of the fit."""
        check_hidden_layer_sizes(self.hidden_layer_sizes)
        self._seed = check_random_state(self.random_state).randint(np.iinfo(np.int32).max)

    def _group_fields(self):
        """Set ``field_slices_``, the columns of each field (the slots of a multi-valued one)."""
        self.field_slices_, self.cardinalities_ = group_fields(
            names_of(self), self.value_fields_, self.cardinalities_
        )

    def _hold_out(self, data, run):
        """Return ``(train, valid, whole)``: the validation split, when early stopping is on.

        The validation rows are those that come with the data, else a split of it
        (stratified for a classifier) drawn with the fit's seed; ``whole`` is the
        data a split came from (what a refit trains on), else None. ``partial_fit``
        trains on all rows, without early stopping.
        """
        if run.epochs is not None:
            return data, None, None
        if data.validation is not None:
            return data, data.validation, None
        if not early_stopping_on(self.early_stopping, len(data)):
            return data, None, None
        stratify = is_classifier(self)
        train, valid = data.split(self.validation_fraction, self._seed, stratify=stratify)
        return train, valid, data

    def _network(self, train, valid, run):
        """Return the net this fit trains and its epochs done: resumed, new or continued."""
        resumed = None if run.checkpoint is None else run.checkpoint.restore(self)
        if resumed is not None:
            self._torch_rng_state, run.fm_epochs = resumed.torch_rng, resumed.fm_epochs
            return self._continue_net(valid, run, resumed.early_stopping), resumed.epochs
        if run.first:
            return self._start_net(train, valid, run.epochs, run), 0
        return self._continue_net(valid, run), 0

    def _start_net(self, train, valid, epochs, run, stopped=None):
        """Build and initialise a new net; FNN's first trains its FM for the embeddings.

        ``stopped`` is the early-stopped net that a refit's new net replaces. The FM
        of a refit trains for the epochs the first FM kept (``run.fm_epochs``),
        having no validation split to stop it; each FM's kept epochs go to ``run``.
        """
        refit = stopped is not None
        pretrained = None
        if self.model == "fnn":
            fm = self._build_net(self.batch_size_, valid, self._callbacks(valid), run, model="fm")
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(self._seed)
                with _distributed.data_parallel(fm, run.part[1]):
                    fm.fit(train, y=None, epochs=(run.fm_epochs if refit else None) or epochs)
            run.fm_epochs, pretrained = kept_epochs(fm), fm
        lr_scales = None
        if refit:  # the refit trains its epochs at the learning rates of the stopped fit's
            lr_scales = [epoch.get("lr_scale", 1.0) for epoch in stopped.history[:epochs]]
        callbacks = self._callbacks(valid, None if refit else run, lr_scales=lr_scales)
        net = self._build_net(self.batch_size_, valid, callbacks, run)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self._seed)
            net.initialize()  # as net.fit would, but FNN's table goes in first
            if pretrained is not None:
                net.module_.copy_embeddings_from(pretrained.module_)
            self._torch_rng_state = torch.get_rng_state()
        self._start_linear(net, train, valid, stopped)
        return net

    def _start_linear(self, net, train, valid, stopped):
        """Start ``net``'s order-1 part from ``_linear_model`` fitted on ``train``.

        Only where early stopping judges the start (see ``_linear_start``): a fit with
        a validation split, whose start becomes early stopping's epoch 0, and the
        refit of one that started so (``stopped``, the early-stopped net), its solver
        warm-started from that start.
        """
        if getattr(net.module_, "first_order", None) is None:
            return
        warm = None
        if stopped is not None:  # a refit starts as its first fit did
            start = early_stopping(stopped).initial_
            if start is None:
                return
            warm = start[1]
        elif valid is None or not self._starts_linear(train):
            return
        fit_linear(net.module_, train, self._linear_model(), warm)
        if valid is not None:
            weights = copy.deepcopy(net.module_.state_dict())
            early_stopping(net).initial_ = (float(self._validation_score(net, valid)), weights)

    def _continue_net(self, valid, run, stopping_state=None):
        """Prepare ``net_`` to train on, its early stopping from ``stopping_state`` if given."""
        net = self.net_
        net.set_params(
            batch_size=self.batch_size_,
            train_split=None if valid is None else predefined_split(valid),
            verbose=_distributed.verbosity(self.verbose),
        )
        # what set_params does for iterator parameters, which it cannot change on an
        # initialised net without re-initialising a module
        net.iterator_train__part = run.part
        # set_params(callbacks=...) would initialise the old list before storing the new
        net.callbacks = self._callbacks(valid, run, stopping_state)
        net.initialize_callbacks()
        return net

    def _train(self, net, train, epochs, run):
        """Train ``net`` on ``train`` for at most ``epochs`` epochs, on the fit's random stream.

        A network whose weights are all held (model="lr" under ``linear_update``) has
        nothing to train.
        """
        if not any(parameter.requires_grad for parameter in net.module_.parameters()):
            return
        train_in(net.module_, torch.bfloat16 if self.precision_ == "bfloat16" else None)
        # fork_rng keeps the user's global torch random state untouched; the state
        # kept after training makes continued training reproducible.
        with torch.random.fork_rng(devices=[]):
            torch.set_rng_state(self._torch_rng_state)
            with _distributed.data_parallel(net, run.part[1]):
                net.partial_fit(train, y=None, epochs=epochs)
            self._torch_rng_state = torch.get_rng_state()
        net.module_.eval()

    def _refit(self, whole, run):
        """Replace ``net_`` by a network trained on ``whole`` for the best epochs; return the old.

        The new network starts from the same weights and trains for as many epochs as
        early stopping kept, now with the validation split too.
        """
        stopped = self.net_
        epochs = kept_epochs(stopped)
        if self.verbose:
            print(f"Refitting on all {len(whole):,} rows for {epochs} epochs.")
        self.batch_size_ = batch_size_for(
            self.batch_size,
            len(whole),
            self._auto_batch_max_for(whole, _table_rows(self)),
            run.part[1],
        )
        self.net_ = self._start_net(whole, None, epochs, run, stopped=stopped)
        self._train(self.net_, whole, epochs, run)
        return stopped

    def _callbacks(self, valid, run=None, stopping_state=None, lr_scales=None):
        """Return a net's callbacks: early stopping on ``valid``; ``run``'s checkpoint if any.

        ``lr_scales`` replays a stopped fit's learning rates in a refit.
        """
        checkpoint = None if run is None else run.checkpoint
        return fit_callbacks(
            None if valid is None else self._monitor(),
            patience=self.n_iter_no_change,
            tol=self.tol,
            verbose=self.verbose,
            # files of versions before plateau_factor have none
            plateau_factor=getattr(self, "plateau_factor_", 1.0),
            lr_scales=lr_scales,
            save_epoch=None if checkpoint is None else partial(checkpoint.save, self, run),
            stopping_state=stopping_state,
        )

    def _build_net(self, batch_size, valid, callbacks, run=None, model=None, module=None):
        """Build the skorch net of ``model`` (default ``self.model``) or ``module``."""
        return build_net(
            self,
            module,
            model=model,
            criterion=self._criterion(),
            optimizer_sparse=self._sparse_optimizer,
            seed=self._seed,
            batch_size=batch_size,
            valid=valid,
            callbacks=callbacks,
            part=(0, 1) if run is None else run.part,
        )

    # -- predicting ------------------------------------------------------

    def _raw_logits(self, X):
        """Validate ``X`` and return the network's uncalibrated logits, one per row."""
        check_is_fitted(self)
        if isinstance(X, FieldData):  # its fields are stored: checked, not validated
            X.check_fields(*self._fitted_fields())
            return self.net_.predict_logits(X, _PREDICT_BATCH_SIZE)  # no targets needed
        X = validate_input(self, X, reset=False)
        check_codes(X, self.value_fields_, self.cardinalities_, names_of(self))
        dataset = FieldDataset(*self._as_tensors(X))
        with _distributed.torch_threads(self.n_threads):
            logits = self.net_.predict_logits(dataset, _PREDICT_BATCH_SIZE)
        if np.isnan(logits).any():
            row = int(np.flatnonzero(np.isnan(logits))[0])
            raise_nan_logit(X, row, self.value_fields_, names_of(self))
        return logits

    # -- shared by fit and predict ---------------------------------------

    def _as_tensors(self, X):
        return as_tensors(X, self.value_fields_, self.cardinalities_)

    def _fitted_fields(self, cardinalities=None):
        """Return the fields as fitted: column names (``x0``, ... without), cardinalities, kinds.

        ``cardinalities``, when given, replaces ``cardinalities_`` (those of a growing fit).
        """
        names = names_of(self)
        if names is None:
            names = [f"x{j}" for j in range(self.n_features_in_)]
        if cardinalities is None:
            cardinalities = self.cardinalities_
        return names, cardinalities, self.value_fields_


def _table_rows(estimator):
    """Return the rows of ``estimator``'s embedding tables (the codes of all its fields)."""
    return sum(module_fields(estimator)["cardinalities"])
