"""Reader for the Criteo display-advertising format (Kaggle challenge, 2014)."""

import csv
import gzip
import io
from itertools import islice
from pathlib import Path

import numpy as np
import pandas as pd
from pandas.api.types import union_categoricals

CRITEO_INT_COLUMNS = [f"I{i}" for i in range(1, 14)]
CRITEO_CAT_COLUMNS = [f"C{i}" for i in range(1, 27)]
CRITEO_COLUMNS = ["label", *CRITEO_INT_COLUMNS, *CRITEO_CAT_COLUMNS]

_DEFAULT_CHUNKSIZE = 100_000
_SEPARATORS = {"\t": "tab", ",": "comma"}
_CATEGORICAL_DTYPES = ("str", "category")


def iter_criteo(
    path,
    *,
    chunksize=_DEFAULT_CHUNKSIZE,
    n_rows=None,
    sep=None,
    header=None,
    categorical_dtype="str",
):
    r"""Read a Criteo display-ads file chunk by chunk.

    Reads both variants of the format: the raw Kaggle ``train.txt``
    (tab-separated, no header, 40 fields: ``label, I1..I13, C1..C26``), the
    Kaggle ``test.txt`` (the same without ``label``, 39 fields) and the
    CSV-with-header variant (``label,I1,...,C26`` as first line, as in
    DeepCTR's ``criteo_sample.txt``). Files ending in ``.gz`` are decompressed
    on the fly. Only one chunk is held in memory at a time.

    Parameters
    ----------
    path : str or path-like
        The file to read.
    chunksize : int, default=100_000
        Number of data lines per yielded DataFrame.
    n_rows : int, default=None
        Stop after this many data lines; ``None`` reads the whole file.
    sep : {"\t", ","}, default=None
        Field separator; ``None`` detects it from the first line (tab if it
        holds a tab, otherwise comma).
    header : bool, default=None
        Whether the first line holds column names; ``None`` detects it (the
        first line is a header when its first field is a Criteo column name
        such as ``label`` or ``I1``). A header may list the columns in any
        order; they are returned in the canonical order.
    categorical_dtype : {"str", "category"}, default="str"
        Dtype of ``C1..C26``. ``"category"`` takes much less memory; each
        chunk then has its own categories (:func:`load_criteo` unites them).

    Yields
    ------
    frame : pandas.DataFrame
        One chunk, indexed by the 0-based row number in the file, with the
        columns and dtypes described in :func:`load_criteo`. A file without
        data lines yields one empty DataFrame.

    Raises
    ------
    ValueError
        On the first malformed line, with its 1-based line number in the file;
        see :func:`load_criteo` for the rules.

    Examples
    --------
    >>> import os, tempfile
    >>> fields = ["0", "3"] + [""] * 12 + ["68fd1e64"] * 26  # label, I1..I13, C1..C26
    >>> line = "\t".join(fields) + "\n"
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = os.path.join(tmp, "train.txt")
    ...     with open(path, "w") as f:
    ...         _ = f.write(line * 5)
    ...     chunks = list(iter_criteo(path, chunksize=2))
    >>> [chunk.index.tolist() for chunk in chunks]
    [[0, 1], [2, 3], [4]]
    >>> chunks[0].shape
    (2, 40)
    """
    if not isinstance(chunksize, (int, np.integer)) or isinstance(chunksize, bool) or chunksize < 1:
        raise ValueError(f"chunksize must be a positive integer, got {chunksize!r}.")
    if n_rows is not None and (
        not isinstance(n_rows, (int, np.integer)) or isinstance(n_rows, bool) or n_rows < 0
    ):
        raise ValueError(f"n_rows must be None or a non-negative integer, got {n_rows!r}.")
    if sep is not None and sep not in _SEPARATORS:
        raise ValueError(f"sep must be None, '\\t' or ',', got {sep!r}.")
    if header not in (None, True, False):
        raise ValueError(f"header must be None, True or False, got {header!r}.")
    if categorical_dtype not in _CATEGORICAL_DTYPES:
        raise ValueError(
            f"categorical_dtype must be one of {_CATEGORICAL_DTYPES}, got {categorical_dtype!r}."
        )
    return _iter_chunks(Path(path), int(chunksize), n_rows, sep, header, categorical_dtype)


