"""Large tables on transparent huge pages: fewer TLB misses when a step reads rows at random.

A sparse step gathers and scatters a few thousand random rows of each embedding table
and of its optimizer's moments. In tables of hundreds of megabytes on 4 KiB pages
nearly every row misses the TLB; on 2 MiB pages far fewer do. Linux backs memory with
huge pages where it is asked to (``madvise(MADV_HUGEPAGE)``, before the memory is first
written), or everywhere when its setting is "always"; elsewhere this is a no-op.
"""

import ctypes
import functools
import sys

import torch

# Tables from this size on ask for huge pages: smaller ones fit the TLB's reach anyway,
# and a 2 MiB page would round a small table's memory up.
HUGE_PAGE_MIN_BYTES = 64 << 20
_MADV_HUGEPAGE = 14  # <sys/mman.h>, Linux
_PAGE_BYTES = 4096


def empty_table(n_rows: int, width: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Return an uninitialised CPU tensor ``(n_rows, width)``, on huge pages when large.

    Write it only after this call: huge pages are taken when memory is first touched.
    """
    table = torch.empty((n_rows, width), dtype=dtype)
    if table.numel() * table.element_size() >= HUGE_PAGE_MIN_BYTES:
        advise_huge_pages(table)
    return table


def zeros_like_table(tensor: torch.Tensor) -> torch.Tensor:
    """Return ``torch.zeros_like(tensor)``, a CPU one of a large table on huge pages."""
    return empty_rows_like(tensor, len(tensor)).zero_()


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
