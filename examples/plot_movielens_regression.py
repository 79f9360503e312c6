"""
Rating regression with DeepFMRegressor and multi-valued genres
==============================================================

``DeepFMRegressor`` is DeepFM with an identity output, trained with the squared error on
a target it standardises itself. Here it predicts MovieLens 100K ratings (1 to 5) from
the user (id, age, gender, occupation, zip) and the movie (id, year, genres), the genres
read as a multi-valued field, against ridge regression on the one-hot codes. The data
are ``../shared/data/movielens_100k`` (a sample of 20,000 ratings, so that the gallery
builds in seconds), or generated ratings when it is absent. The measured comparison on
all 100,000 ratings is on the :doc:`/benchmarks` page.
"""

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.linear_model import Ridge
from sklearn.metrics import root_mean_squared_error
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder

from sklearn_deepfm import DeepFMRegressor, FieldEncoder
from sklearn_deepfm.datasets import load_movielens_100k

try:
    EXAMPLES = Path(__file__).resolve().parent
except NameError:  # the gallery runs each example from its folder, without __file__
    EXAMPLES = Path.cwd()
MOVIELENS = EXAMPLES.parents[1] / "shared" / "data" / "movielens_100k"


def generated_ratings(n=20_000, seed=0):
    """Ratings from user and movie factors plus a genre effect, in the MovieLens layout."""
    rng = np.random.default_rng(seed)
    users, movies = rng.integers(0, 500, n), rng.integers(0, 800, n)
    user_factor, movie_factor = rng.normal(size=(500, 3)), rng.normal(size=(800, 3))
    pool = np.array(["Action", "Comedy", "Drama", "Romance", "Thriller"])
    movie_genres = [rng.choice(5, rng.integers(1, 3), replace=False) for _ in range(800)]
    genre_effect = rng.normal(scale=0.4, size=5)
    score = (user_factor[users] * movie_factor[movies]).sum(axis=1) * 0.4 + np.array(
        [genre_effect[movie_genres[m]].mean() for m in movies]
    )
    frame = pd.DataFrame(
        {
            "user_id": users,
            "item_id": movies,
            "age": rng.integers(7, 74, 500)[users],
            "gender": rng.choice(["F", "M"], 500)[users],
            "genres": ["|".join(pool[movie_genres[m]]) for m in movies],
        }
    )
    return frame, np.clip(np.round(3.5 + score + rng.normal(scale=0.7, size=n)), 1, 5)


if (MOVIELENS / "u.data").exists():
    frame = load_movielens_100k(MOVIELENS).sample(20_000, random_state=0)
    y = frame.pop("rating").to_numpy()
    name = "MovieLens 100K, 20,000 ratings"
else:
    frame, y = generated_ratings()
    name = "generated ratings"
X_train, X_test, y_train, y_test = train_test_split(frame, y, test_size=0.2, random_state=0)
categorical = [c for c in ("user_id", "item_id", "gender", "occupation", "zip") if c in frame]

# %%
# Two pipelines on the same encoder
# ---------------------------------
# ``multi_valued={"genres": "|"}`` makes "Comedy|Romance" two values of one field, each
# genre with its own embedding, a movie the mean of its genres'.
deepfm = make_pipeline(
    FieldEncoder(categorical_features=categorical, multi_valued={"genres": "|"}),
    DeepFMRegressor(max_epochs=10, random_state=0, n_threads=1),
).fit(X_train, y_train)
ridge = make_pipeline(
    FieldEncoder(categorical_features=categorical, multi_valued={"genres": "|"}),
    OneHotEncoder(handle_unknown="ignore"),
    Ridge(alpha=3.0),  # the alpha RidgeCV picked on all the ratings (benchmarks)
).fit(X_train, y_train)

predictions = {"DeepFMRegressor": deepfm.predict(X_test), "ridge, one-hot": ridge.predict(X_test)}
for label, predicted in predictions.items():
    print(f"{label:<16} test RMSE {root_mean_squared_error(y_test, predicted):.4f}")
print(
    "predicting the mean rating: RMSE "
    f"{root_mean_squared_error(y_test, np.full(len(y_test), y_train.mean())):.4f}"
)

# %%
# Predictions by true rating
# --------------------------
# The spread of the predictions for each true rating: a model that ranks well moves the
# boxes up from left to right; both shrink towards the mean, as least squares does.
fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), sharey=True)
levels = np.unique(y_test)
for ax, (label, predicted) in zip(axes, predictions.items(), strict=True):
    ax.boxplot([predicted[y_test == level] for level in levels], showfliers=False)
    ax.set_xticks(range(1, len(levels) + 1), [f"{level:g}" for level in levels])
    rmse = root_mean_squared_error(y_test, predicted)
    ax.set_title(f"{label} (RMSE {rmse:.3f})")
    ax.set_xlabel("true rating")
axes[0].set_ylabel("predicted rating")
fig.suptitle(name)
fig.tight_layout()
plt.show()
