"""FieldEncoder's errors on invalid multi_valued parameters and undeclared list columns."""

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from multi_valued_cases import frame_with_genres

from sklearn_deepfm import FieldEncoder

# -- errors ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "params, X, error, match",
    [
        (
            {},
            pd.DataFrame({"tags": [["a", "b"], ["c"]]}),
            ValueError,
            r"column 'tags' holds the unhashable value \['a', 'b'\].*multi_valued=\{'tags': None\}",
        ),
        (
            {"multi_valued": {"genre": "|"}},
            pd.DataFrame({"genres": ["a"]}),
            ValueError,
            r"multi_valued names the column 'genre', which X does not have; X's columns are "
            r"\['genres'\]",
        ),
        (
            {"multi_valued": [3]},
            pd.DataFrame({"genres": ["a"]}),
            ValueError,
            r"multi_valued holds the position 3, but X has only 1 columns",
        ),
        (
            {"multi_valued": {"genres": ""}},
            pd.DataFrame({"genres": ["a"]}),
            ValueError,
            r"multi_valued maps the column 'genres' to '', but a separator must be a non-empty",
        ),
        (
            {"multi_valued": {"genres": 3}},
            pd.DataFrame({"genres": ["a"]}),
            ValueError,
            r"maps the column 'genres' to 3",
        ),
        (
            {"multi_valued": {"genres": "|", 0: None}},
            pd.DataFrame({"genres": ["a"]}),
            ValueError,
            r"names column 0 twice",
        ),
        (
            {"multi_valued": {"genres": "|"}},
            pd.DataFrame({"genres": pd.Series(["a|b", 7], dtype=object)}),
            ValueError,
            r"column 'genres' is multi-valued with the separator '\|', so its cells must be "
            r"strings or missing; it holds 7 of type int",
        ),
        (
            {"multi_valued": ["genres"]},
            pd.DataFrame({"genres": ["Action|Comedy"]}),
            ValueError,
            r"holds 'Action\|Comedy' of type str\. .*name the separator: "
            r"multi_valued=\{'genres': '\|'\}",
        ),
        (
            {"multi_valued": ["genres"]},
            pd.DataFrame({"genres": pd.Series([["a"], 3], dtype=object)}),
            ValueError,
            r"must be a list, tuple or 1-d array, or missing; it holds 3 of type int",
        ),
        (
            {"multi_valued": ["genres"]},
            pd.DataFrame({"genres": pd.Series([["a", ["b"]]], dtype=object)}),
            TypeError,
            r"lists of column 'genres' must hold hashable scalars .* the list \['b'\]",
        ),
        (
            {"multi_valued": {"genres": "|"}},
            np.array([["a"]], dtype=object),
            ValueError,
            r"'genres', which X does not have; X has no column names",
        ),
        ({"max_len": 0}, pd.DataFrame({"genres": ["a"]}), ValueError, "max_len"),
        ({"multi_valued": "genres"}, pd.DataFrame({"genres": ["a"]}), ValueError, "multi_valued"),
    ],
    ids=[
        "undeclared-lists",
        "missing-name",
        "missing-position",
        "empty-separator",
        "separator-not-str",
        "twice",
        "not-a-string",
        "string-without-separator",
        "not-a-list",
        "nested",
        "names-without-names",
        "max_len",
        "not-a-collection",
    ],
)
def test_invalid_multi_valued_input_raises(params, X, error, match):
    with pytest.raises(error, match=match):
        FieldEncoder(**params).fit(X)


def test_a_list_in_a_column_fitted_as_categorical_suggests_multi_valued():
    encoder = FieldEncoder().fit(pd.DataFrame({"tags": ["a", "b"]}))
    with pytest.raises(TypeError, match=r"multi-valued and refit: .*multi_valued=\{'tags': None\}"):
        encoder.transform(pd.DataFrame({"tags": pd.Series([["a"], "b"], dtype=object)}))


def test_an_arrow_list_column_not_declared_suggests_multi_valued():
    X = pd.DataFrame({"tags": pd.Series([["a"]], dtype=pd.ArrowDtype(pa.list_(pa.string())))})
    with pytest.raises(ValueError, match=r"a list of values per row.*multi_valued=\{'tags'"):
        FieldEncoder().fit(X)


def test_a_multi_valued_column_listed_as_categorical_stays_multi_valued():
    X = frame_with_genres()
    encoder = FieldEncoder(categorical_features=["site", "genres"], multi_valued={"genres": "|"})
    assert encoder.fit_transform(X).shape == (4, 5)
    assert encoder.cardinalities_[1] == 3 + 2
