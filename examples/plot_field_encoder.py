"""
Encoding fields: kinds, unseen, rare and missing values, lists
==============================================================

``FieldEncoder`` turns each DataFrame column into one field of integer codes for DeepFM.
This example shows its rules on a small frame, then encodes MovieLens 100K's users and
movies (``../shared/data/movielens_100k``; a generated frame of the same shape when it is
absent), with the genres as a multi-valued field, and draws how many codes each field got.
"""

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from sklearn_deepfm import FieldEncoder
from sklearn_deepfm.datasets import load_movielens_100k

try:
    EXAMPLES = Path(__file__).resolve().parent
except NameError:  # the gallery runs each example from its folder, without __file__
    EXAMPLES = Path.cwd()
MOVIELENS = EXAMPLES.parents[1] / "shared" / "data" / "movielens_100k"

# %%
# The kinds of field, and code 0
# ------------------------------
# Text columns are categorical; an integer column is categorical when the last word of
# its name says id (``user_id``), and numeric otherwise (``age``: quantile bins). Code 0
# is reserved for values unseen in ``fit`` or rarer than ``min_frequency``; a missing
# value seen in ``fit`` (as often as ``min_frequency``) gets a code of its own.
train = pd.DataFrame(
    {
        "site": ["news", "news", "sport", "sport", "blog", None],
        "user_id": [7, 7, 8, 9, 9, 9],
        "age": [18, 25, 31, 40, 52, 67],
    }
)
encoder = FieldEncoder(n_bins=3, min_frequency=2).fit(train)
new = pd.DataFrame(
    {"site": ["sport", "blog", "shop", None], "user_id": [9, 8, 1, 7], "age": [20, 35, 60, 99]}
)
print(
    pd.concat(
        [
            new,
            pd.DataFrame(encoder.transform(new), columns=["site code", "user_id code", "age code"]),
        ],
        axis=1,
    )
)
print("codes per field:", dict(zip(encoder.feature_names_in_, encoder.cardinalities_, strict=True)))

# %%
# ``blog``, user 8 and the missing site were seen once, below ``min_frequency=2``, and
# ``shop`` and user 1 never: all five get code 0. Columns are matched by name, so a
# reordered frame gives the same codes.
assert (encoder.transform(new[["age", "user_id", "site"]]) == encoder.transform(new)).all()

# %%
# A multi-valued field
# --------------------
# A list of values per row, here genres written ``Comedy|Drama``: the field takes one
# output column per slot, code 0 pads, 1 is a value unseen in ``fit``, and the model
# pools the slots into one field.
genres = FieldEncoder(multi_valued={"genres": "|"})
print(genres.fit_transform(pd.DataFrame({"genres": ["Comedy|Drama", "Drama", None]})))

# %%
# MovieLens 100K
# --------------
if (MOVIELENS / "u.data").exists():
    X = load_movielens_100k(MOVIELENS).drop(columns=["rating", "timestamp"], errors="ignore")
    name = "MovieLens 100K"
else:
    rng = np.random.default_rng(0)
    pool = np.array(["Action", "Comedy", "Drama", "Romance", "Thriller"])
    X = pd.DataFrame(
        {
            "user_id": rng.integers(1, 944, 5_000),
            "item_id": rng.integers(1, 1_683, 5_000),
            "age": rng.integers(7, 74, 5_000),
            "gender": rng.choice(["F", "M"], 5_000),
            "genres": [
                "|".join(rng.choice(pool, rng.integers(1, 4), replace=False)) for _ in range(5_000)
            ],
        }
    )
    name = "generated ratings"
movie_encoder = FieldEncoder(multi_valued={"genres": "|"}).fit(X)
codes = movie_encoder.transform(X)
print(f"{name}: {X.shape[1]} columns -> {codes.shape[1]} output columns")
print(codes.head())

fig, ax = plt.subplots(figsize=(7, 3.6))
ax.bar(movie_encoder.feature_names_in_, movie_encoder.cardinalities_)
ax.set_yscale("log")
ax.set_ylabel("codes (log scale)")
ax.set_title(f"Codes per field of FieldEncoder on {name}")
ax.tick_params(axis="x", rotation=30)
fig.tight_layout()
plt.show()
