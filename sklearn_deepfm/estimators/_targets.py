"""The loss's targets from labels: a classifier's classes as 0/1, a regressor's standardised y.

Plain functions of arrays, with errors that name the label at fault. The estimators
keep what a first fit learns (``classes_``; ``y_mean_`` and ``y_scale_``) as fitted
attributes, and map labels with ``label_targets`` or ``standardised``.
"""

from numbers import Real

import numpy as np
from sklearn.utils.multiclass import check_classification_targets, type_of_target


def binary_classes(labels, classes=None, *, partial=False):
    """Return the two classes of ``labels`` (of ``classes`` when given), sorted.

    ``partial`` adds advice for a first ``partial_fit`` call that sees one class.
    """
    check_classification_targets(labels)
    found = labels if classes is None else classes
    distinct = np.unique(found)
    if len(distinct) == 1:
        hint = " Pass both labels as classes to the first partial_fit call." if partial else ""
        raise ValueError(
            "y holds only one class; DeepFMClassifier needs clicks and non-clicks (two "
            f"classes) to learn from. Got only {distinct.tolist()[0]!r}.{hint}"
        )
    if len(distinct) > 2:
        raise ValueError(
            "Only binary classification is supported: y must hold exactly two classes. "
            f"Got {len(distinct)} ({type_of_target(found)}): {distinct.tolist()[:10]}."
        )
    return distinct


def check_classes(labels, classes, fitted):
    """Refuse labels of no class type, and ``classes`` other than the ``fitted`` ones."""
    check_classification_targets(labels)
    if classes is not None and not np.array_equal(np.unique(classes), fitted):
        raise ValueError(
            f"classes={np.unique(classes).tolist()} differs from classes_="
            f"{fitted.tolist()} of the first fit; continued training keeps the "
            "classes of the first call. Omit classes or pass the same ones."
        )


def label_targets(y, classes):
    """Return the 0/1 target of each label of ``y``, which must all be among ``classes``."""
    unknown = ~np.isin(y, classes)
    if unknown.any():
        raise ValueError(
            f"y holds the label {y[unknown].tolist()[0]!r}, which is not among classes_="
            f"{classes.tolist()}, the classes of the first fit or partial_fit call "
            "(its y or its classes argument), which continued training keeps."
        )
    return np.searchsorted(classes, y)


def numeric_targets(y):
    """``y`` as float64, or a ValueError naming the first entry that is not a number."""
    if y.dtype.kind in "biuf":
        return y.astype(np.float64)
    numbers = [isinstance(v, Real) for v in y] if y.dtype.kind == "O" else [False] * len(y)
    if all(numbers):
        return y.astype(np.float64)
    row = numbers.index(False)
    value = y[row].item() if isinstance(y[row], np.generic) else y[row]
    raise ValueError(
        f"DeepFMRegressor needs numeric targets, but y holds {value!r} at row {row} "
        f"(dtype {y.dtype}). Convert y to numbers, or use DeepFMClassifier for class labels."
    )


def standardisation(y, sample_weight=None):
    """Return ``(mean, scale)``: the weighted mean and standard deviation of float ``y``.

    The scale of a constant ``y`` is 1.0.
    """
    mean = np.average(y, weights=sample_weight)
    scale = np.sqrt(np.average((y - mean) ** 2, weights=sample_weight))
    if not np.isfinite(scale):
        raise ValueError(
            "y is too large to standardise in float64: its standard deviation "
            f"overflows (largest magnitude {np.abs(y).max():g}). Rescale y, e.g. to "
            "thousands or millions."
        )
    return float(mean), float(scale) if scale > 0 else 1.0


def standardised(y, mean, scale):
    """Return numeric ``y`` as ``(y - mean) / scale``."""
    return (numeric_targets(y) - mean) / scale
