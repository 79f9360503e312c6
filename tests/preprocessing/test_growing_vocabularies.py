"""FieldEncoder(warm_start=True): a refit appends codes and moves none.

Daily training on new logs: yesterday's network reads yesterday's codes, so a warm fit
must keep every code, append the values first seen (or first frequent enough) after
them, and give rows of old values exactly the codes they had.
"""

import io
import json
import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
from conftest import SHARED_DATA, STRING_STORAGES, raw_inputs

from sklearn_deepfm import FieldEncoder, export_vocabularies, load, save

CRITEO = SHARED_DATA / "criteo_8k" / "criteo_8k.txt"


def stored(frame, storage, columns=("site",)):
    return frame.astype({column: STRING_STORAGES[storage] for column in columns})


def day(sites, **columns):
    """A day of logs: the sites as given, with clicks and user ids to go with them."""
    n = len(sites)
    return pd.DataFrame(
        {
            "site": np.array(sites, dtype=object),
            "user_id": columns.get("user_id", np.arange(n) % 3),
            "clicks": columns.get("clicks", np.linspace(0.0, 50.0, n)),
        }
    )


def warm(**params):
    return FieldEncoder(warm_start=True, **params)


def grown_encoder():
    """An encoder grown over two days: a missing code among the others, a list field."""
    first = pd.DataFrame(
        {
            "site": ["b", "a", None, "a", "b", None],
            "genres": ["Comedy|Drama", "Drama", None, "Drama|Noir", "Comedy", "Noir"],
            "clicks": [1.0, 5.0, 40.0, 3.0, 8.0, 2.0],
        }
    )
    second = pd.DataFrame(
        {
            "site": ["0", "z", "z", "c", "a", None],
            "genres": ["Action|Drama", "Action", "War|Thriller", "War|Action", "", "Comedy"],
            "clicks": [1e4, 1e4, 7.0, 3.0, 2.0, np.nan],
        }
    )
    encoder = warm(min_frequency=2, multi_valued={"genres": "|"}, numeric_encoding="log_square")
    return encoder.fit(first).fit(second), pd.concat([first, second], ignore_index=True)


# -- codes stay, new ones are appended ------------------------------------------------------


@pytest.mark.parametrize("storage", list(STRING_STORAGES))
def test_a_warm_fit_keeps_every_code_and_appends_new_values_sorted(storage):
    monday = stored(day(["b", "a", None, "c", "a"]), storage)
    encoder = warm().fit(monday)
    codes, categories = encoder.transform(monday), [c.copy() for c in encoder.categories_]
    assert categories[0].tolist()[:3] == ["a", "b", "c"] and encoder.cardinalities_[0] == 5

    tuesday = stored(day(["zz", "a", "aa", None, "m", "aa"], user_id=[7, 0, 1, 2, 9, 9]), storage)
    encoder.fit(tuesday)
    np.testing.assert_array_equal(encoder.transform(monday), codes)  # old rows: same codes
    site = encoder.categories_[0]
    assert site[:4].tolist()[:3] == ["a", "b", "c"] and pd.isna(site[3])  # missing stays 4
    assert site[4:].tolist() == ["aa", "m", "zz"]  # appended after it, sorted among them
    assert encoder.categories_[1].tolist() == [0, 1, 2, 7, 9]
    np.testing.assert_array_equal(encoder.categories_[2], categories[2])  # edges frozen
    assert encoder.cardinalities_.tolist()[:2] == [8, 6]
    np.testing.assert_array_equal(encoder.transform(tuesday)[:, 0], [7, 1, 5, 4, 6, 5])


@pytest.mark.parametrize("storage", list(STRING_STORAGES))
def test_min_frequency_counts_every_fit_and_rare_values_keep_their_code(storage):
    encoder = warm(min_frequency=2)
    encoder.fit(stored(day(["a", "a", "a", "b", "c", None]), storage))
    assert encoder.categories_[0].tolist() == ["a"]  # b, c and missing: once each

    encoder.fit(stored(day(["b", "d", None, "e", "e"]), storage))  # b, missing: twice now
    assert encoder.categories_[0][:2].tolist() == ["a", "b"] and pd.isna(encoder.categories_[0][3])
    assert encoder.categories_[0][2] == "e"  # e reached 2 within this fit alone

    encoder.fit(stored(day(["c", "z"]), storage))  # c: twice over three fits; no a today
    codes = encoder.transform(stored(day(["a", "b", None, "e", "c", "d", "z"]), storage))
    np.testing.assert_array_equal(codes[:, 0], [1, 2, 4, 3, 5, 0, 0])


