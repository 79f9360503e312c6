"""What a fitted DeepFM estimator is, as plain values: for model files and checkpoints.

``FittedStateMixin`` gives ``BaseDeepFM`` the pair of methods that persistence and
export use (``_get_fitted_state``, ``_set_fitted_state``: the fitted attributes,
the network's class, arguments and weights, its history, random generators and
optimizers), and the per-epoch checkpoints of a fit, made of that same state plus
what a fit in progress also needs (its random stream, early stopping's state).
"""

import hashlib
import re

import torch
from sklearn.utils.validation import check_is_fitted
from skorch.history import History

from .._json import plain
from ..data import ParquetShards
from ..nn import MODULES, has_batch_norm
from . import _checkpoint, _distributed

# What a saved state may name as a fitted attribute.
_ATTRIBUTE = re.compile(r"_?[a-z][a-z0-9_]*")
# Attributes of a fit in progress, never part of a fitted state.
_TRANSIENT = {"net_", "_checkpoint_run", "_part"}


class FittedStateMixin:
    """The fitted state of ``BaseDeepFM`` out and in, and the checkpoints of its fits."""

    def _get_fitted_state(self, include_optimizer=False):
        """Return the fitted state: plain values, numpy arrays and tensors.

        ``fitted`` maps every fitted attribute but ``net_`` to its value;
        ``module`` gives the network's class name, arguments and state dict;
        ``history`` the epochs (batches left out); ``generators`` the states
        of the net's random generators; ``optimizers`` the optimizer states
        when ``include_optimizer``, else None.
        """
        check_is_fitted(self)
        params = self.get_params(deep=False)
        net, module = self.net_, self.net_.module_
        net_params = net.get_params(deep=False)
        optimizers = None
        if include_optimizer:
            optimizers = {name: opt.state_dict() for name, opt in net.optimizers().items()}
        return {
            "fitted": {
                k: v for k, v in vars(self).items() if k not in params and k not in _TRANSIENT
            },
            "module": {
                "class": type(module).__name__,
                "args": {k[8:]: v for k, v in net_params.items() if k.startswith("module__")},
                "state": module.state_dict(),
            },
            "history": epochs_of(net.history),
            "generators": {
                name: value.get_state()
                for name, value in net_params.items()
                if isinstance(value, torch.Generator)
            },
            "optimizers": optimizers,
        }

    def _set_fitted_state(self, state):
        """Restore what ``_get_fitted_state`` returned, rebuilding ``net_`` on ``device``."""
        params = self.get_params(deep=False)
        for name, value in state["fitted"].items():
            if (
                not isinstance(name, str)
                or not _ATTRIBUTE.fullmatch(name)
                or hasattr(type(self), name)  # methods and class attributes stay
                or name in params
                or name == "net_"
            ):
                raise ValueError(f"the saved state sets the attribute {name!r}, which it may not.")
            setattr(self, name, value)
        self._check_fitted_state()
        module = state["module"]
        if module["class"] not in MODULES:
            raise ValueError(
                f"the saved state names the network class {module['class']!r}; it may only "
                f"name {sorted(MODULES)}."
            )
        fields = self._module_fields()
        if list(module["args"].get("cardinalities", ())) != fields["cardinalities"]:
            raise ValueError("the network's cardinalities differ from the estimator's.")
        if any(module["args"].get(key, fields[key]) != fields[key] for key in fields):
            raise ValueError("the network's fields differ from the estimator's.")
        # files of versions before batch_size="auto" have no batch_size_
        batch_size = getattr(self, "batch_size_", self.batch_size)
        net = self._build_net(batch_size, None, module=(MODULES[module["class"]], module["args"]))
        with torch.random.fork_rng(devices=[]):  # the user's random streams stay untouched
            net.initialize()
        _load_weights(net.module_, module["state"], module["class"])
        net.module_.eval()
        net_params = net.get_params(deep=False)
        for name, generator_state in state["generators"].items():
            if not isinstance(net_params.get(name), torch.Generator):
                raise ValueError(f"the net has no random generator {name!r}.")
            _restore(net_params[name].set_state, generator_state, name)
        optimizers = net.optimizers()
        for name, optimizer_state in (state["optimizers"] or {}).items():
            if name not in optimizers:
                raise ValueError(f"the net has no optimizer {name!r}.")
            _restore(optimizers[name].load_state_dict, optimizer_state, name)
        history = state["history"]
        if not isinstance(history, list) or not all(isinstance(e, dict) for e in history):
            raise ValueError("the training history must be a list of epochs.")
        net.history_ = History(history)
        self.net_ = net
        if not hasattr(self, "batch_norm_"):  # files before batch_norm="auto"
            self.batch_norm_ = has_batch_norm(net.module_)
        if not hasattr(self, "early_stopping_history_"):  # files before refit
            self.early_stopping_history_ = None

    def _check_fitted_state(self):
        """Refuse restored fitted attributes that contradict each other."""
        n_fields = self.n_features_in_
        if not hasattr(self, "field_slices_"):  # files before multi-valued fields
            self.field_slices_ = [slice(j, j + 1) for j in range(n_fields)]
        slices = self.field_slices_
        if (
            not isinstance(slices, list)
            or not all(isinstance(s, slice) for s in slices)
            or ([j for s in slices for j in range(s.start, s.stop)] != list(range(n_fields)))
        ):
            raise ValueError(f"the field slices must cover the {n_fields} columns in order.")
        cardinalities, value_fields = self.cardinalities_, self.value_fields_
        if not (
            cardinalities.shape == value_fields.shape == (n_fields,)
            and cardinalities.dtype.kind == "i"
            and value_fields.dtype == bool
            and (cardinalities >= 1).all()
        ):
            raise ValueError(
                f"the fitted attributes are inconsistent: expected {n_fields} fields with "
                "cardinalities of at least 1."
            )

    # -- checkpoints of a fit in progress ---------------------------------

    def _run_identity(self, train, valid):
        """Describe this fit (parameters, seed, data) so a checkpoint resumes only itself."""
        ignored = {"verbose", "checkpoint_dir", "device", "random_state", "warm_start"}
        params = {k: v for k, v in self.get_params(deep=False).items() if k not in ignored}
        return {
            "params": repr(sorted(params.items())),
            "seed": int(self._seed),
            "data": [_fingerprint(part) for part in (train, valid)],
        }

    def _write_checkpoint(self, net):
        """Save the fit after an epoch: its fitted state, random stream and early stopping."""
        if _distributed.rank() != 0:  # one writer; every rank resumes from its file
            return
        state = self._get_fitted_state(include_optimizer=True)
        state["fitted"].setdefault("calibration_", (1.0, 0.0))  # set anew when the fit ends
        state["history"] = [plain(epoch) for epoch in state["history"]]
        stopping = dict(net.callbacks_).get("early_stopping")
        checkpoint = {
            "run": self._checkpoint_run,
            "fit_epochs": len(net.history),  # a checkpointed fit is a first fit
            "state": state,
            "torch_rng": torch.get_rng_state(),  # training's stream (dropout), in fork_rng
            "early_stopping": None if stopping is None else stopping.state(),
            "fm_epochs": getattr(self, "_fm_epochs", None),  # FNN's, for a refit
        }
        _checkpoint.write(self.checkpoint_dir, checkpoint)

    def _resume_net(self, saved, train, valid):
        """Rebuild the net of a checkpoint of this same fit, to train its remaining epochs."""
        if saved["run"] != self._checkpoint_run:
            raise ValueError(
                f"The checkpoint in {self.checkpoint_dir} belongs to another fit (other "
                "parameters, seed or data). Remove it, or pass another checkpoint_dir."
            )
        self._set_fitted_state(saved["state"])
        net = self._continue_net(train, valid)
        stopping = dict(net.callbacks_).get("early_stopping")
        if stopping is not None:
            stopping.resume_state = saved["early_stopping"]
        self._torch_rng_state = saved["torch_rng"]
        self._fm_epochs = saved.get("fm_epochs")
        return net


