"""The fitted model an export reads: the object itself, or the last such step of a Pipeline."""

from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted

__all__ = ["find_fitted"]


def find_fitted(model, kind, caller):
    """Return ``model`` if it is a fitted ``kind``, or the last step of a Pipeline that is.

    ``kind`` is a class or a tuple of classes. With ``caller=None``, return None
    instead of raising when there is none.
    """
    found = model
    if isinstance(model, Pipeline):
        steps = [step for _, step in model.steps if isinstance(step, kind)]
        found = steps[-1] if steps else None
    if not isinstance(found, kind):
        if caller is None:
            return None
        names = " or ".join(k.__name__ for k in (kind if isinstance(kind, tuple) else (kind,)))
        raise TypeError(
            f"{caller} takes a fitted {names} or a Pipeline holding one; got "
            f"{type(model).__name__}."
        )
    check_is_fitted(found)
    return found