def test_a_float_min_frequency_is_a_fraction_of_the_rows_of_every_fit():
    encoder = warm(min_frequency=0.25).fit(day(["a"] * 5 + ["b", "c", "c"]))  # 2 of 8 rows
    assert encoder.categories_[0].tolist() == ["a", "c"]
    encoder.fit(day(["b", "e", "e"]))  # 2 of 11 rows: not 25% of every fit's rows
    assert encoder.categories_[0].tolist() == ["a", "c"]
    encoder.fit(day(["b"]))  # 3 of 12 rows
    assert encoder.categories_[0].tolist() == ["a", "c", "b"]


def test_max_categories_caps_the_whole_vocabulary():
    encoder = warm(max_categories=3).fit(day(["a", "a", "b"]))
    encoder.fit(day(["e", "d", "c", "c", "c", "d"]))  # room for one: the most frequent
    assert encoder.categories_[0].tolist() == ["a", "b", "c"]
    encoder.fit(day(["d"] * 10))  # full: d stays unknown however frequent
    assert encoder.categories_[0].tolist() == ["a", "b", "c"]
    np.testing.assert_array_equal(encoder.transform(day(["d", "c"]))[:, 0], [0, 3])


def test_changed_min_frequency_applies_to_what_is_added():
    encoder = warm(min_frequency=3).fit(day(["a", "a", "a", "b"]))
    encoder.set_params(min_frequency=2).fit(day(["b", "c"]))
    assert encoder.categories_[0].tolist() == ["a", "b"]


def test_multi_valued_fields_grow_their_shared_vocabulary_and_keep_their_width():
    first = pd.DataFrame({"genres": ["Comedy|Drama", "Drama", None]})
    encoder = warm(multi_valued={"genres": "|"}).fit(first)
    codes = encoder.transform(first)
    second = pd.DataFrame({"genres": ["Western|Action|Drama", "Action", "Comedy"]})
    with pytest.warns(UserWarning, match="'genres'.* 2 slots"):
        encoder.fit(second)
    pd.testing.assert_frame_equal(encoder.transform(first), codes)
    assert encoder.categories_[0].tolist() == ["Comedy", "Drama", "Action", "Western"]
    assert encoder.field_slices_ == [slice(0, 2)] and encoder.n_truncated_.tolist() == [1]
    np.testing.assert_array_equal(encoder.transform(second.iloc[1:]).to_numpy(), [[4, 0], [2, 0]])
    with pytest.raises(ValueError, match="keeps the 2 slots of the multi-valued column 'genres'"):
        encoder.set_params(max_len=3).fit(second)


