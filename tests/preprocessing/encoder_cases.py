"""The CTR-like frame and the numeric encodings that FieldEncoder's test modules share."""

import numpy as np
import pandas as pd

NUMERIC_ENCODINGS = ["quantile", "log_square", "value"]


def make_frame(n=300, seed=0):
    """A small CTR-like frame: str, object, category, bool, int and float columns."""
    rng = np.random.default_rng(seed)
    site = rng.choice(["a", "b", "c", "d"], size=n).astype(object)
    site[rng.random(n) < 0.1] = None
    clicks = np.floor(rng.lognormal(1.0, 1.5, n))
    clicks[rng.random(n) < 0.1] = np.nan
    return pd.DataFrame(
        {
            "site": pd.Series(site, dtype="str"),
            "app": pd.Series(rng.choice(["x", "y", "z"], size=n), dtype=object),
            "device": pd.Categorical(rng.choice(["ios", "android"], size=n)),
            "is_new": rng.random(n) < 0.3,
            "user_id": rng.integers(0, 20, size=n),
            "clicks": clicks,
            "price": rng.normal(10.0, 3.0, size=n),
        }
    )
