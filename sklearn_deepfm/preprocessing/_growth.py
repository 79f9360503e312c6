"""Warm starts of a vocabulary: new values appended after the codes it has, none moved.

A network trained on yesterday's codes reads an embedding row per code, so a refit
that renumbered the values would invalidate it. ``FieldEncoder(warm_start=True)``
keeps, for each vocabulary field, the counts of the values its fits left out (rarer
than ``min_frequency``, or beyond ``max_categories``): ``HeldCounts``.
``grow_vocabulary`` adds the counts of new data to them and appends the values that
now pass, sorted as a first fit sorts them, missing values last.
"""

import numpy as np
import pandas as pd

from ._encode import frequent_mask, sort_order


class HeldCounts:
    """The counts of the values a vocabulary left out, over every fit so far.

    Parameters
    ----------
    values : pandas.Index, default=None
        The non-missing values left out; None for none.
    counts : array-like of int, default=None
        How often each was seen.
    n_missing : int, default=0
        Missing values seen while they have no code (0 once they have one).
    n_rows : int, default=0
        The rows seen, of which a float ``min_frequency`` is a fraction.

    Examples
    --------
    >>> import pandas as pd
    >>> held = HeldCounts.left_out(pd.Index(["a"]), 0, pd.Index(["a", "b"]), [3, 1], 2, 6)
    >>> held.values.tolist(), held.counts.tolist(), held.n_missing, held.n_rows
    (['b'], [1], 2, 6)
    """

    def __init__(self, values=None, counts=None, n_missing=0, n_rows=0):
        self.values = pd.Index([], dtype=object) if values is None else values
        self.counts = np.asarray([] if counts is None else counts, dtype=np.int64)
        self.n_missing, self.n_rows = int(n_missing), int(n_rows)

    @classmethod
    def left_out(cls, known, missing_code, uniques, counts, n_missing, n_rows):
        """Return the counts of what a vocabulary (``known``, ``missing_code``) lacks."""
        counts = np.asarray(counts, dtype=np.int64)
        out = _unknown(known, uniques) & (counts > 0)  # categories unseen in a column: 0
        return cls(uniques[out], counts[out], 0 if missing_code else n_missing, n_rows)

    @classmethod
    def from_state(cls, state):
        """Return the counts that ``get_state`` described."""
        values = pd.Index(list(state["categories"]), tupleize_cols=False)
        held = cls(values, state["counts"], state["n_missing"], state["n_rows"])
        valid = len(held.counts) == len(values) and values.is_unique and (held.counts >= 1).all()
        if not valid or held.n_missing < 0 or held.n_rows < 0:
            raise ValueError("the counts held for a warm start are inconsistent.")
        return held

    def get_state(self):
        """Return the counts as plain Python values, as the model file stores them."""
        return {
            "categories": self.values.tolist(),
            "counts": self.counts.tolist(),
            "n_missing": self.n_missing,
            "n_rows": self.n_rows,
        }


def grow_vocabulary(
    known, missing_code, held, uniques, counts, n_missing, n_rows, *, min_frequency, max_categories
):
    """Choose the values a vocabulary appends, from its held counts and new data's counts.

    Parameters
    ----------
    known : pandas.Index
        The vocabulary's non-missing values, in code order.
    missing_code : int
        Code of missing values, 0 when they have none.
    held : HeldCounts
        The counts of what earlier fits left out.
    uniques, counts, n_missing
        The new data's distinct non-missing values, their counts, and its missing
        values (``_encode.count_values``).
    n_rows : int
        The new data's rows.
    min_frequency, max_categories
        As in ``FieldEncoder``: ``min_frequency`` applies to the counts over every fit,
        a float to the rows of every fit; ``max_categories`` caps the codes of the
        whole vocabulary, the missing code included, as in a first fit.

    Returns
    -------
    added : pandas.Index
        The values to append, sorted as ``_encode.sort_order`` sorts.
    missing_added : bool
        Whether missing values get a code now, after the added values.
    held : HeldCounts
        The counts of what is still left out.
    """
    counts = np.asarray(counts, dtype=np.int64)
    new = _unknown(known, uniques) & (counts > 0)  # the values that have a code need no count
    values, value_counts = _merge(held.values, held.counts, uniques[new], counts[new])
    n_missing = 0 if missing_code else held.n_missing + n_missing
    n_rows = held.n_rows + n_rows
    room = None
    if max_categories is not None:  # a cap smaller than the vocabulary adds nothing
        room = max(max_categories - len(known) - bool(missing_code), 0)
    order = sort_order(values)
    candidate_counts = np.append(value_counts[order], n_missing)  # missing comes last
    keep = frequent_mask(candidate_counts, n_rows, min_frequency, room)
    rest = order[~keep[:-1]]
    held = HeldCounts(values.take(rest), value_counts[rest], 0 if keep[-1] else n_missing, n_rows)
    return values.take(order[keep[:-1]]), bool(keep[-1]), held


def _unknown(known, uniques):
    """Mark the values of ``uniques`` that ``known`` lacks (as ``transform`` matches them)."""
    if not len(known):
        return np.ones(len(uniques), dtype=bool)
    return known.get_indexer(uniques) < 0


def _merge(values, counts, other_values, other_counts):
    """Sum two sets of counts by value (one hash pass, no sorting)."""
    if not len(values):
        return other_values, np.asarray(other_counts, dtype=np.int64)
    if not len(other_values):
        return values, counts
    summed = pd.concat(
        [pd.Series(counts, index=values), pd.Series(other_counts, index=other_values)]
    )
    summed = summed.groupby(level=0, sort=False).sum()
    return summed.index, summed.to_numpy().astype(np.int64)
