"""load_movielens_100k on the shared MovieLens 100K files."""

import numpy as np
import pandas as pd
from reader_cases import DATA, shared

from sklearn_deepfm.datasets import MOVIELENS_FIELDS, MOVIELENS_GENRES, load_movielens_100k

MOVIELENS = DATA / "movielens_100k"


# --- MovieLens 100K ---------------------------------------------------------------------------


def test_movielens_joins_every_rating_with_its_user_and_movie():
    frame = load_movielens_100k(shared(MOVIELENS))
    assert frame.shape == (100_000, 9)
    assert list(frame.columns) == [*MOVIELENS_FIELDS, "rating"]
    assert frame["rating"].dtype == np.float64 and set(frame["rating"]) == {1, 2, 3, 4, 5}
    assert frame[["user_id", "item_id"]].nunique().tolist() == [943, 1682]
    toy_story = frame[frame["item_id"] == 1].iloc[0]  # u.item's first line
    assert (toy_story["genres"], toy_story["year"]) == ("Animation|Children's|Comedy", 1995)
    genres = {g for cell in frame["genres"] for g in cell.split("|")}
    assert genres == set(MOVIELENS_GENRES)
    X, y = load_movielens_100k(MOVIELENS, return_X_y=True)
    pd.testing.assert_frame_equal(X, frame[MOVIELENS_FIELDS])
    np.testing.assert_array_equal(y, frame["rating"].to_numpy())
