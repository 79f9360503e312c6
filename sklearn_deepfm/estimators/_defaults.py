"""The "auto" settings of the estimators' parameters, as rules on the training data.

``early_stopping``, ``refit`` and ``batch_size`` follow the number of rows (the batch up
to each estimator's ceiling), the classifier's ``batch_norm`` and linear start its
class counts, and its large-data settings (``embedding_l2``, ``plateau_factor``, the
ceiling of ``batch_size``, hence ``sparse_embeddings``) its class counts and tables. The
figures behind each rule are in the user guide's "The defaults, and why"
(``docs/guide/estimators.rst``) and in ``benchmarks/README.md``.
"""

import numpy as np
import torch

# With early_stopping="auto", hold out a validation split from this many rows on.
_AUTO_EARLY_STOPPING_MIN_SAMPLES = 2_000
# With refit="auto", retrain on all rows below this many: there the held-out tenth
# is worth most and a second training costs seconds to a minute.
_AUTO_REFIT_MAX_SAMPLES = 100_000
# batch_size="auto": about this many steps an epoch on small data, so that a few
# thousand rows train as far in a few epochs as large data does in one; the batch
# stays between the two bounds (large batches are fast per row).
_AUTO_STEPS_PER_EPOCH = 32
_AUTO_BATCH_MIN, AUTO_BATCH_MAX = 16, 1024
# The regressor's "auto" stops at 256 rows: its batches of 1024 did worse on
# MovieLens 100K ratings than 256 (benchmarks/README.md).
AUTO_BATCH_MAX_REGRESSION = 256
# batch_norm="auto": batch normalisation from this many training rows of each class on.
_AUTO_BATCH_NORM_MIN_CLASS_ROWS = 5_000
# The linear start needs this many training rows of each class: its score on the
# validation split decides whether it is kept, and a dozen positives there make that
# score noise (TalkingData, 151 training positives: the start lost 0.005 AUC and fell
# behind LR's log loss).
LINEAR_START_MIN_CLASS_ROWS = 500
# ... and at most this many rows: it fits on a one-hot matrix of about 12 bytes a cell,
# three times int32 codes, and larger data may be memory-mapped for want of memory.
LINEAR_START_MAX_ROWS = 500_000
# The classifier's embedding_l2="auto" and plateau_factor="auto": this penalty on the
# whole tables and this decay of the learning rates from this many training rows of
# each class on (with tables of at most _AUTO_DENSE_TABLE_MAX_ROWS), where the
# validation tenth holds 5,000 of each. On fewer, a chance miss of the noisier
# validation score decays the rates early and stalls training (Frappe 38k: one seed of
# three lost 0.013 AUC; TalkingData -0.007).
_AUTO_LARGE_MIN_CLASS_ROWS = 50_000
_AUTO_EMBEDDING_L2 = 0.003
_AUTO_PLATEAU_FACTOR = 0.1
# ... and the classifier's batch_size="auto" takes batches of up to this many rows there
# (FuxiCTR's): the same AUC on Frappe 260k as 1024 in 0.7 times the fit time.
AUTO_BATCH_MAX_LARGE = 4096
# sparse_embeddings="auto": dense tables, whose penalty acts on every row each step, up
# to this many rows; there a dense Adam step over the tables costs little beside the
# batch's, and the penalty on only the rows each batch uses lost 0.0013 AUC on Frappe
# 260k (benchmarks/README.md).
_AUTO_DENSE_TABLE_MAX_ROWS = 100_000


def early_stopping_on(early_stopping, n_rows):
    """Return whether ``early_stopping`` ("auto" or bool) holds out a split of ``n_rows`` rows."""
    if early_stopping == "auto":
        return n_rows >= _AUTO_EARLY_STOPPING_MIN_SAMPLES
    return early_stopping


def refit_on(refit, n_rows):
    """Return whether ``refit`` ("auto" or bool) retrains on all ``n_rows`` rows."""
    if refit == "auto":
        return n_rows < _AUTO_REFIT_MAX_SAMPLES
    return refit


