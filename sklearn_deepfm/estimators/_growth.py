"""Continued training on data with new codes: the fields grow, and the network with them.

Daily logs bring new ids, which an encoder refitted with ``warm_start`` codes after the
codes it gave before. A later ``partial_fit``, or ``fit`` with ``warm_start``, takes a
code beyond ``cardinalities_`` as a new row of its field: each field grows to its largest
code plus one (for ``ParquetShards``, to the cardinalities the shards store), and never
shrinks. The network's tables and its optimizers' per-row state grow with the fields
(``nn.grow_tables``), and so do the network's arguments, which a saved model is rebuilt
from. The columns, which of them are values and how slots group into fields stay those
of the first fit: they are checked as before.
"""

import numpy as np
import torch

from ..nn import grow_optimizer_state, grow_tables
from ._validation import check_codes, check_table_size, group_fields, names_of


class GrowingFieldsMixin:
    """The growth of ``BaseDeepFM``'s fields, and of its network, for new codes."""

    def _grow_for_codes(self, X):
        """Grow the fields to hold the codes of validated ``X``, refusing codes as before."""
        self._grow_fields(
            grown_cardinalities(
                X,
                self.value_fields_,
                self.cardinalities_,
                self.embedding_dim,
                self.device,
                names_of(self),
            )
        )

    def _grow_fields(self, cardinalities):
        """Grow the fields to per-column ``cardinalities``, the network's tables with them.

        A multi-valued field's slots share one table, so they grow together, to the
        largest of them.
        """
        cardinalities = group_fields(names_of(self), self.value_fields_, cardinalities)[1]
        if np.array_equal(cardinalities, self.cardinalities_):
            return
        per_field = [int(cardinalities[columns.start]) for columns in self.field_slices_]
        self._torch_rng_state, positions = grow_net(self.net_, per_field, self._torch_rng_state)
        self.cardinalities_ = cardinalities
        self._grow_row_state(positions)

    def _grow_row_state(self, positions):
        """Grow the estimator's own per-row state of the tables: a hook, nothing here.

        ``positions`` maps each grown table's weight to the new rows of its old rows.
        """


def grown_cardinalities(X, value_fields, cardinalities, embedding_dim, device, names):
    """Return each column's cardinality grown to hold the codes of validated ``X``.

    A code column grows to its largest code plus one when that is larger; negative
    and fractional codes are refused as before, and codes too large for the device's
    memory as in a first fit. ``names`` names the columns in errors.
    """
    codes = X[:, ~value_fields] if value_fields.any() else X
    grown = cardinalities.copy()
    if codes.size:
        largest = np.maximum(codes.max(axis=0), cardinalities[~value_fields] - 1)
        check_table_size(largest, value_fields, embedding_dim, device, names)
        grown[~value_fields] = np.floor(largest).astype(np.int64) + 1
    check_codes(X, value_fields, grown, names, growing=True)  # negative and fractional codes
    return grown


def stored_cardinalities(data, cardinalities):
    """Return each column's cardinality grown to those that ``data`` and its validation store.

    Shards of other columns leave the cardinalities as they are, for
    ``ParquetShards.check_fields`` to refuse them.
    """
    grown = cardinalities.copy()
    for part in (data, data.validation):
        if part is None:
            continue
        stored = np.asarray(part.fields_["cardinalities"], dtype=np.int64)
        if stored.shape == grown.shape:
            grown = np.maximum(grown, stored)
    return grown


def grow_net(net, cardinalities, rng_state):
    """Grow a fitted skorch ``net``'s tables to the per-field ``cardinalities``.

    The new embedding rows are drawn from ``rng_state``, the fit's random stream, so
    that continued training stays reproducible. Return the stream after the draws, and
    ``grow_tables``' new position of each old row, by table weight.
    """
    generator = torch.Generator()
    generator.set_state(rng_state)
    positions = grow_tables(net.module_, cardinalities, generator)
    for optimizer in net.optimizers().values():
        grow_optimizer_state(optimizer, positions)
    # the argument a saved model rebuilds its module from; set_params would re-initialise
    # the module, so the attribute is set as skorch stores it
    net.module__cardinalities = list(cardinalities)
    return generator.get_state(), positions
