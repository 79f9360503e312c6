"""Memory for training: large tables on huge pages, a step's temporaries kept for the next.

A sparse step gathers and scatters a few thousand random rows of each embedding table
and of its optimizer's moments. In tables of hundreds of megabytes on 4 KiB pages
nearly every row misses the TLB; on 2 MiB pages far fewer do. Linux backs memory with
huge pages where it is asked to (``madvise(MADV_HUGEPAGE)``, before the memory is first
written), or everywhere when its setting is "always"; elsewhere this is a no-op.

A step's temporaries (a batch's embeddings: 5 MB at the default batch of 1024) are
above the size from which glibc's ``malloc`` maps fresh pages from the kernel and
returns them when freed (128 KiB at first). glibc raises that threshold to the size of
a freed mapped block, up to 32 MiB, and gives back the top of its heap above twice it.
On the first fit of a process, before any large block was freed, every step faulted
its temporaries in again: about 3,200 page faults a step, a fifth of the default
network's step (``benchmarks/README.md``, "Training speed"). ``reuse_freed_memory``
frees one 32 MiB block before training, as a long-running process would have.
"""

import ctypes
import functools
import mmap
import platform
import sys

import torch

# Tables from this size on ask for huge pages: smaller ones fit the TLB's reach anyway,
# and a 2 MiB page would round a small table's memory up.
HUGE_PAGE_MIN_BYTES = 64 << 20
_MADV_HUGEPAGE = 14  # <sys/mman.h>, Linux
_PAGE_BYTES = 4096
# glibc raises its mmap threshold to a freed mapped block of at most this size
# (DEFAULT_MMAP_THRESHOLD_MAX on 64-bit), its trim threshold to twice that.
_GLIBC_MAX_DYNAMIC_THRESHOLD = 32 << 20


def empty_table(n_rows: int, width: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Return an uninitialised CPU tensor ``(n_rows, width)``, on huge pages when large.

    Write it only after this call: huge pages are taken when memory is first touched.
    """
    table = torch.empty((n_rows, width), dtype=dtype)
    if table.numel() * table.element_size() >= HUGE_PAGE_MIN_BYTES:
        advise_huge_pages(table)
    return table


def zeros_like_table(tensor: torch.Tensor) -> torch.Tensor:
    """Return ``torch.zeros_like(tensor)``, a CPU one of a large table on huge pages.

    A large one is fresh anonymous memory, which the kernel zeroes as each page is
    first touched: ``zeros_like`` would have every page zeroed and then written with
    zeros again, and all at once, in the first step of ``CatchUpAdam``.
    """
    nbytes = tensor.numel() * tensor.element_size()
    if tensor.device.type != "cpu" or nbytes < HUGE_PAGE_MIN_BYTES or _madvise() is None:
        return torch.zeros_like(tensor)
    table = torch.frombuffer(mmap.mmap(-1, nbytes), dtype=tensor.dtype).view(tensor.shape)
    advise_huge_pages(table)
    return table


def empty_rows_like(tensor: torch.Tensor, n_rows: int) -> torch.Tensor:
    """Return an uninitialised ``(n_rows, *tensor.shape[1:])`` tensor like ``tensor``.

    A table (two dimensions, on the CPU) of ``HUGE_PAGE_MIN_BYTES`` or more is on huge
    pages (``empty_table``): a grown table, or the grown moments of one.
    """
    if tensor.device.type != "cpu" or tensor.dim() != 2:
        return tensor.new_empty((n_rows, *tensor.shape[1:]))
    return empty_table(n_rows, tensor.shape[1], dtype=tensor.dtype)


def advise_huge_pages(tensor: torch.Tensor) -> bool:
    """Ask Linux to back the whole 4 KiB pages of ``tensor``'s memory with huge pages.

    Returns whether the request was made and accepted; False off Linux, where libc
    is not found, or when the kernel refuses (transparent huge pages "never").
    """
    madvise = _madvise()
    if madvise is None or tensor.device.type != "cpu":
        return False
    start = tensor.data_ptr()
    end = start + tensor.numel() * tensor.element_size()
    first = -(-start // _PAGE_BYTES) * _PAGE_BYTES
    last = end // _PAGE_BYTES * _PAGE_BYTES
    return last > first and madvise(first, last - first, _MADV_HUGEPAGE) == 0


@functools.cache  # once a process: glibc never lowers the threshold again
def reuse_freed_memory() -> bool:
    """Have glibc keep freed blocks of up to 32 MiB for reuse, instead of unmapping them.

    Allocates and frees one block just under 32 MiB without touching it (no page is
    faulted in): glibc then serves smaller requests from its heap and keeps up to
    64 MiB of it free, so that a training step reuses the pages the step before freed.
    Nothing is changed where the threshold was set by ``mallopt`` or
    ``MALLOC_MMAP_THRESHOLD_``, or off glibc.

    Returns whether the block was freed through glibc.
    """
    if not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc":
        return False
    # torch's CPU allocator adds its alignment and glibc a page of bookkeeping
    block = torch.empty(_GLIBC_MAX_DYNAMIC_THRESHOLD - (64 << 10), dtype=torch.uint8)
    del block
    return True


@functools.cache
def _madvise():
    if not sys.platform.startswith("linux"):
        return None
    try:
        madvise = ctypes.CDLL(None, use_errno=True).madvise
    except (OSError, AttributeError):
        return None
    madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    madvise.restype = ctypes.c_int
    return madvise