def load_criteo(
    path,
    *,
    n_rows=None,
    chunksize=None,
    sep=None,
    header=None,
    categorical_dtype="str",
    return_X_y=False,
):
    r"""Load a Criteo display-ads file into a DataFrame.

    Reads the raw Kaggle ``train.txt`` (tab-separated, no header, 40 fields),
    the Kaggle ``test.txt`` (39 fields, no label) and the CSV-with-header
    variant; the variant is detected from the first line. The file is parsed
    chunk by chunk with :func:`iter_criteo` and the chunks are concatenated;
    for files larger than memory, iterate over :func:`iter_criteo` instead.

    Parameters
    ----------
    path : str or path-like
        The file to read (``.gz`` is decompressed on the fly).
    n_rows : int, default=None
        Read only the first ``n_rows`` data lines; ``None`` reads all.
    chunksize : int, default=None
        Lines parsed at a time; ``None`` means 100,000.
    sep : {"\t", ","}, default=None
        Field separator; ``None`` detects it from the first line.
    header : bool, default=None
        Whether the first line holds column names; ``None`` detects it.
    categorical_dtype : {"str", "category"}, default="str"
        Dtype of ``C1..C26``; ``"category"`` takes much less memory.
    return_X_y : bool, default=False
        If True, return ``(X, y)`` instead of one DataFrame.

    Returns
    -------
    frame : pandas.DataFrame of shape (n_samples, 40)
        Columns in the order ``label, I1..I13, C1..C26`` (no ``label`` for the
        Kaggle test variant). Dtypes: ``label`` int8 (0 or 1); ``I1..I13``
        float64 holding integer values, NaN when missing (float64 rather than
        pandas' nullable Int64 so that scikit-learn and NumPy code use it
        directly); ``C1..C26`` strings (pandas ``str`` dtype) or ``category``,
        NaN when missing. Returned when ``return_X_y`` is False.
    (X, y) : tuple of (pandas.DataFrame, numpy.ndarray of int8)
        The 39 feature columns and the labels. Returned when ``return_X_y`` is
        True; a file without a label column raises a ValueError then.

    Raises
    ------
    ValueError
        On the first malformed line, naming the file, the 1-based line number
        and what is wrong. Nothing is skipped or repaired: every line must have
        exactly as many fields as the first line (or the header), so a missing
        or extra separator never shifts columns; ``label`` must be 0 or 1;
        ``I1..I13`` must be empty or finite integers (``"5"`` or ``"5.0"``);
        empty lines are malformed too. Fields are never quoted. ``C1..C26``
        are taken as they are.

    Examples
    --------
    >>> import os, tempfile
    >>> fields = ["1", "5"] + [""] * 12 + ["68fd1e64"] * 26  # label, I1..I13, C1..C26
    >>> line = "\t".join(fields) + "\n"
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = os.path.join(tmp, "train.txt")
    ...     with open(path, "w") as f:
    ...         _ = f.write(line * 3)
    ...     X, y = load_criteo(path, return_X_y=True)
    >>> X.shape, y.tolist(), X["I1"].tolist()
    ((3, 39), [1, 1, 1], [5.0, 5.0, 5.0])
    """
    if chunksize is None:
        chunksize = _DEFAULT_CHUNKSIZE
    frames = list(
        iter_criteo(
            path,
            chunksize=chunksize,
            n_rows=n_rows,
            sep=sep,
            header=header,
            categorical_dtype=categorical_dtype,
        )
    )
    if categorical_dtype == "category":
        frame = _concat_categorical(frames)
    else:
        frame = pd.concat(frames, ignore_index=True)
    if not return_X_y:
        return frame
    if "label" not in frame.columns:
        raise ValueError(
            f"{Path(path).name} has no label column (Kaggle test.txt variant), so "
            "return_X_y=True cannot return y. Use return_X_y=False."
        )
    return frame.drop(columns="label"), frame["label"].to_numpy()


