"""FieldEncoder's vectorised and one-row paths against a cell-by-cell Python reference."""

import bisect

import numpy as np
import pandas as pd
import pytest

from sklearn_deepfm import FieldEncoder

# nothing here is timed: one thread never waits on another on a busy machine
pytestmark = pytest.mark.usefixtures("one_thread")


def reference_transform(encoder, X):
    """Encode X one cell at a time with Python dicts and bisect, from the fitted attributes."""
    out = np.zeros(X.shape, dtype=np.float64)
    for j, name in enumerate(encoder.feature_names_in_):
        categories = encoder.categories_[j]
        is_vocabulary = categories.dtype == object
        if is_vocabulary:
            has_missing = len(categories) > 0 and pd.isna(categories[-1])
            known = categories[:-1] if has_missing else categories
            codes = {value: i + 1 for i, value in enumerate(known)}
            missing_code = len(categories) if has_missing else 0
        else:  # quantile edges
            n_bins = max(len(categories) - 1, 1)
            missing_code = n_bins + 1 if encoder.cardinalities_[j] == n_bins + 2 else 0
        for i, value in enumerate(X[name].tolist()):
            if pd.isna(value):
                out[i, j] = missing_code
            elif is_vocabulary:
                out[i, j] = codes.get(value, 0)
            else:
                out[i, j] = bisect.bisect_right(categories[1:-1].tolist(), value) + 1
    return out


def test_encoder_transform_matches_a_cell_by_cell_reference(frame_with_missing):
    X, _ = frame_with_missing
    encoder = FieldEncoder().fit(X.iloc[:400])
    new = X.iloc[400:].copy()
    new.loc[new.index[:5], "C1"] = ["unseen", "C1_1", None, "C1_2", "other"]
    new.loc[new.index[:3], "I1"] = [-1e9, 1e9, np.nan]
    np.testing.assert_array_equal(encoder.transform(new), reference_transform(encoder, new))


def test_encoder_one_row_transforms_match_the_batch(frame_with_missing):
    X, _ = frame_with_missing
    encoder = FieldEncoder().fit(X)
    batch = encoder.transform(X.iloc[:30])
    rows = np.vstack([encoder.transform(X.iloc[[i]]) for i in range(30)])
    np.testing.assert_array_equal(rows, batch)
