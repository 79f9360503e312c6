"""Hostile input through the public API: every bad call raises a clear error.

One table, kept in bad_data_cases.py and bad_training_cases.py: each row names the bad
input, the model it goes to, the call, and the error (type and message) the user must
see. The message names the column, the value or the rule; no torch IndexError or
RuntimeError may reach the user.
"""

import copy

import pytest
from bad_data_cases import DATA_CASES
from bad_training_cases import TRAINING_CASES
from sklearn.base import clone
from validation_cases import DATA, MODELS

# (description, model, bad call, error, message): the bad data, then bad training
CASES = DATA_CASES + TRAINING_CASES


@pytest.fixture(scope="module")
def fitted():
    """Each model of MODELS fitted once on its data, built when first asked for."""
    cache = {}

    def get(name):
        if name not in cache:
            model, data = MODELS[name]
            cache[name] = clone(model).fit(getattr(DATA, data), DATA.y)
        return cache[name]

    return get


@pytest.mark.filterwarnings("ignore:X does not have valid feature names")
@pytest.mark.parametrize(
    "description, model, bad_call, error, match", CASES, ids=[case[0] for case in CASES]
)
def test_bad_input_raises_a_clear_error(description, model, bad_call, error, match, fitted):
    method, args, kwargs = bad_call
    if method == "first partial_fit":
        estimator, method = clone(MODELS[model][0]), "partial_fit"
    elif method == "fit" and not getattr(MODELS[model][0], "warm_start", False):
        estimator = clone(MODELS[model][0])
    else:  # a copy, so that a call that wrongly succeeds cannot change the shared model
        estimator = copy.deepcopy(fitted(model))
    with pytest.raises(error, match=match):
        getattr(estimator, method)(*args, **kwargs)