def _iter_chunks(path, chunksize, n_rows, sep, header, categorical_dtype):
    name = path.name
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        first = f.readline().removeprefix(b"\xef\xbb\xbf")  # a UTF-8 byte-order mark
        if not first:
            raise ValueError(f"{name} is empty: expected Criteo lines (label, I1..I13, C1..C26).")
        sep, has_header, columns = _detect_layout(first, sep, header, name)
        pending = [] if has_header else [first]
        line_no = 2 if has_header else 1
        remaining = n_rows
        n_yielded = 0
        while remaining is None or remaining > 0:
            size = chunksize if remaining is None else min(chunksize, remaining)
            lines = pending + list(islice(f, size - len(pending)))
            pending = []
            if not lines:
                break
            yield _parse_chunk(lines, line_no, n_yielded, sep, columns, categorical_dtype, name)
            line_no += len(lines)
            n_yielded += len(lines)
            if remaining is not None:
                remaining -= len(lines)
        if n_yielded == 0:
            yield _parse_chunk([], line_no, 0, sep, columns, categorical_dtype, name)


def _detect_layout(first_line, sep, header, name):
    """Return the separator, whether line 1 is a header, and the file's columns."""
    text = first_line.decode("utf-8", errors="replace").rstrip("\r\n")
    if sep is None:
        if "\t" in text:
            sep = "\t"
        elif "," in text:
            sep = ","
        else:
            raise ValueError(
                f"{name}, line 1: cannot detect the separator, the line holds neither a tab nor "
                "a comma. Pass sep='\\t' or sep=','."
            )
    fields = text.split(sep)
    if header is None:
        header = fields[0].strip() in CRITEO_COLUMNS
    if header:
        columns = [field.strip() for field in fields]
        unknown = [c for c in columns if c not in CRITEO_COLUMNS]
        missing = [c for c in CRITEO_COLUMNS[1:] if c not in columns]
        if unknown or missing or len(set(columns)) != len(columns):
            raise ValueError(
                f"{name}, line 1: the header must name label (optional), I1..I13 and C1..C26 "
                f"once each; unknown: {unknown}, missing: {missing}, got {columns}. Pass "
                "header=False if the file has no header."
            )
        return sep, True, columns
    if len(fields) == len(CRITEO_COLUMNS):
        return sep, False, list(CRITEO_COLUMNS)
    if len(fields) == len(CRITEO_COLUMNS) - 1:
        return sep, False, CRITEO_COLUMNS[1:]
    raise ValueError(
        f"{name}, line 1: expected 40 {_SEPARATORS[sep]}-separated fields (label, I1..I13, "
        f"C1..C26, as Kaggle train.txt) or 39 (no label, as Kaggle test.txt), got {len(fields)}."
    )