def test_numeric_fields_are_frozen_and_log_square_bins_grow():
    first = day(["a"] * 6, clicks=[1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    second = day(["a"] * 3, clicks=[1e6, -50.0, 3.0])
    for encoding in ("quantile", "value"):
        encoder = warm(numeric_encoding=encoding).fit(first)
        before = encoder.transform(first)
        np.testing.assert_array_equal(encoder.fit(second).transform(first), before)
        cold = FieldEncoder(numeric_encoding=encoding).fit(first)
        np.testing.assert_array_equal(encoder.transform(second), cold.transform(second))
    encoder = warm(numeric_encoding="log_square").fit(first)
    before = encoder.transform(first)
    assert encoder.categories_[2].tolist() == [1.0, 2.0, 3.0]
    encoder.fit(second)
    np.testing.assert_array_equal(encoder.transform(first), before)
    # appended: int(-50) and floor(ln(1e6) ** 2); 3.0 bins at 1, known
    assert encoder.categories_[2].tolist() == [1.0, 2.0, 3.0, -50.0, 190.0]


def test_the_first_fit_and_a_cold_refit_are_those_of_today():
    monday, tuesday = day(["b", "a", None, "a"]), day(["c", "b", "c"])
    warm_first = warm(min_frequency=2).fit(monday)
    cold_first = FieldEncoder(min_frequency=2).fit(monday)
    np.testing.assert_array_equal(warm_first.transform(tuesday), cold_first.transform(tuesday))
    for got, want in zip(warm_first.categories_, cold_first.categories_, strict=True):
        np.testing.assert_array_equal(got, want)
    refit = cold_first.fit(tuesday)  # warm_start=False: learns anew
    assert refit.categories_[0].tolist() == ["c"]


# -- columns, kinds and errors --------------------------------------------------------------


def test_a_warm_fit_needs_the_columns_of_the_first_fit_in_any_order():
    encoder = warm().fit(day(["a", "b"]))
    expected = warm().fit(day(["a", "b"])).fit(day(["c"])).categories_[0]
    reordered = day(["c"])[["clicks", "site", "user_id"]]
    np.testing.assert_array_equal(encoder.fit(reordered).categories_[0], expected)
    with pytest.raises(ValueError, match=r"X lacks \['user_id'\]"):
        encoder.fit(day(["d"]).drop(columns="user_id"))
    with pytest.raises(ValueError, match=r"has \['extra'\], which the first fit did not see"):
        encoder.fit(day(["d"]).assign(extra=1))


def test_a_column_the_parameters_or_data_make_another_kind_of_field_is_refused():
    encoder = warm().fit(day(["a", "b"]))
    with pytest.raises(
        ValueError, match="column 'site' was fitted as a categorical field .* a quantile field"
    ):
        encoder.fit(day(["a", "b"]).assign(site=[1.5, 2.5]))
    with pytest.raises(ValueError, match="column 'site' .* a hashed field of 8 buckets"):
        encoder.set_params(hash_buckets={"site": 8}).fit(day(["c"]))


def test_an_error_in_one_column_leaves_every_field_as_it_was():
    encoder = warm().fit(day(["a", "b"]))
    bad = day(["c", "d"]).astype({"user_id": object})
    bad.at[1, "user_id"] = [1, 2]
    with pytest.raises(TypeError, match="column 'user_id' holds the unhashable value"):
        encoder.fit(bad)
    assert encoder.categories_[0].tolist() == ["a", "b"]  # site was read first, not grown
    assert encoder.fit(day(["c"])).categories_[0].tolist() == ["a", "b", "c"]


def test_a_warm_fit_grows_what_partial_fit_learned_from_its_counts():
    chunks = [day(["a", "a", "b"]), day(["c", "a"])]
    encoder = FieldEncoder(min_frequency=2)
    for chunk in chunks:
        encoder.partial_fit(chunk)
    np.testing.assert_array_equal(encoder.transform(chunks[0])[:, 0], [1, 1, 0])
    encoder.set_params(warm_start=True).fit(day(["b", "d"]))  # b: once in the chunks, now 2
    np.testing.assert_array_equal(encoder.transform(chunks[0])[:, 0], [1, 1, 2])
    assert encoder.categories_[0].tolist() == ["a", "b"]


def test_warming_an_encoder_that_kept_no_counts_warns():
    encoder = FieldEncoder(min_frequency=2).fit(day(["a", "a", "b"]))
    with pytest.warns(UserWarning) as caught:
        encoder.set_params(warm_start=True).fit(day(["b"]))
    assert [str(w.message).split(",")[0] for w in caught] == [
        f"FieldEncoder.fit: warm_start=True grows column {name!r}" for name in ("site", "user_id")
    ]
    assert "kept no counts of the values it left out" in str(caught[0].message)
    assert encoder.categories_[0].tolist() == ["a"]  # b counts from this fit on: once
    plain = FieldEncoder().fit(day(["a"]))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing is left out without a threshold
        assert plain.set_params(warm_start=True).fit(day(["b"])).categories_[0].tolist() == [
            "a",
            "b",
        ]


# -- round trips and export -----------------------------------------------------------------


def test_a_grown_encoder_round_trips_through_save_load_and_pickle():
    encoder, X = grown_encoder()
    assert pd.isna(encoder.categories_[0][2]) and encoder.categories_[0][3:].tolist() == ["z"]
    buffer = io.BytesIO()
    save(encoder, buffer)
    for other in (load(io.BytesIO(buffer.getvalue())), pickle.loads(pickle.dumps(encoder))):
        pd.testing.assert_frame_equal(other.transform(X), encoder.transform(X))
        pd.testing.assert_frame_equal(other.transform(X.iloc[[4]]), encoder.transform(X.iloc[[4]]))
        np.testing.assert_array_equal(other.cardinalities_, encoder.cardinalities_)
        # the held counts travel too: the next day grows both alike
        third = pd.DataFrame({"site": ["0"], "genres": ["Noir|Thriller"], "clicks": [2.0]})
        grown = pickle.loads(pickle.dumps(encoder)).fit(third)
        assert other.fit(third)._get_fitted_state() == grown._get_fitted_state()
        assert grown.categories_[0][-1] == "0" and grown.categories_[1][-1] == "Thriller"


def test_exports_of_a_grown_encoder_follow_its_codes(tmp_path):
    encoder, X = grown_encoder()
    export_vocabularies(encoder, tmp_path / "vocabularies.json")
    fields = json.loads((tmp_path / "vocabularies.json").read_text(encoding="utf-8"))["fields"]
    site = dict((value, code) for value, code in fields[0]["categories"])
    assert site == {"a": 1, "b": 2, "z": 4} and fields[0]["missing_code"] == 3
    assert "held" not in fields[0]
    expected = encoder.transform(X)["site"].tolist()
    got = [fields[0]["missing_code"] if pd.isna(v) else site.get(v, 0) for v in X["site"]]
    assert got == expected


def test_raw_onnx_encodes_a_grown_encoder_as_transform():
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnxscript")
    import onnxruntime as ort

    from sklearn_deepfm.io._raw_onnx import encoder_model

    _, X = grown_encoder()
    X = X.assign(user_id=np.arange(len(X)) % 9)  # numeric categories, some unseen
    encoder = warm(multi_valued={"genres": "|"}, numeric_encoding="log_square")
    encoder.fit(X[:6].assign(user_id=np.arange(6) % 3)).fit(X[6:].assign(user_id=[5] * 6))
    assert pd.isna(encoder.categories_[0][2])  # the missing code lies among the others
    assert encoder.categories_[3].tolist() == [0, 1, 2, 5]
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(encoder_model(encoder).SerializeToString(), options)
    codes = session.run(["codes"], raw_inputs(session, X))[0]
    np.testing.assert_array_equal(codes, encoder.transform(X).to_numpy())


# -- real rows ------------------------------------------------------------------------------


def test_criteo_days_keep_their_codes():
    if not CRITEO.exists():
        pytest.skip(f"{CRITEO} is absent: the shared data lives outside the repository")
    from sklearn_deepfm.datasets import load_criteo

    X = load_criteo(CRITEO, n_rows=6_000).drop(columns="label")
    monday, tuesday = X[:3_000], X[3_000:]
    encoder = warm(min_frequency=3, numeric_encoding="log_square").fit(monday)
    codes, cardinalities = encoder.transform(monday), encoder.cardinalities_.copy()
    unknown_before = (encoder.transform(tuesday) == 0).sum()
    encoder.fit(tuesday)
    after, known = encoder.transform(monday), codes != 0
    np.testing.assert_array_equal(after[known], codes[known])  # old values: the same codes
    # values rare on Monday keep 0 or get a code after Monday's
    assert ((after[~known] == 0) | (after >= cardinalities)[~known]).all()
    assert (encoder.cardinalities_ >= cardinalities).all()
    assert (encoder.cardinalities_ > cardinalities).sum() >= 10
    assert (encoder.transform(tuesday) == 0).sum() < unknown_before
    # what came after Monday's codes was first frequent enough with Tuesday's rows
    for j, name in enumerate(X.columns[13:], start=13):  # C1 .. C26
        total, before = X[name].value_counts(), monday[name].value_counts()
        for value in encoder.categories_[j][cardinalities[j] - 1 :]:
            if pd.isna(value):
                assert X[name].isna().sum() >= 3 > monday[name].isna().sum()
            else:
                assert total[value] >= 3 > before.get(value, 0)


def test_an_encoder_update_alone_leaves_the_predictions_of_old_rows(one_thread):
    from conftest import TINY
    from sklearn.pipeline import make_pipeline

    from sklearn_deepfm import DeepFMClassifier, make_ctr_classification

    X, y = make_ctr_classification(n_samples=1200, as_frame=True, random_state=0)
    classifier = DeepFMClassifier(max_epochs=2, random_state=0, **TINY)
    model = make_pipeline(FieldEncoder(warm_start=True), classifier).fit(X[:600], y[:600])
    before, cardinalities = model.predict_proba(X[:600]), model[0].cardinalities_.copy()
    model[0].fit(X[600:])  # the encoder only: the network still reads yesterday's codes
    assert (model[0].cardinalities_ > cardinalities).any()
    np.testing.assert_array_equal(model.predict_proba(X[:600]), before)
