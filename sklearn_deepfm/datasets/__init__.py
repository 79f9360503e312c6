"""Readers for real CTR formats, a cached downloader and a synthetic CTR generator."""

from ._criteo import (
    CRITEO_CAT_COLUMNS,
    CRITEO_COLUMNS,
    CRITEO_INT_COLUMNS,
    iter_criteo,
    load_criteo,
)
from ._fetch import fetch_criteo_sample, get_data_home
from ._libfm import FRAPPE_FIELDS, load_frappe, load_libfm
from ._movielens import MOVIELENS_FIELDS, MOVIELENS_GENRES, load_movielens_100k
from ._synthetic import make_ctr_classification

__all__ = [
    "CRITEO_CAT_COLUMNS",
    "CRITEO_COLUMNS",
    "CRITEO_INT_COLUMNS",
    "FRAPPE_FIELDS",
    "MOVIELENS_FIELDS",
    "MOVIELENS_GENRES",
    "fetch_criteo_sample",
    "get_data_home",
    "iter_criteo",
    "load_criteo",
    "load_frappe",
    "load_libfm",
    "load_movielens_100k",
    "make_ctr_classification",
]
