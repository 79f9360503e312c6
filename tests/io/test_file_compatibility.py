"""Model files written by an earlier version load and predict exactly as they did then."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sklearn_deepfm import load

DATA = Path(__file__).parent / "files"
# Written by tests/io/files/make_v0.1.0_fixtures.py with sklearn-deepfm 0.1.0 (commit e065fe9),
# with the probabilities that version predicted for the rows stored beside them.
EXPECTED = json.loads((DATA / "v0.1.0_expected.json").read_text())


@pytest.mark.parametrize("name", sorted(EXPECTED["probability"]))
def test_a_file_of_version_0_1_0_predicts_as_it_did(name):
    model = load(DATA / f"{name}_v0.1.0.deepfm")
    rows = pd.DataFrame.from_records(EXPECTED["rows"])
    # float32 kernels sum in a different order on other CPUs (AVX2 against AVX-512):
    # a few units in the last place, where a wrong weight or code moves the 1e-3 scale
    np.testing.assert_allclose(
        model.predict_proba(rows)[:, 1], np.array(EXPECTED["probability"][name]), rtol=1e-5
    )


def test_a_file_of_version_0_1_0_continues_training():
    model = load(DATA / "ipnn_value_v0.1.0.deepfm")
    rows = pd.DataFrame.from_records(EXPECTED["rows"])
    y = np.arange(len(rows)) % 2
    before = model.predict_proba(rows)[:, 1]
    model[-1].partial_fit(model[:-1].transform(rows), y)
    assert not np.array_equal(model.predict_proba(rows)[:, 1], before)
    assert model[-1].batch_norm_ is model[-1].batch_norm  # what the file's network has
