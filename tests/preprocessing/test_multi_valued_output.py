"""FieldEncoder's multi-valued output: named slot columns, inverse_transform, save and load."""

import io
import math
import pickle

import numpy as np
import pandas as pd
import pytest
from multi_valued_cases import frame_with_genres
from sklearn.base import clone
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer

from sklearn_deepfm import FieldEncoder
from sklearn_deepfm._slots import field_slices
from sklearn_deepfm.io._persistence import load, save

# -- output ----------------------------------------------------------------------------


@pytest.mark.parametrize("numeric_encoding", ["quantile", "value"])
def test_output_is_a_frame_of_named_slots_with_the_index_of_X(numeric_encoding):
    X = frame_with_genres()
    encoder = FieldEncoder(multi_valued={"genres": "|"}, numeric_encoding=numeric_encoding)
    for out in (encoder.fit_transform(X), encoder.transform(X)):
        assert isinstance(out, pd.DataFrame)
        assert out.columns.tolist() == ["site", "genres[0]", "genres[1]", "genres[2]", "price"]
        assert out.columns.tolist() == encoder.get_feature_names_out().tolist()
        assert out.index.equals(X.index)
        value = numeric_encoding == "value"
        assert out.dtypes.tolist() == [np.int64] * 4 + [np.float64 if value else np.int64]
    assert encoder.field_slices_ == [slice(0, 1), slice(1, 4), slice(4, 5)]
    assert out.iloc[:, 1:4].to_numpy().tolist() == [[3, 4, 0], [4, 0, 0], [0, 0, 0], [2, 3, 4]]
    pandas_out = clone(encoder).set_output(transform="pandas").fit_transform(X)
    pd.testing.assert_frame_equal(pandas_out, out)


def test_numpy_input_gives_positional_slot_names():
    X = np.array([["a", "x|y"], ["b", None]], dtype=object)
    encoder = FieldEncoder(multi_valued={1: "|"}).fit(X)
    out = encoder.transform(X)
    assert out.columns.tolist() == ["x0", "x1[0]", "x1[1]"]
    assert out.index.equals(pd.RangeIndex(2))
    assert encoder.get_feature_names_out(["site", "tags"]).tolist() == [
        "site",
        "tags[0]",
        "tags[1]",
    ]


def test_polars_output_carries_the_slot_names():
    pl = pytest.importorskip("polars")
    encoder = FieldEncoder(multi_valued={"genres": "|"}).set_output(transform="polars")
    out = encoder.fit_transform(frame_with_genres())
    assert isinstance(out, pl.DataFrame)
    assert out.columns == encoder.get_feature_names_out().tolist()


def test_without_multi_valued_fields_the_output_stays_an_array():
    X = frame_with_genres()
    encoder = FieldEncoder().fit(X)
    assert isinstance(encoder.transform(X), np.ndarray)
    assert encoder.field_slices_ == [slice(0, 1), slice(1, 2), slice(2, 3)]
    assert encoder.n_truncated_.tolist() == [0, 0, 0]


def test_the_next_pipeline_step_sees_the_fields_in_the_column_names():
    seen = {}

    def record(X):
        seen["columns"] = list(X.columns)
        return X

    encoder = FieldEncoder(multi_valued={"genres": "|"})
    pipeline = make_pipeline(encoder, FunctionTransformer(record))
    pipeline.fit_transform(frame_with_genres())
    assert field_slices(seen["columns"]) == encoder.field_slices_


def test_inverse_transform_gives_lists():
    X = pd.DataFrame({"tags": [["b", None, "a"], [], None, ["zz", "a"]]})
    encoder = FieldEncoder(multi_valued=["tags"]).fit(X.iloc[:3])
    back = encoder.inverse_transform(encoder.transform(X))[:, 0].tolist()
    assert back[:3] == [["b", back[0][1], "a"], [], []]
    assert math.isnan(back[0][1])
    assert back[3] == [None, "a"]  # unknown values come back as None
    with pytest.raises(ValueError, match=r"expects 3 columns, one per field \(width"):
        encoder.inverse_transform(np.zeros((1, 2)))
    with pytest.raises(ValueError, match=r"codes of column 'tags' must be integers in \[0, 5\)"):
        encoder.inverse_transform(np.array([[5, 0, 0]]))


# -- saving ----------------------------------------------------------------------------


def test_save_load_and_pickle_round_trips(tmp_path):
    X = frame_with_genres().assign(tags=[["x"], [], ["y", None], None])
    multi_valued = {"genres": "|", 3: None}
    encoder = FieldEncoder(multi_valued=multi_valued, max_len=2)
    with pytest.warns(UserWarning, match="'genres'"):
        encoder.fit(X)
    with pytest.warns(UserWarning, match="'genres'"):
        expected = encoder.transform(X)
    buffer = io.BytesIO()
    save(Pipeline([("encoder", encoder), ("model", "passthrough")]), buffer)
    loaded = load(io.BytesIO(buffer.getvalue()))
    for other in (loaded[0], pickle.loads(pickle.dumps(encoder))):
        assert other.get_params() == encoder.get_params()
        assert other.field_slices_ == encoder.field_slices_
        np.testing.assert_array_equal(other.n_truncated_, encoder.n_truncated_)
        with pytest.warns(UserWarning, match="'genres'"):
            pd.testing.assert_frame_equal(other.transform(X), expected)
        with pytest.warns(UserWarning, match="'genres'"):
            pd.testing.assert_frame_equal(other.transform(X.iloc[[3]]), expected.iloc[[3]])


@pytest.mark.parametrize(
    "change, match",
    [
        ({"separator": ","}, "has the separator ','"),
        ({"width": 0}, "multi_valued field 1 .* is inconsistent"),
        ({"missing_code": 2}, "is inconsistent"),
        ({"kind": "categorical"}, "contradicts multi_valued"),
    ],
)
def test_loading_refuses_a_multi_valued_field_that_contradicts_itself(change, match):
    encoder = FieldEncoder(multi_valued={"genres": "|"}).fit(frame_with_genres())
    state = encoder._get_fitted_state()
    state["fields"][1].update(change)
    with pytest.raises(ValueError, match=match):
        clone(encoder)._set_fitted_state(state)
