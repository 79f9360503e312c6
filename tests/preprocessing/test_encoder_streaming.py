"""FieldEncoder.partial_fit over chunks against fit on their concatenation."""

import numpy as np
import pandas as pd
import pytest
from conftest import SHARED_DATA

from sklearn_deepfm import FieldEncoder
from sklearn_deepfm.datasets import iter_criteo, load_criteo
from sklearn_deepfm.preprocessing._numeric import SAMPLE_SIZE


def mixed_frame(n, seed):
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "site": pd.Series(
                rng.choice(["a", "b", "c", "d", None], n, p=[0.5, 0.2, 0.1, 0.1, 0.1])
            ),
            "app": pd.Series(rng.zipf(1.5, n).astype(str), dtype=object),
            "device": pd.Categorical(rng.choice(["ios", "android"], n)),
            "clicks": np.where(rng.random(n) < 0.1, np.nan, np.floor(rng.lognormal(1, 1.5, n))),
            "price": rng.normal(10, 3, n),
        }
    )


def stream(encoder, X, chunk):
    for start in range(0, len(X), chunk):
        encoder.partial_fit(X.iloc[start : start + chunk])
    return encoder


@pytest.mark.parametrize("numeric_encoding", ["quantile", "log_square", "value"])
@pytest.mark.parametrize(
    "params", [{}, {"min_frequency": 3}, {"max_categories": 5}, {"min_frequency": 0.01}]
)
def test_partial_fit_gives_the_codes_of_fit_on_the_concatenation(numeric_encoding, params):
    X = mixed_frame(3000, 0)
    whole = FieldEncoder(numeric_encoding=numeric_encoding, **params).fit(X)
    chunked = stream(FieldEncoder(numeric_encoding=numeric_encoding, **params), X, 700)
    np.testing.assert_array_equal(chunked.cardinalities_, whole.cardinalities_)
    np.testing.assert_allclose(chunked.transform(X), whole.transform(X), rtol=1e-12, atol=1e-12)
    for ours, theirs in zip(chunked.categories_, whole.categories_, strict=True):
        if ours is not None:
            assert pd.Index(ours).equals(pd.Index(theirs))


def test_quantile_edges_from_the_sample_are_close_beyond_its_size():
    rng = np.random.default_rng(1)
    X = pd.DataFrame({"x": rng.lognormal(0, 1, SAMPLE_SIZE + 100_000)})
    whole = FieldEncoder(n_bins=8).fit(X)
    chunked = stream(FieldEncoder(n_bins=8), X, 60_000)
    # a uniform sample of 200,000 values: each inner edge within 0.005 of its
    # quantile rank in all values (the sample's rank error is about 0.001)
    ranks = np.searchsorted(np.sort(X["x"]), chunked.categories_[0][1:-1]) / len(X)
    np.testing.assert_allclose(ranks, np.arange(1, 8) / 8, atol=0.005)
    assert not np.array_equal(chunked.categories_[0], whole.categories_[0])


def test_a_later_fit_starts_the_stream_anew():
    X = mixed_frame(500, 2)
    encoder = stream(FieldEncoder(), X, 200)
    encoder.fit(X.iloc[:100])
    encoder.partial_fit(X.iloc[100:200])
    expected = FieldEncoder().fit(X.iloc[100:200])
    np.testing.assert_array_equal(encoder.transform(X), expected.transform(X))


def test_later_chunks_must_hold_the_fitted_columns():
    X = mixed_frame(200, 3)
    encoder = FieldEncoder().partial_fit(X)
    with pytest.raises(ValueError, match="lacks the column"):
        encoder.partial_fit(X.drop(columns="site"))


def test_partial_fit_on_criteo_chunks_equals_fit():
    path = SHARED_DATA / "criteo_8k" / "criteo_8k.txt"
    if not path.exists():
        pytest.skip(f"{path} is absent (../shared/data beside the checkout)")
    encoder = FieldEncoder(numeric_encoding="log_square", min_frequency=2)
    for chunk in iter_criteo(path, chunksize=1500):
        encoder.partial_fit(chunk.drop(columns="label"))
    X = load_criteo(path).drop(columns="label")
    whole = FieldEncoder(numeric_encoding="log_square", min_frequency=2).fit(X)
    np.testing.assert_array_equal(encoder.transform(X), whole.transform(X))


def test_the_deferred_state_survives_pickling_and_saving():
    import io
    import pickle

    from sklearn_deepfm import load, save

    X = mixed_frame(1000, 4)
    chunked = stream(FieldEncoder(min_frequency=2), X, 300)
    copied = pickle.loads(pickle.dumps(chunked))  # pickled before anything read the state
    buffer = io.BytesIO()
    save(chunked, buffer)
    expected = FieldEncoder(min_frequency=2).fit(X).transform(X)
    for encoder in (copied, chunked, load(io.BytesIO(buffer.getvalue()))):
        np.testing.assert_array_equal(encoder.transform(X), expected)


def test_one_row_lookups_follow_the_chunks():
    encoder = FieldEncoder().partial_fit(pd.DataFrame({"site": ["a", "b"]}))
    assert encoder.transform(pd.DataFrame({"site": ["c"]})).tolist() == [[0]]  # one-row path
    encoder.partial_fit(pd.DataFrame({"site": ["c"]}))
    assert encoder.transform(pd.DataFrame({"site": ["c"]})).tolist() == [[3]]


PENDING = ["categories_", "cardinalities_", "field_slices_", "n_truncated_"]


@pytest.mark.parametrize("first_read", [*PENDING, "transform"])
def test_partial_fit_leaves_the_fitted_attributes_to_its_first_read(first_read):
    X = mixed_frame(600, 5)
    encoder = stream(FieldEncoder(min_frequency=2), X, 250)
    assert not set(PENDING) & set(vars(encoder))  # counted only, nothing sorted yet
    if first_read == "transform":
        encoder.transform(X.iloc[:3])
    else:
        getattr(encoder, first_read)
    assert set(PENDING) <= set(vars(encoder))  # one read sets them all, as plain attributes
    whole = FieldEncoder(min_frequency=2).fit(X)
    np.testing.assert_array_equal(encoder.cardinalities_, whole.cardinalities_)
    assert encoder.field_slices_ == whole.field_slices_
    encoder.partial_fit(X.iloc[:10])
    assert not set(PENDING) & set(vars(encoder))
