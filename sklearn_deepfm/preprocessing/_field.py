"""The field of one input column: what every kind of field answers to.

``FieldEncoder`` keeps one field object per column and loops over them; each kind
(``_vocabulary``: categorical and log_square, ``_numeric``: quantile and value,
``_multi_valued``) owns its fit, its partial fit, its codes, their meanings and its
fitted state. Every field here writes one output column; a multi-valued one writes
``width``.
"""

import sys

import numpy as np
import pandas as pd

from . import _lookup

# The kinds of field, as ``numeric_encoding`` and the model file name them.
CATEGORICAL, QUANTILE, LOG_SQUARE, VALUE = "categorical", "quantile", "log_square", "value"
# A list of values per row, written as several columns (see ``_multi_valued``).
MULTI_VALUED = "multi_valued"
# Categories hashed into a fixed number of codes (see ``_hashed``).
HASHED = "hashed"

# Modules whose frames a warning skips to reach the user's code.
_OWN_MODULES = ("sklearn_deepfm.", "sklearn.")


class Field:
    """Base of the fields: one input column, fitted and encoded as one kind.

    Parameters
    ----------
    label : str
        How error messages and warnings name the column (``'site'``, or its position).

    Attributes
    ----------
    kind : str
        The field's kind, as the model file names it.
    categories : ndarray or None
        What ``FieldEncoder.categories_`` shows for the field.
    cardinality : int
        Number of codes, the reserved code 0 included (1 for a value field).
    missing_code : int
        Code of missing values, 0 when fit saw none.
    width : int
        Number of output columns.
    n_truncated : int
        Rows whose lists fit cut to ``width`` values (multi-valued fields).
    is_value : bool
        Whether the field writes a standardized value instead of a code.
    has_slots : bool
        Whether the field writes a list of codes into ``width`` slots.
    """

    kind = None
    categories = None
    cardinality = 1
    missing_code = 0
    width = 1
    n_truncated = 0
    is_value = False
    has_slots = False

    def __init__(self, label):
        self.label = label

    @classmethod
    def from_state(cls, state, j, label):
        """Return the field that ``get_state`` described; ``j`` numbers it in errors."""
        raise NotImplementedError

    def fit(self, values):
        """Fit the field on a whole column (a Series, pandas array or ndarray)."""
        raise NotImplementedError

    def partial_fit(self, values):
        """Add one chunk of the column to the field's running summary.

        The fitted state follows the summary only once ``finish_partial_fit`` is called.
        """
        raise NotImplementedError

    def finish_partial_fit(self):
        """Set the fitted state from the chunks that ``partial_fit`` has seen so far."""
        raise NotImplementedError

    def grow(self, values, fresh):
        """Warm start: read a whole column, and return what adds its codes, moving none.

        ``fresh`` is the unfitted field that the current parameters make of the column;
        a field of another description (``describe``) is refused. The field changes only
        when the returned function (of no argument) is called: ``FieldEncoder`` reads
        every column first, so that an error in one leaves every field as it was.
        """
        self.check_growable(fresh)
        return _nothing

    def describe(self):
        """Return what the parameters made of the column, in words."""
        return f"a {self.kind} field"

    def check_growable(self, fresh):
        """Refuse a warm start whose parameters or data make the column another field."""
        if fresh.describe() != self.describe():
            raise ValueError(
                f"FieldEncoder.fit: warm_start=True keeps the fitted fields, but column "
                f"{self.label} was fitted as {self.describe()} and the current parameters "
                f"and data make it {fresh.describe()}. Restore the parameters (or the "
                "column's dtype), or refit with warm_start=False."
            )

    def transform(self, values, few):
        """Return the codes of a column, one per row (a list or an ndarray).

        ``few``: the column has few rows, so try the Python dict look-ups of
        ``_lookup`` first; they return None where the vectorised kernels must serve.
        """
        codes = self._lookup(_lookup.python_values(values)) if few else None
        if codes is None:
            if not isinstance(values, np.ndarray | pd.Series):  # a pandas array
                values = pd.Series(values, copy=False)
            codes = self._encode(values)
        return codes

    def inverse_transform(self, codes):
        """Return what each code (a float64 array, as ``transform`` gave them) stands for."""
        self._check_codes(codes)
        return self._meanings()[codes.astype(np.intp)]

    def output_index(self, columns):
        """Return where the field's codes go in the output, given its slice of ``columns``.

        One column here (an int index, as cheap as indexing gets: a one-row transform
        writes every field); a field with slots writes the whole slice.
        """
        return columns.start

    def output_names(self, name):
        """Return the names of the field's output columns, the column being ``name``."""
        return [name]

    def get_state(self):
        """Return the fitted state as plain Python values, as the model file stores it."""
        return {
            "kind": self.kind,
            "cardinality": int(self.cardinality),
            "missing_code": int(self.missing_code),
        }

    def __eq__(self, other):
        # equal fields encode alike: a field restored from a model file equals its original
        return (
            type(other) is type(self)
            and other.label == self.label
            and other.get_state() == self.get_state()
        )

    def _lookup(self, cells):
        """Codes of a few Python values, or None where ``_encode`` must serve."""
        raise NotImplementedError

    def _encode(self, values):
        """Codes of a column (a Series or ndarray), by the vectorised kernels."""
        raise NotImplementedError

    def _meanings(self):
        """Object array of what each code stands for (see ``_encode.code_meanings``)."""
        raise NotImplementedError

    def _check_codes(self, codes):
        bad = (codes != np.round(codes)) | (codes < 0) | (codes >= self.cardinality)
        if bad.any():
            raise ValueError(
                f"FieldEncoder.inverse_transform: codes of column {self.label} must "
                f"be integers in [0, {self.cardinality}); got {codes[bad][0]!r}. "
                "Pass the output of transform."
            )

    @classmethod
    def _inconsistent(cls, j, state):
        """Return the error of a model file whose field ``j``, ``state``, contradicts itself."""
        return ValueError(f"the {cls.kind} field {j} ({state['name']!r}) is inconsistent.")


def _nothing():
    """Do nothing: the growth of a field that a warm start leaves as it is (``Field.grow``)."""


def caller_level():
    """Return the stack level of the first caller outside sklearn-deepfm and scikit-learn.

    So that a warning points at the user's ``fit`` or ``transform`` line, however many
    wrappers (``_fit_context``, ``set_output``, a Pipeline) lie in between.
    """
    frame, level = sys._getframe(1), 1
    while frame is not None and frame.f_globals.get("__name__", "").startswith(_OWN_MODULES):
        frame, level = frame.f_back, level + 1
    return level
