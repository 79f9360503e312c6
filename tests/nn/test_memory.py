"""Large tables ask Linux for huge pages (MADV_HUGEPAGE): the mapping holding them says so."""

import sys
from pathlib import Path

import pytest
import torch

from sklearn_deepfm.nn import (
    CatchUpAdam,
    FieldEmbedding,
    _memory,
    grow_optimizer_state,
    grow_tables,
)
from sklearn_deepfm.nn._memory import HUGE_PAGE_MIN_BYTES, advise_huge_pages, empty_table

THP = Path("/sys/kernel/mm/transparent_hugepage/enabled")
pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux") or not THP.exists() or "[never]" in THP.read_text(),
    reason="transparent huge pages: Linux only, and not when the kernel's setting is never",
)


def advised(tensor):
    """Whether the memory mapping at the middle of ``tensor`` carries MADV_HUGEPAGE ("hg").

    The advice covers the tensor's whole pages, so the partial first one keeps the
    flags it had: the middle is inside.
    """
    address = tensor.data_ptr() + tensor.numel() * tensor.element_size() // 2
    mapping = None
    for line in Path("/proc/self/smaps").read_text().splitlines():
        head = line.split()[0]
        if "-" in head and ":" not in head:  # a mapping's first line: its address range
            low, high = (int(part, 16) for part in head.split("-"))
            mapping = low <= address < high
        elif mapping and line.startswith("VmFlags:"):
            return "hg" in line.split()[1:]
    raise AssertionError("no mapping holds the tensor")


def test_a_large_table_is_advised_and_a_small_one_is_not(monkeypatch):
    rows = HUGE_PAGE_MIN_BYTES // (4 * 8) + 1
    assert advised(empty_table(rows, 8))
    # a small table's memory may share a mapping advised before: count the requests
    requests = []
    monkeypatch.setattr(_memory, "advise_huge_pages", requests.append)
    empty_table(1_000, 8)
    assert requests == []
    empty_table(rows, 8)
    assert len(requests) == 1


def test_advice_keeps_the_values():
    table = torch.arange(3 * (1 << 20), dtype=torch.float32).reshape(-1, 4)
    assert advise_huge_pages(table)
    assert torch.equal(table, torch.arange(3 * (1 << 20), dtype=torch.float32).reshape(-1, 4))


def test_embedding_tables_and_their_moments_are_advised():
    cardinality = HUGE_PAGE_MIN_BYTES // (4 * 16) + 1
    embedding = FieldEmbedding([cardinality], 16, sparse=True)
    weight = embedding.embedding.weight
    assert advised(weight)
    assert weight.std().item() == pytest.approx(0.01, rel=0.01)  # initialised as before
    optimizer = CatchUpAdam([weight])
    embedding(torch.tensor([[0], [5]])).sum().backward()
    optimizer.step()
    assert advised(optimizer.state[weight]["exp_avg"])
    assert advised(optimizer.state[weight]["exp_avg_sq"])


def test_grown_tables_and_their_moments_stay_advised():
    cardinality = HUGE_PAGE_MIN_BYTES // (4 * 16) + 1
    embedding = FieldEmbedding([cardinality], 16, sparse=True)
    weight = embedding.embedding.weight
    optimizer = CatchUpAdam([weight])
    embedding(torch.tensor([[0], [5]])).sum().backward()
    optimizer.step()
    before = weight.detach()[:10].clone()
    positions = grow_tables(embedding, [cardinality + 100])
    grow_optimizer_state(optimizer, positions)
    assert len(weight) == cardinality + 100 and torch.equal(weight.detach()[:10], before)
    assert advised(weight)
    assert advised(optimizer.state[weight]["exp_avg"])
    assert advised(optimizer.state[weight]["exp_avg_sq"])


def resident_bytes():
    return int(Path("/proc/self/statm").read_text().split()[1]) * 4096


def test_large_moments_are_zeroed_by_the_kernel_as_rows_are_first_written():
    rows = 2 * HUGE_PAGE_MIN_BYTES // (4 * 16)
    embedding = FieldEmbedding([rows], 16, sparse=True)
    weight = embedding.embedding.weight
    before = resident_bytes()
    optimizer = CatchUpAdam([weight])
    embedding(torch.tensor([[3], [rows - 1]])).sum().backward()
    optimizer.step()
    # two moments of 128 MiB, of which only the pages of rows 3 and rows - 1 are written
    assert resident_bytes() - before < HUGE_PAGE_MIN_BYTES // 4
    moments = optimizer.state[weight]["exp_avg"]
    assert torch.count_nonzero(moments) == 2 * 16
    assert torch.allclose(moments[[3, rows - 1]], torch.full((2, 16), 0.1))
