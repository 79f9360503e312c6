"""``BaseDeepFM``: all of a DeepFM estimator but its target, as ``BaseMultilayerPerceptron``.

One fit reads, file by file: ``_validation`` checks the input; the fields are
learnt here (``_learn_fields``); ``_data`` turns the arrays into a dataset and
batches; ``_net`` trains the network of ``network`` through skorch; the subclass
maps the targets and finishes the fit (the classifier calibrates). Everything
about the target (labels, loss, scores) belongs to the subclass's hooks.
"""

import os
import re
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data
from skorch.helper import predefined_split
from skorch.utils import noop

from .. import _json, _slots
from .._sklearn import Interval, StrOptions, check_sample_weight
from ..data import BatchIterator, FieldDataset, ParquetShards, as_tensors
from ..nn import MODELS, CatchUpAdam, has_batch_norm
from . import _checkpoint, _distributed
from ._fitted_state import FittedStateMixin, epochs_of
from ._net import CTRNet, ResumableEarlyStopping
from ._validation import (
    check_codes,
    check_finite,
    check_hidden_layer_sizes,
    check_non_negative,
    check_table_size,
    column_label,
    first_non_number,
    raise_nan_logit,
)

# Rows per forward pass at prediction time: large enough to amortise the call
# overhead, small enough to bound the activations' memory.
_PREDICT_BATCH_SIZE = 65_536
# Integer and float input keep their dtype; anything else (lists, object arrays)
# becomes float64, which never truncates a continuous value.
_DTYPES = [np.float64, np.float32, np.int64, np.int32]
# With early_stopping="auto", hold out a validation split from this many rows on.
_AUTO_EARLY_STOPPING_MIN_SAMPLES = 2_000
# With refit="auto", retrain on all rows below this many: there the held-out tenth
# is worth most and a second training costs seconds to a minute.
_AUTO_REFIT_MAX_SAMPLES = 100_000
# batch_size="auto": about this many steps an epoch on small data, so that a few
# thousand rows train as far in a few epochs as large data does in one; the batch
# stays between the two bounds (large batches are fast per row; see auto_batch_size).
_AUTO_STEPS_PER_EPOCH = 32
_AUTO_BATCH_MIN, _AUTO_BATCH_MAX = 16, 1024
# What a saved state may name as a fitted attribute.
_ATTRIBUTE = re.compile(r"_?[a-z][a-z0-9_]*")


