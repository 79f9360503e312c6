"""Reader of MovieLens 100K (GroupLens' ``ml-100k`` files): ratings joined with users and movies."""

from pathlib import Path

import numpy as np
import pandas as pd

# The 19 genre flags of ``u.item``, in the file's column order.
MOVIELENS_GENRES = [
    "unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime",
    "Documentary", "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery",
    "Romance", "Sci-Fi", "Thriller", "War", "Western",
]  # fmt: skip
MOVIELENS_FIELDS = ["user_id", "item_id", "age", "gender", "occupation", "zip", "genres", "year"]


def load_movielens_100k(path, *, return_X_y=False):
    r"""Load MovieLens 100K: each rating joined with its user's and its movie's attributes.

    Parameters
    ----------
    path : str or path-like
        The folder holding GroupLens' ``u.data`` (ratings), ``u.user`` and
        ``u.item`` (Latin-1).
    return_X_y : bool, default=False
        If True, return ``(X, y)`` instead of one DataFrame.

    Returns
    -------
    frame : pandas.DataFrame of shape (n_ratings, 9)
        The fields of :data:`MOVIELENS_FIELDS` (user id, item id, age, gender,
        occupation, zip; the movie's genres as one string joined by ``"|"``,
        such as ``"Comedy|Romance"``, ready for ``FieldEncoder(multi_valued=
        {"genres": "|"})``; its release year, NaN when unknown), then
        ``rating`` (float64, 1 to 5). Returned when ``return_X_y`` is False.
    (X, y) : tuple of (pandas.DataFrame, numpy.ndarray of float64)
        The fields and the ratings. Returned when ``return_X_y`` is True.

    Examples
    --------
    >>> import os, tempfile
    >>> flags = "|".join("1" if g in ("Comedy", "Drama") else "0" for g in MOVIELENS_GENRES)
    >>> files = {
    ...     "u.data": "7\t3\t4\t881250949\n",
    ...     "u.user": "7|24|M|technician|85711\n",
    ...     "u.item": f"3|Some Film (1995)|01-Jan-1995||http://example.org|{flags}\n",
    ... }
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     for name, text in files.items():
    ...         with open(os.path.join(tmp, name), "w", encoding="latin-1") as file:
    ...             _ = file.write(text)
    ...     X, y = load_movielens_100k(tmp, return_X_y=True)
    >>> X[["user_id", "item_id", "genres", "year"]].to_dict("records"), y.tolist()
    ([{'user_id': 7, 'item_id': 3, 'genres': 'Comedy|Drama', 'year': 1995}], [4.0])
    """
    path = Path(path)
    ratings = pd.read_csv(
        path / "u.data", sep="\t", names=["user_id", "item_id", "rating", "timestamp"]
    )
    users = pd.read_csv(
        path / "u.user", sep="|", names=["user_id", "age", "gender", "occupation", "zip"]
    )
    items = pd.read_csv(
        path / "u.item",
        sep="|",
        encoding="latin-1",
        names=["item_id", "title", "release_date", "video_release_date", "url", *MOVIELENS_GENRES],
    )
    flags = items[MOVIELENS_GENRES].to_numpy(dtype=bool)
    items["genres"] = ["|".join(np.array(MOVIELENS_GENRES)[row]) for row in flags]
    items["year"] = pd.to_datetime(items["release_date"], format="%d-%b-%Y").dt.year
    frame = ratings.merge(users, on="user_id").merge(
        items[["item_id", "genres", "year"]], on="item_id"
    )
    X, y = frame[MOVIELENS_FIELDS], frame["rating"].to_numpy(dtype=np.float64)
    if return_X_y:
        return X, y
    return X.assign(rating=y)