def _parse_chunk(lines, line_no, row_no, sep, columns, categorical_dtype, name):
    """Parse and validate ``lines``, the first of which is line ``line_no`` of the file."""
    sep_byte = sep.encode()
    counts = np.fromiter((line.count(sep_byte) for line in lines), np.int64, count=len(lines))
    bad = np.flatnonzero(counts != len(columns) - 1)
    if bad.size:
        i = bad[0]
        empty = " (an empty line)" if not lines[i].strip() else ""
        raise ValueError(
            f"{name}, line {line_no + i}: expected {len(columns)} {_SEPARATORS[sep]}-separated "
            f"fields as on line 1, got {counts[i] + 1}{empty}. Fix or remove the line."
        )
    numeric = [c for c in columns if c not in CRITEO_CAT_COLUMNS]
    dtype = {c: "float64" for c in numeric}
    dtype.update({c: categorical_dtype for c in CRITEO_CAT_COLUMNS})
    buffer = b"".join(lines)
    if lines:
        try:
            frame = _read(buffer, sep, columns, dtype)
        except ValueError as exc:
            _raise_parse_error(exc, buffer, lines, line_no, sep, columns, numeric, name)
    else:
        frame = pd.DataFrame({c: pd.Series(dtype=dtype[c]) for c in columns})
    if len(frame) != len(lines):
        raise ValueError(
            f"{name}, lines {line_no}-{line_no + len(lines) - 1}: parsed {len(frame)} rows from "
            f"{len(lines)} lines; the file holds line terminators other than '\\n' or '\\r\\n'."
        )
    if "label" in columns:
        label = frame["label"].to_numpy()
        bad = np.flatnonzero((label != 0) & (label != 1))
        if bad.size:
            i = bad[0]
            raw = _raw_field(lines[i], sep, columns.index("label"))
            raise ValueError(f"{name}, line {line_no + i}: label must be 0 or 1, got {raw!r}.")
        frame["label"] = label.astype(np.int8)
    ints = frame[CRITEO_INT_COLUMNS].to_numpy()
    bad_cells = ~np.isnan(ints) & ~(np.isfinite(ints) & (ints == np.trunc(ints)))
    bad = np.flatnonzero(bad_cells.any(axis=1))
    if bad.size:
        i = bad[0]
        column = CRITEO_INT_COLUMNS[np.flatnonzero(bad_cells[i])[0]]
        raw = _raw_field(lines[i], sep, columns.index(column))
        raise ValueError(
            f"{name}, line {line_no + i}: {column} must be an integer or empty, got {raw!r}."
        )
    frame = frame[[c for c in CRITEO_COLUMNS if c in columns]]
    frame.index = pd.RangeIndex(row_no, row_no + len(frame))
    return frame


def _read(buffer, sep, columns, dtype):
    return pd.read_csv(
        io.BytesIO(buffer),
        sep=sep,
        header=None,
        names=columns,
        dtype=dtype,
        engine="c",
        quoting=csv.QUOTE_NONE,
        keep_default_na=False,
        na_values=[""],
        skip_blank_lines=False,
        encoding="utf-8",
    )


def _raise_parse_error(exc, buffer, lines, line_no, sep, columns, numeric, name):
    """Find the field that pandas could not parse and raise with its line number."""
    for i, line in enumerate(lines):
        try:
            line.decode("utf-8")
        except UnicodeDecodeError as err:
            raise ValueError(
                f"{name}, line {line_no + i}: not valid UTF-8 text (byte {line[err.start]:#04x} "
                f"at position {err.start + 1})."
            ) from exc
    as_text = _read(buffer, sep, columns, {c: "str" for c in columns})
    first = None
    for column in numeric:
        raw = as_text[column]
        failed = np.flatnonzero(pd.to_numeric(raw, errors="coerce").isna() & raw.notna())
        if failed.size and (first is None or failed[0] < first[0]):
            first = (failed[0], column)
    if first is None:
        raise ValueError(
            f"{name}, lines {line_no}-{line_no + len(lines) - 1}: could not parse the chunk: {exc}"
        ) from exc
    i, column = first
    rule = "must be 0 or 1" if column == "label" else "must be an integer or empty"
    raw = _raw_field(lines[i], sep, columns.index(column))
    raise ValueError(f"{name}, line {line_no + i}: {column} {rule}, got {raw!r}.") from exc


def _raw_field(line, sep, position):
    return line.decode("utf-8", errors="replace").rstrip("\r\n").split(sep)[position]


def _concat_categorical(frames):
    """Concatenate chunks, uniting the per-chunk categories of ``C1..C26``."""
    data = {}
    for column in frames[0].columns:
        parts = [frame[column] for frame in frames]
        if column in CRITEO_CAT_COLUMNS:
            data[column] = pd.Series(union_categoricals(parts, sort_categories=True), name=column)
        else:
            data[column] = pd.concat(parts, ignore_index=True)
    return pd.DataFrame(data)
