"""Data-parallel training on torch.distributed (launched by ``torchrun``), and thread counts.

A script that fits in one process runs unchanged on several: each process (rank)
joins torchrun's process group on its first fit, takes its slice of every batch
(``data``'s ``part_of``; the batches are the same on all ranks, drawn from the same
seed), and trains the module wrapped in ``DistributedDataParallel``, which averages
the gradients (dense ones: the embedding tables take dense updates there). Batch
normalisation's running statistics, which each rank updates from its own slice, are
averaged across the ranks after each epoch's training pass, so every parameter and
buffer agrees before validation. Each validation batch is split the same way: every
rank infers its slice and the slices are gathered, so every rank scores the whole
validation split, and early stopping decides the same everywhere; the module is
unwrapped after training, so each rank ends with an ordinary fitted estimator.
"""

import contextlib
import os
import sys

import torch
from torch import distributed, nn
from torch.nn.parallel import DistributedDataParallel


def world(device):
    """Return ``(rank, world_size)``, joining torchrun's process group on first use.

    ``(0, 1)`` outside a distributed job. The backend is gloo on the CPU and NCCL
    on CUDA devices.
    """
    if not distributed.is_available():
        return 0, 1
    if not distributed.is_initialized():
        if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
            return 0, 1
        cuda = torch.device(device).type == "cuda"
        store, rank_, size = next(distributed.rendezvous("env://"))
        # torchrun keeps its store across the restarts of a group (--max-restarts), and
        # the ranks' addresses of a dead attempt are still in it: a restarted rank could
        # read them and fail to connect. Each attempt's keys go under a prefix of their own.
        attempt = os.environ.get("TORCHELASTIC_RESTART_COUNT", "0")
        store = distributed.PrefixStore(f"sklearn_deepfm/attempt_{attempt}", store)
        distributed.init_process_group(
            "nccl" if cuda else "gloo", store=store, rank=rank_, world_size=size
        )
    return distributed.get_rank(), distributed.get_world_size()


def rank():
    """Return this process's rank, 0 outside a distributed job."""
    if distributed.is_available() and distributed.is_initialized():
        return distributed.get_rank()
    return 0


def verbosity(verbose):
    """``verbose``, on rank 0 of a data-parallel fit only: one log, not one per process."""
    return verbose if rank() == 0 else 0


def sparse_gradients_allowed():
    """Tell whether the embedding tables may produce sparse gradients: outside a data-parallel fit.

    NCCL cannot average sparse gradients, and gloo's sparse all-reduce corrupted the
    heap under load here (torch 2.13, CPU: ``malloc(): unaligned tcache chunk`` and an
    abort in 3 of 40 two-process fits beside a busy process, none in 20 dense ones). Dense
    gradients were also the faster on Frappe 202k (``benchmarks/README.md``).
    """
    return world_size() == 1


def unwrapped(module):
    """Return the module that a DistributedDataParallel wraps, or ``module`` itself.

    During a data-parallel epoch ``net.module_`` is the wrapper: what a checkpoint
    saves of it is the module inside.
    """
    return module.module if isinstance(module, DistributedDataParallel) else module


def world_size():
    """Return the number of processes of the data-parallel job, 1 outside one."""
    if distributed.is_available() and distributed.is_initialized():
        return distributed.get_world_size()
    return 1


def gathered_rows(mine, n_rows):
    """Return the ``n_rows`` rows whose slices (``data.part_of``'s) the ranks hold, on every rank.

    ``mine`` is this rank's slice; all_gather wants equal shapes, so the slices
    travel padded to the largest.
    """
    size = world_size()
    if size == 1:
        return mine
    sizes = [n_rows * (r + 1) // size - n_rows * r // size for r in range(size)]
    padded = mine.new_zeros((max(sizes), *mine.shape[1:]))
    padded[: len(mine)] = mine
    slices = [torch.empty_like(padded) for _ in range(size)]
    distributed.all_gather(slices, padded)
    return torch.cat([rows[:n] for rows, n in zip(slices, sizes, strict=True)])


def average_batch_norm(module):
    """Average the batch-norm running means and variances of ``module`` across the ranks.

    DistributedDataParallel broadcasts rank 0's buffers at each forward pass, but the
    last batches of an epoch update each rank's from its own slice: without this the
    ranks would predict differently.
    """
    if not (distributed.is_available() and distributed.is_initialized()):
        return
    size = distributed.get_world_size()
    if size == 1:
        return
    with torch.no_grad():
        for norm in unwrapped(module).modules():
            if isinstance(norm, nn.modules.batchnorm._BatchNorm) and norm.track_running_stats:
                for statistic in (norm.running_mean, norm.running_var):
                    distributed.all_reduce(statistic)
                    statistic /= size


@contextlib.contextmanager
def data_parallel(net, world_size):
    """Train ``net.module_`` wrapped in DistributedDataParallel; unwrap it afterwards."""
    if world_size == 1:
        yield
        return
    module = net.module_
    device_ids = None
    if next(module.parameters()).device.type == "cuda":
        device_ids = [next(module.parameters()).device.index]
    # no broadcast of rank 0's buffers before every forward (one collective a step):
    # batch-norm statistics are averaged once an epoch instead (average_batch_norm)
    net.module_ = DistributedDataParallel(module, device_ids=device_ids, broadcast_buffers=False)
    try:
        yield
    finally:
        net.module_ = module


def threads_wanted(n_threads):
    """Return the torch thread count a fit or prediction should use, or None to leave it.

    An int is taken as is. None uses the thread count of the Dask worker running
    this code (so that a cluster search does not oversubscribe its cores), and
    leaves torch's setting alone elsewhere.
    """
    if n_threads is not None:
        return n_threads
    if "distributed" not in sys.modules:  # dask.distributed not even imported: no worker
        return None
    try:
        from distributed import get_worker

        worker = get_worker()
    except (ImportError, ValueError):  # ValueError: not inside a worker
        return None
    state = getattr(worker, "state", worker)
    return getattr(state, "nthreads", None)


@contextlib.contextmanager
def torch_threads(n_threads):
    """Run with ``threads_wanted(n_threads)`` torch threads, restoring the count after."""
    wanted = threads_wanted(n_threads)
    before = torch.get_num_threads()
    if wanted is None or wanted == before:
        yield
        return
    torch.set_num_threads(wanted)
    try:
        yield
    finally:
        torch.set_num_threads(before)
