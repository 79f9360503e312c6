"""What a fitted DeepFM estimator is, as plain values: for model files and checkpoints.

``FittedStateMixin`` gives ``BaseDeepFM`` the pair of methods that persistence,
export and checkpoints use (``_get_fitted_state``, ``_set_fitted_state``: the
fitted attributes, the network's class, arguments and weights, its history, random
generators and optimizers), and the check of restored attributes that each
estimator extends (``_check_fitted_state``).
"""

import re

import torch
from sklearn.utils.validation import check_is_fitted
from skorch.history import History

from ..nn import MODULES, has_batch_norm
from . import _distributed
from ._net import module_fields

# What a saved state may name as a fitted attribute.
_ATTRIBUTE = re.compile(r"_?[a-z][a-z0-9_]*")
# The fitted attribute that the state describes apart, as its network.
_NETWORK = "net_"
# The private attributes a fit sets that a saved state keeps: the seed of the fit and
# the random stream of its training, which a resumed or continued fit goes on from.
_PRIVATE_FITTED = ("_seed", "_torch_rng_state")


def _is_fitted_attribute(name):
    """Tell the attributes a fit sets from those others set on the estimator while it fits.

    scikit-learn's Pipeline, for one, sets ``_parent_callback_ctx`` on its final step
    for the length of the step's fit, when a checkpoint may be written.
    """
    public = name.endswith("_") and not name.startswith("_")
    return (public or name in _PRIVATE_FITTED) and name != _NETWORK


class FittedStateMixin:
    """The fitted state of ``BaseDeepFM``, out and in."""

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
        # a checkpoint written during a data-parallel epoch: the module inside the wrapper
        net, module = self.net_, _distributed.unwrapped(self.net_.module_)
        net_params = net.get_params(deep=False)
        optimizers = None
        if include_optimizer:
            optimizers = {name: opt.state_dict() for name, opt in net.optimizers().items()}
        return {
            "fitted": {
                k: v for k, v in vars(self).items() if k not in params and _is_fitted_attribute(k)
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
                or name == _NETWORK
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
        fields = module_fields(self)
        if list(module["args"].get("cardinalities", ())) != fields["cardinalities"]:
            raise ValueError("the network's cardinalities differ from the estimator's.")
        if any(module["args"].get(key, fields[key]) != fields[key] for key in fields):
            raise ValueError("the network's fields differ from the estimator's.")
        # files of versions before batch_size="auto" have no batch_size_
        batch_size = getattr(self, "batch_size_", self.batch_size)
        module_spec = (MODULES[module["class"]], module["args"])
        net = self._build_net(batch_size, None, callbacks=[], module=module_spec)
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
