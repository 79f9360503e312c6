"""Adam for embedding tables: a step costs what the rows of the batch cost.

``torch.optim.SparseAdam`` is a *lazy* Adam: a row moves only in the steps
where the batch uses it. Dense Adam also moves it in the steps between, by its
decaying momentum, so under dense Adam a rare row travels several times
further per appearance (up to ``1 / (1 - beta1 / sqrt(beta2))``, about 10).
On Frappe, lazy updates learn the rare users and items so much more slowly
that early stopping halts on a plateau, 0.015 AUC short of dense Adam.

``CatchUpAdam`` makes the moves dense Adam makes, without touching the rows a
step does not use. It keeps, per row, the step at which the row was last
updated; when the row comes back, it first applies the ``k`` momentum-only
steps it missed, at once: the moments decay by ``beta ** k`` and the row moves
by the sum of the ``k`` steps, read from a running table of such sums
(``tail``, updated in O(1) amortised per step). ``flush`` brings every row up
to date (O(rows), for evaluation and at the end of training). Two differences
from dense Adam remain: the moves a row missed are made late, so the gradient
of its next appearance is taken before them; and ``eps``'s share of the missed
steps' denominators is taken as that of the first missed step (exact for
``eps = 0``). Given the same gradients, the moments and the moves are
otherwise exactly dense Adam's.
"""

import math

import torch
from torch.optim import Optimizer

from ._memory import zeros_like_table

# Stop adding to a tail entry once the momentum left is below this fraction.
_TAIL_TOLERANCE = 1e-12
# Rows brought up to date at once by ``flush``, to bound its temporary memory.
_FLUSH_ROWS = 1 << 18
# State that ``load_state_dict`` must not cast to the parameter's dtype.
_KEPT_AS_SAVED = ("last_step", "tail", "powers")


class CatchUpAdam(Optimizer):
    """Adam for parameters with sparse row gradients, making the moves of dense Adam.

    Parameters
    ----------
    params : iterable of Tensor
        Parameters whose gradients are sparse COO tensors over their first
        dimension (rows), as ``nn.Embedding(sparse=True)`` produces.
    lr : float, default=1e-3
    betas : tuple of float, default=(0.9, 0.999)
    eps : float, default=1e-8
        Must be positive: a row without gradient yet has zero moments.

    Notes
    -----
    State per parameter: ``exp_avg`` and ``exp_avg_sq`` (as dense Adam),
    ``last_step`` (int32 per row) and ``tail`` (float64 per step taken):
    ``tail[s]`` is the sum of ``c_i * r ** (i - s)`` over the steps ``i``
    since ``s``, with ``c_i = sqrt(1 - beta2 ** i) / (1 - beta1 ** i)`` (the
    bias correction) and ``r = beta1 / sqrt(beta2)``; a row last updated at
    ``s`` with moments ``m`` and ``v`` has since moved by about
    ``-lr * tail[s] * m / (sqrt(v) + eps)`` (see ``_missed_moves``).
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
        if lr <= 0 or eps <= 0 or not all(0 <= beta < 1 for beta in betas):
            raise ValueError(
                f"CatchUpAdam needs lr > 0, eps > 0 and betas in [0, 1). Got lr={lr}, "
                f"betas={betas}, eps={eps}."
            )
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps))

    @torch.no_grad()
    def step(self, closure=None):
        """Update the rows present in each parameter's sparse gradient."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        grouped = None  # _sum_by_row of the previous gradient
        for group in self.param_groups:
            for param in group["params"]:
                if param.grad is None:
                    continue
                if not param.grad.is_sparse:
                    raise RuntimeError(
                        "CatchUpAdam needs sparse gradients (nn.Embedding(sparse=True)); "
                        "use torch.optim.Adam for dense ones."
                    )
                grouped = _sum_by_row(param.grad, grouped)
                self._step(param, grouped[1], grouped[3], group)
        return loss

    def _step(self, param, rows, values, group):
        """One Adam step of the rows ``rows`` (unique) with gradient ``values``."""
        lr, eps = group["lr"], group["eps"]
        beta1, beta2 = group["betas"]
        state = self._state(param, group)
        state["step"] += 1
        step = state["step"]
        if len(rows):
            last = state["last_step"][rows]
            m = state["exp_avg"][rows]
            v = state["exp_avg_sq"][rows]
            # the momentum-only steps missed since ``last``, then this step's Adam update
            missed = (step - 1 - last).to(param.dtype).unsqueeze(1)
            catch_up = _missed_moves(state["tail"], last, m, v, eps, beta2)
            m.mul_(torch.pow(beta1, missed + 1)).add_(values, alpha=1 - beta1)
            v.mul_(torch.pow(beta2, missed + 1)).addcmul_(values, values, value=1 - beta2)
            bias1, bias2 = 1 - beta1**step, 1 - beta2**step
            update = m / (v.sqrt() / math.sqrt(bias2) + eps) / bias1 + catch_up
            param.index_add_(0, rows, update, alpha=-lr)
            state["exp_avg"].index_copy_(0, rows, m)
            state["exp_avg_sq"].index_copy_(0, rows, v)
            state["last_step"].index_fill_(0, rows, step)
        _extend_tail(state, step, beta1, beta2)

    def _state(self, param, group):
        state = self.state[param]
        if not state:
            beta1, beta2 = group["betas"]
            ratio = beta1 / math.sqrt(beta2)
            window = 10**5
            if 0 < ratio < 1:
                window = min(window, math.ceil(math.log(_TAIL_TOLERANCE) / math.log(ratio)))
            state["step"] = 0
            state["exp_avg"] = zeros_like_table(param)  # large ones on huge pages
            state["exp_avg_sq"] = zeros_like_table(param)
            state["last_step"] = torch.zeros(len(param), dtype=torch.int32, device=param.device)
            state["tail"] = torch.zeros(1024, dtype=torch.float64, device=param.device)
            # ratio ** (window ... 1): the weights of step t in tail[t - window .. t - 1]
            state["powers"] = ratio ** torch.arange(
                window, 0, -1, dtype=torch.float64, device=param.device
            )
        return state

    def load_state_dict(self, state_dict):
        """Load a state, keeping ``last_step``, ``tail`` and ``powers`` exactly as saved.

        ``Optimizer.load_state_dict`` casts every state tensor but ``step`` to its
        parameter's dtype, which would turn the int32 step numbers into floats and
        round the float64 sums.
        """
        saved_ids = [i for group in state_dict["param_groups"] for i in group["params"]]
        params = [p for group in self.param_groups for p in group["params"]]
        exact = {
            param: {
                key: value.detach().clone()
                for key, value in state_dict["state"].get(i, {}).items()
                if key in _KEPT_AS_SAVED
            }
            for i, param in zip(saved_ids, params, strict=False)
        }
        super().load_state_dict(state_dict)
        for param, values in exact.items():
            for key, value in values.items():
                self.state[param][key] = value.to(param.device)

    @torch.no_grad()
    def flush(self):
        """Apply every row's missed momentum steps, as dense Adam would have by now.

        O(rows) once after any step, then free until the next step.
        """
        for group in self.param_groups:
            eps, lr = group["eps"], group["lr"]
            beta1, beta2 = group["betas"]
            for param in group["params"]:
                state = self.state.get(param)
                if not state or state.get("flushed_at") == state["step"]:
                    continue
                step = state["flushed_at"] = state["step"]
                for start in range(0, len(param), _FLUSH_ROWS):
                    part = slice(start, start + _FLUSH_ROWS)
                    last = state["last_step"][part]
                    m, v = state["exp_avg"][part], state["exp_avg_sq"][part]
                    param[part].add_(
                        _missed_moves(state["tail"], last, m, v, eps, beta2), alpha=-lr
                    )
                    missed = (step - last).to(param.dtype).unsqueeze(1)
                    m.mul_(torch.pow(beta1, missed))
                    v.mul_(torch.pow(beta2, missed))
                    last.fill_(step)


