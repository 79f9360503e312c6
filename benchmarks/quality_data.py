"""The data sets of ``quality.py``: each a train and test split and its categorical columns.

Every loader returns ``X_train, y_train, X_test, y_test, categorical, split``, with
``categorical`` the columns named in ``FieldEncoder(categorical_features=...)`` and
``split`` a sentence for the report. The files stay in ``../shared/data`` (see each
SOURCE.md); nothing is copied into the repository.
"""

import numpy as np
import pandas as pd
from _common import DATA
from sklearn.model_selection import train_test_split

from sklearn_deepfm import make_ctr_classification
from sklearn_deepfm.datasets import (
    CRITEO_CAT_COLUMNS,
    load_criteo,
    load_frappe,
    load_movielens_100k,
)

SEED = 0


def frappe():
    X, y = load_frappe(DATA / "frappe" / "frappe.train.libfm", return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=1 / 3, random_state=SEED)
    # libFM feature ids: categorical, though integers
    return X_train, y_train, X_test, y_test, list(X.columns), "random 2/3 train, 1/3 test (seed 0)"


def frappe_260k():
    """NFM's train split (rebuilt, 202k rows) trains; its validation split (57k) tests."""
    X_train, y_train = load_frappe(DATA / "frappe_202k" / "frappe.train202k.libfm", return_X_y=True)
    X_test, y_test = load_frappe(DATA / "frappe" / "frappe.train.libfm", return_X_y=True)
    split = "frappe_202k trains, frappe (57,722 rows, disjoint positives) tests"
    return X_train, y_train, X_test, y_test, list(X_train.columns), split


def criteo():
    X, y = load_criteo(DATA / "criteo_8k" / "criteo_8k.txt", return_X_y=True)
    split = "time-ordered: first 6,400 rows train, last 1,600 test"
    return X.iloc[:6400], y[:6400], X.iloc[6400:], y[6400:], list(CRITEO_CAT_COLUMNS), split


def criteo_110k():
    """109,994 rows sampled from the whole of Criteo's train.txt, very likely in time order."""
    X, y = load_criteo(DATA / "criteo_110k" / "criteo_110k.txt.gz", return_X_y=True)
    cut = int(round(0.8 * len(y)))  # 87,995
    split = f"time-ordered: first {cut:,} rows train, last {len(y) - cut:,} test"
    return X.iloc[:cut], y[:cut], X.iloc[cut:], y[cut:], list(CRITEO_CAT_COLUMNS), split


def avazu():
    frame = pd.read_csv(DATA / "avazu_9k" / "avazu_9k.csv", dtype=str)
    y = frame.pop("click").astype(np.int8).to_numpy()
    X = frame.drop(columns=["id", "hour"])  # a row key and a constant
    split = "file order: first 7,199 rows train, last 1,800 test"
    # all ids, some integer-coded: read as strings
    return X.iloc[:7199], y[:7199], X.iloc[7199:], y[7199:], list(X.columns), split


def movielens():
    """MovieLens 100K ratings as clicks: rating >= 4, the joined fields of movielens.py."""
    X, rating = load_movielens_100k(DATA / "movielens_100k", return_X_y=True)
    y = (rating >= 4).astype(np.int8)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=SEED)
    categorical = ["user_id", "item_id", "gender", "occupation", "zip", "genres"]
    split = "random 80% train, 20% test (seed 0); age and year quantile-binned"
    return X_train, y_train, X_test, y_test, categorical, split


def talkingdata():
    """Clicks that led to a download: 227 positives in 100,000 rows, a stratified split."""
    frame = pd.read_csv(DATA / "talkingdata_100k" / "train_sample.csv")
    frame = frame.rename(columns={"..ip": "ip"})  # the copy's corrupted header (SOURCE.md)
    y = frame.pop("is_attributed").astype(np.int8).to_numpy()
    X = frame[["ip", "app", "device", "os", "channel"]].copy()
    X["hour"] = pd.to_datetime(frame["click_time"]).dt.hour  # attributed_time leaks: dropped
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=1 / 3, stratify=y, random_state=SEED
    )
    categorical = ["ip", "app", "device", "os", "channel"]
    split = "stratified random 2/3 train, 1/3 test (seed 0); hour of click_time binned"
    return X_train, y_train, X_test, y_test, categorical, split


def synthetic():
    X, y = make_ctr_classification(n_samples=6000, as_frame=True, random_state=SEED)
    X_train, X_test, y_train, y_test = train_test_split(
        X, np.asarray(y), test_size=1 / 3, random_state=SEED
    )
    return X_train, y_train, X_test, y_test, list(X.columns), "random 2/3 train, 1/3 test"


# Columns of lists (to their separator) that the models of the family read as multi-valued
# fields, FieldEncoder(multi_valued=...); the references keep each list as one category.
# One-hot LR on MovieLens: 0.7764 with the joined genres, 0.7771 with the 19 genre flags
# in their place (C tuned alike).
MULTI_VALUED = {"movielens": {"genres": "|"}}

LOADERS = {
    "frappe": frappe,
    "frappe_260k": frappe_260k,
    "criteo": criteo,
    "criteo_110k": criteo_110k,
    "avazu": avazu,
    "movielens": movielens,
    "talkingdata": talkingdata,
    "synthetic": synthetic,
}
