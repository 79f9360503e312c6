"""Synthetic click-through-rate data in the style of ``sklearn.datasets``."""

import itertools

import numpy as np
import pandas as pd
from scipy.special import expit
from sklearn.utils import check_random_state


def make_ctr_classification(
    n_samples=10_000,
    *,
    cardinalities=(50, 30, 20, 10, 10, 5),
    n_numeric=0,
    embedding_dim=4,
    order1_scale=0.5,
    pairwise_scale=1.0,
    higher_order_scale=1.0,
    positive_rate=0.25,
    zipf_exponent=1.1,
    as_frame=False,
    random_state=None,
):
    """Generate clicks driven by order-1, pairwise and higher-order field interactions.

    Each categorical field draws its values from a Zipf-like distribution (a few
    frequent values and a long tail, as in real CTR logs). A hidden DeepFM-like
    model scores every row: a bias, one weight per value (order-1), the inner
    products of hidden per-value embeddings for every pair of fields (pairwise)
    and products of per-value hidden scalars over every triple of fields
    (order three, which no pairwise model can express). The bias is set so
    that the expected click rate equals ``positive_rate``; clicks are
    Bernoulli draws from the sigmoid of the score.

    Parameters
    ----------
    n_samples : int, default=10_000
        Number of rows.
    cardinalities : sequence of int, default=(50, 30, 20, 10, 10, 5)
        Number of distinct values of each categorical field.
    n_numeric : int, default=0
        Number of continuous fields (log-normal counts, as Criteo's I1..I13);
        each acts through a hidden embedding scaled by its log value.
    embedding_dim : int, default=4
        Size of the hidden embeddings.
    order1_scale, pairwise_scale, higher_order_scale : float
        Standard deviation of each component of the hidden score; set one to 0
        to remove that kind of signal.
    positive_rate : float, default=0.25
        Expected fraction of clicks, in (0, 1).
    zipf_exponent : float, default=1.1
        Skew of the value frequencies; 0 gives uniform values.
    as_frame : bool, default=False
        If True, return a DataFrame whose categorical columns ``C1, C2, ...``
        hold strings (``"C1_17"``) and numeric columns ``I1, I2, ...`` hold
        floats, and a Series ``y``. If False, return a float array whose
        categorical columns hold the value ids ``0 .. cardinality-1``, followed
        by the numeric columns, and an int array ``y``.
    random_state : int, RandomState instance or None, default=None
        Seed for reproducible output.

    Returns
    -------
    X : ndarray of shape (n_samples, n_fields) or DataFrame
        The fields: categorical first, then numeric. The array is int64 when
        ``n_numeric == 0``, else float64.
    y : ndarray of shape (n_samples,) or Series
        Clicks, 0 or 1.

    Examples
    --------
    >>> from sklearn_deepfm import make_ctr_classification
    >>> X, y = make_ctr_classification(n_samples=100, random_state=0)
    >>> X.shape, y.shape
    ((100, 6), (100,))
    """
    if n_samples < 1:
        raise ValueError(f"n_samples must be at least 1. Got {n_samples}.")
    if not 0 < positive_rate < 1:
        raise ValueError(f"positive_rate must lie in (0, 1). Got {positive_rate}.")
    cardinalities = [int(c) for c in cardinalities]
    if any(c < 1 for c in cardinalities):
        raise ValueError(f"every cardinality must be at least 1. Got {cardinalities}.")
    rng = check_random_state(random_state)

    codes = np.column_stack(
        [_zipf_codes(rng, c, n_samples, zipf_exponent) for c in cardinalities]
    ).reshape(n_samples, len(cardinalities))
    numeric = rng.lognormal(mean=1.0, sigma=1.5, size=(n_samples, n_numeric)).round()
    score = _hidden_score(
        rng,
        codes,
        cardinalities,
        np.log1p(numeric),
        embedding_dim,
        order1_scale,
        pairwise_scale,
        higher_order_scale,
    )
    bias = _bias_for_rate(score, positive_rate)
    y = (rng.uniform(size=n_samples) < expit(score + bias)).astype(np.int64)

    if not as_frame:
        X = codes if n_numeric == 0 else np.hstack([codes, numeric])
        return X, y
    frame = {
        f"C{f + 1}": pd.Series(codes[:, f]).map(f"C{f + 1}_{{}}".format)
        for f in range(len(cardinalities))
    }
    frame.update({f"I{f + 1}": numeric[:, f] for f in range(n_numeric)})
    return pd.DataFrame(frame), pd.Series(y, name="click")


def _zipf_codes(rng, cardinality, n_samples, exponent):
    """Draw value ids with probability proportional to 1 / rank**exponent."""
    weights = 1.0 / np.arange(1, cardinality + 1) ** exponent
    # A random permutation decouples the id of a value from its frequency.
    ids = rng.permutation(cardinality)
    return ids[rng.choice(cardinality, size=n_samples, p=weights / weights.sum())]


def _hidden_score(rng, codes, cardinalities, log_numeric, k, s1, s2, s3):
    """Score rows with a random DeepFM-like model; each part has std ~ its scale."""
    n_samples, n_cat = codes.shape
    n_fields = n_cat + log_numeric.shape[1]
    weights = [rng.normal(size=c) for c in cardinalities]
    tables = [rng.normal(size=(c, k)) for c in cardinalities]
    numeric_vectors = rng.normal(size=(log_numeric.shape[1], k))
    embeddings = np.concatenate(
        [
            np.stack([t[codes[:, f]] for f, t in enumerate(tables)], axis=1),
            log_numeric[:, :, None] * numeric_vectors[None],
        ],
        axis=1,
    )  # (n_samples, n_fields, k)
    order1 = sum(w[codes[:, f]] for f, w in enumerate(weights)) + log_numeric.sum(axis=1)
    summed = embeddings.sum(axis=1)
    pairwise = 0.5 * ((summed**2).sum(axis=1) - (embeddings**2).sum(axis=(1, 2)))
    # Order three: products of hidden per-value scalars over field triples,
    # which no sum of pairwise terms can express.
    scalars = embeddings @ rng.normal(size=k)  # (n_samples, n_fields)
    higher = (
        sum(
            scalars[:, a] * scalars[:, b] * scalars[:, c]
            for a, b, c in itertools.combinations(range(n_fields), 3)
        )
        if n_fields >= 3
        else np.zeros(n_samples)
    )
    return sum(
        scale * _standardize(part) for scale, part in [(s1, order1), (s2, pairwise), (s3, higher)]
    )


def _standardize(values):
    std = values.std()
    return (values - values.mean()) / std if std > 0 else np.zeros_like(values)


def _bias_for_rate(score, rate, n_steps=60):
    """Bisect the bias that makes the mean click probability equal ``rate``."""
    low, high = -30.0, 30.0
    for _ in range(n_steps):
        middle = (low + high) / 2
        if expit(score + middle).mean() < rate:
            low = middle
        else:
            high = middle
    return (low + high) / 2