def epochs_of(history):
    """Return a skorch history's epochs without their per-batch records."""
    return [{k: v for k, v in epoch.items() if k != "batches"} for epoch in history]


def _load_weights(module, state, name):
    """Load a saved state dict into a freshly built ``module``, refusing one that does not fit."""
    built = module.state_dict()
    shapes = {key: tuple(tensor.shape) for key, tensor in state.items()}
    if shapes != {key: tuple(tensor.shape) for key, tensor in built.items()}:
        raise ValueError(
            f"the saved weights do not fit the {name} network the file describes (missing, "
            "extra or misshapen tensors)."
        )
    for key in state:  # buffers that follow from the network's arguments
        if key.endswith(("offsets", "pool", "padded")) and not torch.equal(
            state[key], built[key].cpu()
        ):
            raise ValueError(f"the stored field layout {key!r} contradicts the fields.")
    module.load_state_dict(state)


def _restore(setter, state, what):
    try:
        setter(state)
    except (RuntimeError, TypeError, KeyError) as exc:
        raise ValueError(f"the state of {what!r} does not fit: {exc}") from exc


def _fingerprint(dataset):
    """Return a cheap identity of a dataset: its size, and a hash of its first and last rows."""
    if dataset is None:
        return None
    if isinstance(dataset, ParquetShards):
        return [len(dataset), [str(path) for path in dataset.paths_]]
    digest = hashlib.blake2b(digest_size=16)
    for part in (dataset.codes, dataset.values, dataset.y):
        if part is not None:
            digest.update(part[:1000].numpy().tobytes() + part[-1000:].numpy().tobytes())
    return [len(dataset), digest.hexdigest()]
