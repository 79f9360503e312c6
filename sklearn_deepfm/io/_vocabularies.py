"""The encoder's vocabularies as plain JSON, to encode rows in a service of any language.

:func:`export_vocabularies` writes what a fitted ``FieldEncoder`` knows, field by field,
with ``rules`` that say in words how each kind of field turns a value into a code.
"""

import json

from .._json import encode_scalar
from .._slots import PADDING_CODE, UNKNOWN_CODE
from .._version import __version__
from ..preprocessing._encode import known_codes
from ..preprocessing._encoder import MULTI_VALUED, VALUE, FieldEncoder
from ._fitted import find_fitted

__all__ = ["VOCABULARY_FORMAT", "VOCABULARY_FORMAT_VERSION", "export_vocabularies"]

VOCABULARY_FORMAT = "sklearn-deepfm-vocabularies"
# 1.1 added the "multi_valued" kind, 1.2 the "hashed" kind; an older reader meets them
# as unknown kinds.
VOCABULARY_FORMAT_VERSION = "1.2"

_RULES = {
    "missing": "A value is missing when it is null or NaN (in Python also None, pandas.NA "
    "and NaT). Code 0 (reserved_code) stands for values not known from fit.",
    "categorical": "code = the code paired with the value in categories; strings compare "
    "as strings, numbers by value (1 equals 1.0), booleans as booleans, a string never "
    "equals a number; a missing value gets missing_code; any other value gets 0.",
    "log_square": "x = the number; missing gives missing_code; else bin = floor(ln(x)^2) if "
    "x > 2, else x truncated towards zero; code = the code paired with bin in categories, "
    "0 for a bin not listed.",
    "quantile": "x = the number; missing gives missing_code; else with no edges 0, else code "
    "= 1 + the number of inner edges (edges[1:-1]) that are <= x.",
    "value": "value = (x - mean) / std, 0.0 when x is missing; the field's code is 0.",
    "hashed": "missing gives 0 (missing_code); else s = the value as a string: a string as "
    'written, a boolean "0" or "1", an integral number its decimal integer (5.0 gives "5"), '
    "another number its shortest round-trip decimal (Python's repr), anything else str(). "
    "h = SipHash-2-4 (the 64-bit output, read as an unsigned little-endian integer) of the "
    "UTF-8 bytes of s with the 16-byte key hash_key in UTF-8, then h ^= h >> 30; h *= "
    "0xBF58476D1CE4E5B9; h ^= h >> 27; h *= 0x94D049BB133111EB; h ^= h >> 31 (unsigned "
    "64-bit arithmetic, as pandas.util.hash_array computes it); code = 1 + h % n_buckets. "
    "No value is unknown: distinct values may share a code.",
    "multi_valued": "the cell is a list of values: with a separator, its string split at "
    'every occurrence of separator, each piece kept as written ("a||b" holds ""); '
    "without, the cell's own list. A missing cell, an empty string and an empty list are "
    "empty lists. Keep the list's first width values, then code each as in categorical "
    "fields, except that a value not in categories gets unknown_code (1) and a missing "
    "value missing_code (1 when fit saw none). The field gives width codes, its slots "
    "name[0] .. name[width - 1] in that order: the list's codes, then padding_code (0) "
    "up to width.",
    "model_inputs": "codes[j] = the code in the encoder's output column j (0 for a value field; "
    "a multi-valued field fills one column per slot, field_slices in the model's metadata); "
    "values[j] = the value in column j (1.0 for a code column), needed only when some field "
    "is a value field.",
}


def export_vocabularies(encoder, path):
    """Write what a fitted FieldEncoder knows as plain JSON, to encode rows elsewhere.

    Parameters
    ----------
    encoder : FieldEncoder or Pipeline
        A fitted encoder, or a Pipeline holding one.
    path : str or path-like
        Where to write the JSON file.

    Notes
    -----
    The file holds ``format``, ``format_version``, ``library_version``,
    ``reserved_code`` (0), ``rules`` (in words: how each kind of field turns a value
    into a code, and how codes and values make the inputs of the exported network)
    and ``fields``, one object per field in the order of the
    model's inputs, with ``name``, ``kind`` (``"categorical"``, ``"quantile"``,
    ``"log_square"``, ``"value"`` or ``"multi_valued"``), ``cardinality`` (number of
    codes) and

    - categorical and log_square fields: ``missing_code`` and ``categories``, a list
      of ``[category, code]`` pairs; categories are JSON strings, numbers or
      booleans (an infinite float is written ``{"$float": "inf"}``);
    - quantile fields: ``missing_code`` and ``edges``, the sorted bin edges;
    - value fields: ``mean`` and ``std``;
    - multi-valued fields: ``missing_code``, ``categories`` (codes from 2),
      ``separator`` (null for list cells), ``width`` (the number of slots, output
      columns ``name[0]`` to ``name[width - 1]``), ``padding_code`` (0) and
      ``unknown_code`` (1); new in ``format_version`` 1.1, the rest is as in 1.0;
    - hashed fields (``hash_buckets``): ``missing_code`` (0), ``n_buckets`` and
      ``hash_key``, the hash being spelled out in ``rules``; new in 1.2.

    The codes of an encoder grown by ``warm_start`` follow the pairs: values appended
    after a missing code leave it among the others.

    Examples
    --------
    >>> import json, os, tempfile
    >>> import pandas as pd
    >>> from sklearn_deepfm import FieldEncoder
    >>> encoder = FieldEncoder().fit(pd.DataFrame({"site": ["a", "b", "a", None]}))
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = os.path.join(tmp, "vocabularies.json")
    ...     export_vocabularies(encoder, path)
    ...     with open(path, encoding="utf-8") as file:
    ...         document = json.load(file)
    >>> field = document["fields"][0]
    >>> field["name"], field["kind"], field["missing_code"], field["categories"]
    ('site', 'categorical', 3, [['a', 1], ['b', 2]])
    >>> encoder.transform(pd.DataFrame({"site": ["b", None, "z"]})).ravel().tolist()
    [2, 3, 0]
    """
    encoder = find_fitted(encoder, FieldEncoder, "export_vocabularies")
    fields = []
    for field in encoder._get_fitted_state()["fields"]:
        if field["kind"] == VALUE:
            del field["missing_code"]
            field["std"] = field.pop("scale")
        field.pop("held", None)  # the counts of a warm start: how fit went, not how to encode
        first_code = 1
        if field["kind"] == MULTI_VALUED:
            del field["n_truncated"]
            field.update(padding_code=PADDING_CODE, unknown_code=UNKNOWN_CODE)
            first_code = UNKNOWN_CODE + 1
        if "categories" in field:
            codes = known_codes(len(field["categories"]), field["missing_code"], first_code)
            field["categories"] = [
                [encode_scalar(value), int(code)]
                for value, code in zip(field["categories"], codes, strict=True)
            ]
        fields.append(field)
    document = {
        "format": VOCABULARY_FORMAT,
        "format_version": VOCABULARY_FORMAT_VERSION,
        "library_version": __version__,
        "reserved_code": 0,
        "rules": _RULES,
        "fields": fields,
    }
    with open(path, "w", encoding="utf-8") as file:
        json.dump(document, file, allow_nan=False, ensure_ascii=False, indent=1)