class BaseDeepFM(FittedStateMixin, BaseEstimator):
    """Fields, data, network, training, early stopping, warm start and fitted state.

    Subclasses define the target: ``_criterion``, ``_targets`` (``y``, and the
    validated ``sample_weight``, to the float targets of the loss), ``_stratify``
    (None for no stratification), ``_monitor`` and
    ``_scoring_callbacks`` (what early stopping watches), and
    ``_finish_fit`` (after training, e.g. calibration).
    """

    # The optimizer of sparse embedding tables (a subclass may swap it, as the
    # speed benchmark does with torch's SparseAdam).
    _sparse_optimizer = CatchUpAdam

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
        "tol": [Interval(Real, 0, None, closed="left")],
        "sparse_embeddings": ["boolean"],
        "random_state": ["random_state"],
        "warm_start": ["boolean"],
        "verbose": ["verbose"],
        "device": [str, torch.device],
        "checkpoint_dir": [str, os.PathLike, None],
        "n_threads": [Interval(Integral, 1, None, closed="left"), None],
    }

    # -- fitting ---------------------------------------------------------

    def _fit(self, X, y, sample_weight, *, first, classes=None, epochs=None):
        """Fit anew (``first``) or continue training ``net_``.

        ``epochs=None`` is ``fit``: ``max_epochs`` epochs, with early stopping
        when on. An int is ``partial_fit``: that many epochs on all rows.
        """
        with _distributed.torch_threads(self.n_threads):
            return self._fit_in_threads(X, y, sample_weight, first, classes, epochs)

    def _fit_in_threads(self, X, y, sample_weight, first, classes, epochs):
        prepare = self._shards_for_fit if isinstance(X, ParquetShards) else self._arrays_for_fit
        train, valid, rows = prepare(
            X, y, sample_weight, first=first, classes=classes, epochs=epochs
        )
        self._part = _distributed.world(self.device)  # (rank, world size) of this fit
        self.batch_size_ = self._resolve_batch_size(len(train))
        if first:  # the network's shape stays that of its first fit
            self.batch_norm_ = self._resolve_batch_norm(train)
        # a first fit (not partial_fit) with checkpoint_dir saves each epoch and resumes
        checkpointing = first and epochs is None and self.checkpoint_dir is not None
        self._checkpoint_run = self._run_identity(train, valid) if checkpointing else None
        saved = _checkpoint.read(self.checkpoint_dir) if checkpointing else None
        try:
            done = 0 if saved is None else saved["fit_epochs"]
            if saved is not None:
                net = self._resume_net(saved, train, valid)
            elif first:
                net = self._start_net(train, valid, epochs)
            else:
                net = self._continue_net(train, valid)
            if len(train) < 2 and has_batch_norm(net.module_):
                raise ValueError(
                    "Batch normalisation cannot train on a single row, and X holds 1 sample. "
                    "Pass at least 2 rows (larger chunks to partial_fit), or set "
                    "batch_norm=False."
                )
            self.net_ = net
            self._train(net, train, epochs or self.max_epochs - done)
            self._finish_fit(valid)
            self.early_stopping_history_ = None
            if first and rows is not None and self._refit_on(len(rows)):
                self._refit(rows, train)
        finally:
            del self._checkpoint_run, self._part
            self.__dict__.pop("_fm_epochs", None)
        self.n_iter_ = len(self.net_.history)
        if checkpointing:
            _checkpoint.remove(self.checkpoint_dir)  # the fit has ended: nothing to resume
        return self

    def _train(self, net, train, epochs):
        """Train ``net`` on ``train`` for at most ``epochs`` epochs, on the fit's random stream."""
        # fork_rng keeps the user's global torch random state untouched; the state
        # kept after training makes continued training reproducible.
        with torch.random.fork_rng(devices=[]):
            torch.set_rng_state(self._torch_rng_state)
            with _distributed.data_parallel(net, self._part[1]):
                net.partial_fit(train, y=None, epochs=epochs)
            self._torch_rng_state = torch.get_rng_state()
        net.module_.eval()

    def _refit_on(self, n_rows):
        if self.refit == "auto":
            return n_rows < _AUTO_REFIT_MAX_SAMPLES
        return self.refit

    def _refit(self, rows, train):
        """Replace ``net_`` by a network trained on all ``rows`` for the best epochs.

        The new network starts from the same weights and trains for as many epochs as
        early stopping kept, now with the validation split too; ``_finish_refit``
        carries over what was fitted on that split (the classifier's calibration).
        """
        first = self.net_
        epochs = _kept_epochs(first)
        self.early_stopping_history_ = [_json.plain(e) for e in epochs_of(first.history)]
        if self.verbose:
            print(f"Refitting on all {len(rows):,} rows for {epochs} epochs.")
        self.batch_size_ = self._resolve_batch_size(len(rows))
        fm_epochs = getattr(self, "_fm_epochs", None)  # FNN's pre-training, as it was kept
        self.net_ = self._start_net(rows, None, epochs, checkpoint=False, fm_epochs=fm_epochs)
        self._train(self.net_, rows, epochs)
        self._finish_refit(first, train)

    def _finish_refit(self, first, train):
        """Carry what ``_finish_fit`` fitted on ``first`` over to the refitted ``net_``."""

    def _arrays_for_fit(self, X, y, sample_weight, *, first, classes, epochs):
        """Validate in-memory data; return the training and validation ``FieldDataset``.

        The third value is the whole dataset when a validation split was held out of
        it (what a refit trains on), else None.
        """
        X, y = self._validate_input(X, y, reset=first)
        if sample_weight is not None:
            sample_weight = check_sample_weight(sample_weight, X, ensure_non_negative=True)
        target = self._targets(
            y, classes, first=first, partial=epochs is not None, sample_weight=sample_weight
        )
        if first:
            self._learn_fields(X)
            self._start_first_fit()
        else:
            check_codes(X, self.value_fields_, self.cardinalities_, self._names())
        weights = None if sample_weight is None else torch.as_tensor(sample_weight).float()
        dataset = FieldDataset(*self._as_tensors(X), torch.as_tensor(target).float(), weights)
        if epochs:
            return dataset, None, None
        train, valid = self._split(dataset, target)
        return train, valid, None if valid is None else dataset

    def _shards_for_fit(self, shards, y, sample_weight, *, first, classes, epochs):
        """Take the fields and labels of Parquet shards; return training and validation shards.

        The third value is all the shards when the validation shards were taken from
        them (what a refit trains on), else None.
        """
        if y is not None or sample_weight is not None:
            raise ValueError(
                "With ParquetShards as X, the labels and weights come from the shards' "
                "columns: pass y=None and sample_weight=None (see write_parquet_shards)."
            )
        fields = shards.fields_
        if first:
            self.n_features_in_ = shards.n_fields
            self.feature_names_in_ = np.asarray(fields["names"], dtype=object)
            self.value_fields_ = np.array(fields["value_fields"], dtype=bool)
            self.cardinalities_ = np.array(fields["cardinalities"], dtype=np.int64)
            self._group_fields()
            self._start_first_fit()
        else:
            self._check_shard_fields(shards)
        self._targets(shards.classes_, classes, first=first, partial=epochs is not None)
        train, valid, rows = shards, shards.validation, None
        if epochs is None and valid is None and self._early_stopping_on(len(shards)):
            if len(train.paths_) < 2:
                raise ValueError(
                    "Early stopping needs held-out rows: pass ParquetShards(..., "
                    "validation=ParquetShards(...)), write more than one shard, or set "
                    "early_stopping=False."
                )
            order = check_random_state(self._seed).permutation(len(train.paths_))
            n_valid = max(1, round(self.validation_fraction * len(order)))
            train, valid = shards.subset(sorted(order[n_valid:])), shards.subset(order[:n_valid])
            rows = shards
        elif valid is not None:
            self._check_shard_fields(valid)
        targets = self._target_map()
        valid = None if epochs or valid is None else valid.with_targets(targets)
        rows = None if rows is None else rows.with_targets(targets)
        return train.with_targets(targets), valid, rows

    def _start_first_fit(self):
        """Check the network's shape and draw the seed of every random stream of the fit."""
        check_hidden_layer_sizes(self.hidden_layer_sizes)
        self._seed = check_random_state(self.random_state).randint(np.iinfo(np.int32).max)

    def _check_shard_fields(self, shards):
        fields = shards.fields_
        if (
            list(fields["names"]) != [str(n) for n in self._names_or_positions()]
            or np.any(np.array(fields["cardinalities"]) > self.cardinalities_)
            or list(fields["value_fields"]) != self.value_fields_.tolist()
        ):
            raise ValueError(
                f"The shards {shards.paths_[0]} ... hold other fields than those of the first "
                f"fit ({list(self._names_or_positions())}, cardinalities "
                f"{self.cardinalities_.tolist()}): encode them with the same fitted encoder."
            )

    def _names_or_positions(self):
        names = self._names()
        return names if names is not None else [f"x{j}" for j in range(self.n_features_in_)]

    def _target_map(self):
        """Return the map from stored labels to the loss's targets (shards only)."""
        raise NotImplementedError(
            f"{type(self).__name__} does not train from ParquetShards; DeepFMClassifier does."
        )

    def _early_stopping_on(self, n_rows):
        if self.early_stopping == "auto":
            return n_rows >= _AUTO_EARLY_STOPPING_MIN_SAMPLES
        return self.early_stopping

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
        self._group_fields()

    def _group_fields(self):
        """Set ``field_slices_``: which columns make each field, from their names.

        The slots of a multi-valued field share one vocabulary, so they get the
        largest cardinality among them.
        """
        names = self._names()
        n_columns = len(self.cardinalities_)
        self.field_slices_ = _slots.field_slices(names) or [
            slice(j, j + 1) for j in range(n_columns)
        ]
        for columns in self.field_slices_:
            if not _slots.is_multi_valued(names, columns):
                continue
            if self.value_fields_[columns].any():
                column = columns.start + int(np.argmax(self.value_fields_[columns]))
                raise ValueError(
                    f"Column {column_label(column, names)} is a slot of a multi-valued field "
                    "(its name ends in [i]), so it must hold integer codes, not continuous "
                    "values. Encode the field with FieldEncoder(multi_valued=...)."
                )
            self.cardinalities_[columns] = self.cardinalities_[columns].max()

    def _split(self, dataset, target):
        """Hold out a (stratified, for a classifier) validation split when early stopping is on."""
        n = len(dataset)
        if not self._early_stopping_on(n):
            return dataset, None
        stratify = self._stratify(target)
        try:
            train, valid = train_test_split(
                np.arange(n),
                test_size=self.validation_fraction,
                stratify=stratify,
                random_state=self._seed,
            )
        except ValueError as error:
            kind, need = (
                ("a stratified", "rows of both classes") if stratify is not None else ("a", "rows")
            )
            raise ValueError(
                f"Early stopping holds out {kind} validation split of "
                f"validation_fraction={self.validation_fraction} of the {n} rows, which needs "
                f"{need} on each side: {error} Pass more rows or set "
                "early_stopping=False."
            ) from error
        return dataset.subset(train), dataset.subset(valid)

    def _start_net(self, train, valid, epochs, checkpoint=True, fm_epochs=None):
        """Build and initialise a new net; FNN's first trains its FM for the embeddings.

        The FM trains for ``fm_epochs`` when given (a refit, which has no validation
        split to stop it); ``_fm_epochs`` keeps the epochs it kept, for a refit.
        """
        pretrained = None
        if self.model == "fnn":
            pretrained = self._build_net(self.batch_size_, valid, model="fm", checkpoint=False)
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(self._seed)
                with _distributed.data_parallel(pretrained, self._part[1]):
                    pretrained.fit(train, y=None, epochs=fm_epochs or epochs)
            self._fm_epochs = _kept_epochs(pretrained)
        net = self._build_net(self.batch_size_, valid, checkpoint=checkpoint)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self._seed)
            net.initialize()  # as net.fit would, but FNN's table goes in first
            if pretrained is not None:
                net.module_.copy_embeddings_from(pretrained.module_)
            self._torch_rng_state = torch.get_rng_state()
        return net

    def _continue_net(self, train, valid):
        """Prepare the fitted ``net_`` to continue training on new data."""
        net = self.net_
        net.set_params(
            batch_size=self.batch_size_,
            train_split=None if valid is None else predefined_split(valid),
            verbose=self._verbosity(),
        )
        # what set_params does for iterator parameters, which it cannot change on an
        # initialised net without re-initialising a module
        net.iterator_train__part = self._part
        # set_params(callbacks=...) would initialise the old list before storing the new
        net.callbacks = self._callbacks(valid)
        net.initialize_callbacks()
        return net

    def _callbacks(self, valid, checkpoint=True):
        """Return the callbacks of a fit, in the order they must run.

        Scoring and early stopping with a validation split; the epoch checkpoint
        while a fit checkpoints.
        """
        callbacks = []
        if valid is not None:
            monitor, lower_is_better = self._monitor()
            stopping = ResumableEarlyStopping(
                monitor=monitor,
                lower_is_better=lower_is_better,
                patience=self.n_iter_no_change,
                threshold=self.tol,
                threshold_mode="abs",
                load_best=True,
                sink=print if self.verbose else noop,
            )
            callbacks += [*self._scoring_callbacks(), ("early_stopping", stopping)]
        if checkpoint and getattr(self, "_checkpoint_run", None) is not None:
            # after early stopping: an epoch that stops training is not saved, and a
            # resumed fit runs it again to the same decision
            callbacks.append(("checkpoint", _checkpoint.EpochCheckpoint(self._write_checkpoint)))
        return callbacks

    def _verbosity(self):
        """``verbose``, on rank 0 of a data-parallel fit only: one log, not one per process."""
        return self.verbose if _distributed.rank() == 0 else 0

    def _resolve_batch_size(self, n_train):
        """Rows per training step for ``n_train`` rows: ``batch_size`` or its "auto" rule."""
        if self.batch_size == "auto":
            return auto_batch_size(n_train)
        return max(1, min(self.batch_size, n_train))

    def _resolve_batch_norm(self, train):
        """Return whether the hidden layers get batch normalisation: ``batch_norm``.

        A subclass may accept ``batch_norm="auto"`` and decide from the training rows.
        """
        return self.batch_norm

    def _build_net(self, batch_size, valid, model=None, module=None, checkpoint=True):
        """Build the skorch net of ``model`` (default ``self.model``), or of ``module``.

        ``module``, a pair ``(class, arguments)``, gives the network of a saved
        state. This is the one place that knows skorch's parameter routing.
        """
        sparse = self.sparse_embeddings and _distributed.sparse_gradients_allowed()
        if module is None:
            module_class, parts = MODELS[model or self.model]
            module_args = {
                **self._module_fields(),
                "embedding_dim": self.embedding_dim,
                "hidden_layer_sizes": tuple(self.hidden_layer_sizes),
                "dropout": self.dropout,
                "batch_norm": self.batch_norm_,
                "sparse": sparse,
                **parts,
            }
        else:
            module_class, module_args = module
        return CTRNet(
            module=module_class,
            **{f"module__{name}": value for name, value in module_args.items()},
            criterion=self._criterion,
            criterion__reduction="none",
            optimizer=torch.optim.Adam,
            optimizer_sparse=self._sparse_optimizer,
            lr=self.learning_rate,
            **self._table_optimizer_params(sparse),
            max_epochs=self.max_epochs,
            batch_size=batch_size,
            iterator_train=BatchIterator,
            iterator_train__shuffle=True,
            iterator_train__generator=torch.Generator().manual_seed(self._seed),
            iterator_train__part=getattr(self, "_part", (0, 1)),
            iterator_valid=BatchIterator,
            iterator_valid__batch_size=_PREDICT_BATCH_SIZE,
            train_split=None if valid is None else predefined_split(valid),
            callbacks=self._callbacks(valid, checkpoint),
            sparse_embeddings=sparse,
            embedding_l2=self.embedding_l2,
            verbose=self._verbosity(),
            device=self.device,
        )

    def _table_optimizer_params(self, sparse):
        """Route ``embedding_learning_rate`` and ``embedding_epsilon`` to the tables' Adam.

        Sparse tables have an optimizer of their own; dense ones are a parameter
        group of the one Adam (skorch's ``param_groups``, matched by name).
        """
        lr = self.embedding_learning_rate
        table = {"lr": self.learning_rate if lr is None else lr, "eps": self.embedding_epsilon}
        if sparse:
            return {f"optimizer_sparse__{name}": value for name, value in table.items()}
        return {"optimizer__param_groups": [("*embedding.weight", table)]}

    def _module_fields(self):
        """Return the network's fields: per-field cardinalities, widths, multi-valued flags."""
        names, slices = self._names(), self.field_slices_
        return {
            "cardinalities": [int(self.cardinalities_[s.start]) for s in slices],
            "widths": [s.stop - s.start for s in slices],
            "multi_valued": [_slots.is_multi_valued(names, s) for s in slices],
            "pooling": self.pooling,
        }

    # -- predicting ------------------------------------------------------

    def _raw_logits(self, X):
        """Validate ``X`` and return the network's uncalibrated logits, one per row."""
        check_is_fitted(self)
        if isinstance(X, ParquetShards):
            self._check_shard_fields(X)
            return self.net_.predict_logits(X, _PREDICT_BATCH_SIZE)  # no targets needed
        X = self._validate_input(X, reset=False)
        check_codes(X, self.value_fields_, self.cardinalities_, self._names())
        dataset = FieldDataset(*self._as_tensors(X))
        with _distributed.torch_threads(self.n_threads):
            logits = self.net_.predict_logits(dataset, _PREDICT_BATCH_SIZE)
        if np.isnan(logits).any():
            row = int(np.flatnonzero(np.isnan(logits))[0])
            raise_nan_logit(X, row, self.value_fields_, self._names())
        return logits

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
                f"{type(self).__name__} needs numbers (field codes or values), but column "
                f"{column_label(column, self._names())} holds {value!r} at row {row} "
                f"({error}). Encode raw columns with FieldEncoder first, for example in a "
                "Pipeline."
            ) from error
        check_finite(out[0] if isinstance(out, tuple) else out, self._names(), type(self).__name__)
        return out

    def _as_tensors(self, X):
        return as_tensors(X, self.value_fields_, self.cardinalities_)

    def _names(self):
        """``feature_names_in_`` where fitted on a DataFrame, to name columns in errors."""
        return getattr(self, "feature_names_in_", None)


def auto_batch_size(n_train):
    """Return the rows per step of ``batch_size="auto"`` for ``n_train`` training rows.

    ``n_train // 32`` (about 32 steps an epoch), at least 16 and at most 1024, and
    never more than ``n_train``: 1024 from 32,768 training rows on, 200 for 6,400.

    Examples
    --------
    >>> from sklearn_deepfm._base import auto_batch_size
    >>> [auto_batch_size(n) for n in (10, 200, 6_400, 38_481, 1_000_000)]
    [10, 16, 200, 1024, 1024]
    """
    size = min(_AUTO_BATCH_MAX, max(_AUTO_BATCH_MIN, n_train // _AUTO_STEPS_PER_EPOCH))
    return max(1, min(size, n_train))


def _kept_epochs(net):
    """Return the epochs whose weights ``net`` kept: early stopping's best, else all it ran."""
    stopping = dict(net.callbacks_).get("early_stopping")
    return stopping.best_epoch_ if stopping is not None else len(net.history)
