"""Arrow compute kernels for string columns that pandas stores in Arrow.

pandas' generic paths turn Arrow strings into Python objects to hash or sort them;
pyarrow's kernels work on the UTF-8 bytes, without the GIL. UTF-8 bytes sort as the
code points do, so Arrow's order of strings is Python's: codes stay those of the
pandas kernels in ``_encode``, which serve every other column.
"""

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc


def string_array(values):
    """Return the Arrow array behind a Series, Index or array of Arrow strings, else None.

    Examples
    --------
    >>> import pandas as pd
    >>> from sklearn_deepfm.preprocessing._arrow import string_array
    >>> string_array(pd.Series(["a", None], dtype="string[pyarrow]")).to_pylist()
    ['a', None]
    >>> string_array(pd.Series(["a", None], dtype=object)) is None
    True
    """
    if not isinstance(values, pd.Series | pd.Index | pd.api.extensions.ExtensionArray):
        return None  # numpy arrays: object or numbers
    dtype = values.dtype
    if isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow":
        return pa.array(
            values if isinstance(values, pd.api.extensions.ExtensionArray) else values.array
        )
    return None


def is_list_type(dtype):
    """Tell whether an Arrow type, or a pandas dtype (``pd.ArrowDtype``), holds lists."""
    arrow_type = getattr(dtype, "pyarrow_dtype", dtype)
    return isinstance(arrow_type, pa.DataType) and (
        pa.types.is_list(arrow_type)
        or pa.types.is_large_list(arrow_type)
        or pa.types.is_fixed_size_list(arrow_type)
    )


def count_strings(array):
    """Count the distinct strings of an Arrow array, in sorted order.

    Returns the distinct non-null strings (a pandas Index of the default string
    dtype, sorted), their counts, the number of nulls, and the permutation that sorts
    the distinct strings (the identity).
    """
    values, counts, n_missing = value_counts(array)
    uniques, counts = sorted_counts(values, counts)
    return uniques, counts, n_missing, np.arange(len(uniques), dtype=np.intp)


def value_counts(array):
    """Return the distinct non-null values of an Arrow array, their counts, and the nulls."""
    counted = pc.value_counts(array)
    values, counts = counted.field("values"), counted.field("counts")
    present = pc.is_valid(values)
    n_missing = int(pc.sum(pc.filter(counts, pc.invert(present))).as_py() or 0)
    return values.filter(present), counts.filter(present), n_missing


def sorted_counts(values, counts):
    """Sort distinct values (strings or float bin numbers) with their counts.

    Returns a pandas Index of the sorted values (Arrow strings, or float64) and
    their int64 counts.
    """
    order = pc.array_sort_indices(values)
    if pa.types.is_floating(values.type):
        uniques = pd.Index(values.take(order).to_numpy(zero_copy_only=False))
    else:
        uniques = pd.Index(pd.array(values.take(order), dtype=pd.StringDtype("pyarrow")))
    return uniques, counts.take(order).to_numpy().astype(np.int64)


def encode_strings(values, known, missing_code):
    """Codes of an Arrow string column in a vocabulary stored in Arrow, else None.

    ``known[i]`` gets code ``i + 1``, nulls ``missing_code``, other strings 0; None
    when ``values`` or ``known`` are not Arrow strings.
    """
    array, value_set = string_array(values), string_array(known)
    if array is None or value_set is None:
        return None
    if value_set.type != array.type:
        value_set = value_set.cast(array.type)
    codes = pc.fill_null(pc.add(pc.index_in(array, value_set=value_set), 1), 0)
    codes = pc.if_else(pc.is_null(array), missing_code, codes)
    return codes.to_numpy(zero_copy_only=False).astype(np.int64)