def batch_size_for(batch_size, n_train, max_batch=AUTO_BATCH_MAX, processes=1):
    """Return the rows per step for ``n_train`` rows: ``batch_size`` capped, or "auto"'s.

    ``max_batch`` is the largest batch "auto" takes (the estimator's ceiling). In a
    data-parallel fit of ``processes`` ranks, an int ``batch_size`` is the global batch
    (the steps of one process, to float rounding), while "auto" gives each rank the
    batch it gives the rank's share of the rows: the same steps as one process on small
    data, ``processes`` times the rows per step on large data, where a step's fixed
    cost and the gradients' all-reduce are then paid once per ``processes`` batches.
    """
    if batch_size == "auto":
        return processes * auto_batch_size(n_train // processes, max_batch)
    return max(1, min(batch_size, n_train))


def batch_norm_for(batch_norm, train):
    """Return whether the hidden layers get batch normalisation: ``batch_norm``, or "auto"'s.

    "auto" (the classifier's) decides from the class counts of ``train``, a ``FieldData``.
    """
    if batch_norm != "auto":
        return batch_norm
    return auto_batch_norm(train.class_counts())


def precision_for(precision, device):
    """Return the precision ("float32" or "bfloat16") of the deep part's training passes.

    "auto" takes "bfloat16" on a CPU that multiplies bfloat16 natively (AVX512-BF16
    or AMX tiles), where the matrix products run at more than twice the speed of
    float32; elsewhere "float32": emulated bfloat16 is slower, and other devices
    have not been measured.
    """
    if precision != "auto":
        return precision
    if torch.device(device).type != "cpu":
        return "float32"
    cpu = torch.cpu
    native = [getattr(cpu, name, lambda: False)() for name in _NATIVE_BFLOAT16]
    return "bfloat16" if any(native) else "float32"


# torch's checks (private, hence looked up) for CPUs with bfloat16 multiplication
_NATIVE_BFLOAT16 = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")


def linear_start_on(train):
    """Return whether a fit on ``train``, a ``FieldData`` of two classes, starts linearly.

    From 500 training rows of each class on, up to 500,000 rows in all.
    """
    if len(train) > LINEAR_START_MAX_ROWS:
        return False
    counts = train.class_counts()
    return len(counts) == 2 and counts.min() >= LINEAR_START_MIN_CLASS_ROWS


def auto_batch_size(n_train, max_batch=AUTO_BATCH_MAX):
    """Return the rows per step of ``batch_size="auto"`` for ``n_train`` training rows.

    ``n_train // 32`` (about 32 steps an epoch), at least 16 and at most
    ``max_batch`` (1024, the classifier's; the regressor's is 256), and never more
    than ``n_train``: 1024 from 32,768 training rows on, 200 for 6,400.

    Examples
    --------
    >>> from sklearn_deepfm.estimators._defaults import auto_batch_size
    >>> [auto_batch_size(n) for n in (10, 200, 6_400, 38_481, 1_000_000)]
    [10, 16, 200, 1024, 1024]
    >>> [auto_batch_size(n, max_batch=256) for n in (200, 6_400, 8_192, 72_000)]
    [16, 200, 256, 256]
    """
    size = min(max_batch, max(_AUTO_BATCH_MIN, n_train // _AUTO_STEPS_PER_EPOCH))
    return max(1, min(size, n_train))


def auto_batch_norm(class_counts):
    """Return the choice of ``batch_norm="auto"`` for the training rows' class counts.

    True when both classes have at least 5,000 rows: the rarer class, not the
    number of rows, bounds what a few thousand clicks (or downloads in a sea of
    non-clicks) can teach the deep part.

    Examples
    --------
    >>> from sklearn_deepfm.estimators._defaults import auto_batch_norm
    >>> [auto_batch_norm(c) for c in ([4_515, 1_245], [59_864, 136], [23_079, 11_553])]
    [False, False, True]
    """
    counts = np.asarray(class_counts)
    return bool(len(counts) == 2 and counts.min() >= _AUTO_BATCH_NORM_MIN_CLASS_ROWS)


def regularisation_for(estimator, train, rows):
    """Return ``(embedding_l2, plateau_factor, sparse_embeddings)`` of ``estimator``'s fit.

    Each setting as given, or "auto"'s for the training rows ``train`` and tables of
    ``rows`` rows. On large data (``large_data``) "auto" makes the tables dense with a
    penalty of 0.003 on every row, and the learning rates decay by 0.1 on each miss;
    elsewhere it keeps sparse tables, no penalty and constant rates, but for an
    explicit penalty on tables of at most 100,000 rows, which makes "auto" tables
    dense so that it reaches every row.
    """
    l2, plateau = estimator.embedding_l2, estimator.plateau_factor
    sparse = estimator.sparse_embeddings
    large = "auto" in (l2, plateau) and large_data(train, rows)
    if sparse == "auto":
        sparse = not (large if l2 == "auto" else l2 > 0 and rows <= _AUTO_DENSE_TABLE_MAX_ROWS)
    if l2 == "auto":
        l2 = _AUTO_EMBEDDING_L2 if large and not sparse else 0.0
    if plateau == "auto":
        plateau = _AUTO_PLATEAU_FACTOR if large else 1.0
    return float(l2), float(plateau), bool(sparse)


def large_data(train, rows):
    """Return whether the classifier's "auto" settings treat the fit as large.

    Large: ``train``'s labels hold 50,000 rows of each of two classes, and the
    tables have at most 100,000 rows (``rows``): many rows per code, as in the
    published Frappe runs whose recipe these settings follow.
    """
    if rows > _AUTO_DENSE_TABLE_MAX_ROWS:
        return False
    counts = train.class_counts()
    return len(counts) == 2 and counts.min() >= _AUTO_LARGE_MIN_CLASS_ROWS