def _missed_moves(tail, last, m, v, eps, beta2):
    """Return the moves (times ``-lr``) rows last updated at steps ``last`` missed since.

    Dense Adam's step ``i = s + j`` divides ``c_i * r ** j * m`` by
    ``sqrt(v) + eps * sqrt(1 - beta2 ** i) / beta2 ** (j / 2)``; the eps term
    is taken at ``j = 1`` for all ``j``, where the missed moves are largest.
    """
    scale = torch.sqrt(1 - torch.pow(beta2, last.to(torch.float64) + 1)) / math.sqrt(beta2)
    denominator = v.sqrt().add_(eps * scale.to(v.dtype).unsqueeze(1))
    return tail[last].to(m.dtype).unsqueeze(1) * m / denominator


def _sum_by_row(grad, previous=None):
    """Return ``(indices, rows, inverse, values)``: the sparse gradient summed per row.

    Two tables looked up with the same codes (the order-1 weights and the
    embeddings of DeepFM) have equal indices: the sort behind ``torch.unique``
    then runs once, for both.
    """
    if grad.is_coalesced():
        return None, grad.indices()[0], None, grad.values()
    indices = grad._indices()[0]
    if (
        previous is not None
        and previous[0] is not None
        and previous[0].shape == indices.shape
        and torch.equal(previous[0], indices)
    ):
        rows, inverse = previous[1], previous[2]
    else:
        rows, inverse = torch.unique(indices, return_inverse=True)
    grad_values = grad._values()
    values = grad_values.new_zeros((len(rows), *grad_values.shape[1:]))
    return indices, rows, inverse, values.index_add_(0, inverse, grad_values)


def _extend_tail(state, step, beta1, beta2):
    """After step ``step``: ``tail[step] = 0`` and step ``step`` added to the earlier entries."""
    tail = state["tail"]
    if step >= len(tail):
        tail = state["tail"] = torch.cat([tail, torch.zeros_like(tail)])
    tail[step] = 0.0
    weight = math.sqrt(1 - beta2**step) / (1 - beta1**step)
    powers = state["powers"]
    first = max(0, step - len(powers))
    tail[first:step].add_(powers[len(powers) - (step - first) :], alpha=weight)
