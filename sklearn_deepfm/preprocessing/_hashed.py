"""Hashed fields: categories hashed into a fixed number of codes, with no vocabulary.

``FieldEncoder(hash_buckets=...)`` gives a categorical column the code
``1 + stable_hash(value) % n_buckets``, and missing values code 0: its cardinality is
fixed, values never seen get a code of their own bucket, and nothing is counted or
kept. The hash must give the same code in every process, on every platform and in
every later version, so it is never Python's ``hash()`` (salted per process):

- each value becomes a string (``canonical_strings``): a string as written, a boolean
  ``"0"`` or ``"1"``, an integral number its decimal integer (``5``, ``5.0`` and
  ``np.int64(5)`` all ``"5"``), another float Python's shortest round-trip ``repr``
  (``"0.5"``), anything else ``str(value)``;
- the string's UTF-8 bytes are hashed by ``pandas.util.hash_array`` with the fixed key
  ``HASH_KEY``: SipHash-2-4, then pandas' 64-bit finaliser (``x ^= x >> 30; x *=
  0xBF58476D1CE4E5B9; x ^= x >> 27; x *= 0x94D049BB133111EB; x ^= x >> 31``).

Only the distinct values of a column are turned into strings and hashed, so codes do
not depend on how pandas stores the column (object, Arrow, ``string[python]``,
category: the categories' values, never their codes).
"""

from numbers import Integral, Real

import numpy as np
import pandas as pd

from . import _encode
from ._field import HASHED, Field

# The SipHash key: 16 bytes in UTF-8, as pandas wants. Changing it changes every code.
HASH_KEY = "sklearn-deepfm/1"


def canonical_strings(values):
    """Return distinct non-missing values as the strings that are hashed (object array).

    Examples
    --------
    >>> import numpy as np
    >>> canonical_strings(np.array(["a", 5, 5.0, 0.5, True], dtype=object)).tolist()
    ['a', '5', '5', '0.5', '1']
    """
    values = np.asarray(values, dtype=object)
    if pd.api.types.infer_dtype(values, skipna=False) == "string":
        return values
    return np.array([_canonical(value) for value in values.tolist()], dtype=object)


def _canonical(value):
    if isinstance(value, str):
        return value
    if isinstance(value, bool | np.bool_):
        return "1" if value else "0"
    if isinstance(value, Integral):
        return str(int(value))
    if isinstance(value, Real):
        number = float(value)
        return str(int(number)) if number.is_integer() else repr(number)
    return str(value)


def stable_hash(strings):
    """Return the uint64 hash of each string of an object array (see the module docstring)."""
    return pd.util.hash_array(strings, encoding="utf8", hash_key=HASH_KEY, categorize=False)


def hash_codes(values, n_buckets, label):
    """Return ``1 + stable_hash(value) % n_buckets`` for each value of a column, 0 if missing.

    Examples
    --------
    >>> import pandas as pd
    >>> codes = hash_codes(pd.Series(["a", None, "a", 7]), 10, "'site'")
    >>> codes[0] == codes[2], codes[1], bool(1 <= codes[3] <= 10)
    (np.True_, np.int64(0), True)
    """
    try:
        rows, uniques = pd.factorize(values, use_na_sentinel=True)
    except TypeError as exc:
        if "unhashable" not in str(exc):
            raise
        _encode.check_hashable(np.asarray(values, dtype=object), label)  # raises, naming it
        raise  # pragma: no cover - check_hashable raised
    buckets = stable_hash(canonical_strings(uniques)) % np.uint64(n_buckets)
    buckets = buckets.astype(np.int64) + 1
    codes = np.zeros(len(rows), dtype=np.int64)
    present = rows >= 0  # missing values: -1, code 0
    codes[present] = buckets[rows[present]]
    return codes


class HashedField(Field):
    """A categorical column hashed into ``n_buckets`` codes; missing values code 0.

    Nothing is learned: ``fit``, ``partial_fit`` and a warm start (``grow``, which
    refuses another number of buckets) leave it as made.

    Parameters
    ----------
    label : str
        How errors name the column.
    n_buckets : int
        The number of buckets; the field has ``n_buckets + 1`` codes.

    Examples
    --------
    >>> import pandas as pd
    >>> field = HashedField("'site'", n_buckets=1000).fit(pd.Series(["a", "b"]))
    >>> field.cardinality, field.transform(pd.Series(["a", None]), few=False)[1]
    (1001, np.int64(0))
    """

    kind = HASHED

    def __init__(self, label, *, n_buckets):
        super().__init__(label)
        self.n_buckets = n_buckets
        self.cardinality = n_buckets + 1

    @classmethod
    def from_state(cls, state, j, label):
        """Return the field that ``get_state`` described; ``j`` numbers it in errors."""
        n_buckets = state.get("n_buckets")
        if state.get("hash_key") != HASH_KEY:
            raise ValueError(
                f"the hashed field {j} ({state['name']!r}) hashes with the key "
                f"{state.get('hash_key')!r}; this version hashes with {HASH_KEY!r} only. "
                "It may come from a newer sklearn-deepfm: upgrade to load it."
            )
        valid = type(n_buckets) is int and n_buckets >= 1 and state["missing_code"] == 0
        if not valid or state["cardinality"] != n_buckets + 1:
            raise cls._inconsistent(j, state)
        return cls(label, n_buckets=n_buckets)

    def fit(self, values):
        """Learn nothing: the buckets are fixed."""
        return self

    def partial_fit(self, values):
        """Learn nothing: the buckets are fixed."""
        return self

    def finish_partial_fit(self):
        """Nothing to finish."""

    def describe(self):
        """Return what the parameters made of the column, in words."""
        return f"a hashed field of {self.n_buckets} buckets"

    def inverse_transform(self, codes):
        """Return NaN for code 0 (missing) and None for a bucket: a hash names no value."""
        self._check_codes(codes)
        out = np.full(len(codes), None, dtype=object)
        out[codes == 0] = np.nan
        return out

    def get_state(self):
        """Return the fitted state: the number of buckets and the hash key."""
        return {**super().get_state(), "n_buckets": int(self.n_buckets), "hash_key": HASH_KEY}

    def _lookup(self, cells):
        return None  # the vectorised kernel serves every batch

    def _encode(self, values):
        return hash_codes(values, self.n_buckets, self.label)
