"""Continued training on new codes: the fields, tables and optimizer state grow (issue 28).

A code beyond ``cardinalities_`` in ``partial_fit`` or a warm-start ``fit`` adds rows to
its field's tables. The growth itself is seen where training starts (``grow`` records the
network as ``CTRNet.partial_fit`` receives it), before any step could move a row.
"""

import io
import pickle

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import MODEL_NAMES, TINY
from sklearn.pipeline import make_pipeline

from sklearn_deepfm import DeepFMClassifier, DeepFMRegressor, FieldEncoder, load, save
from sklearn_deepfm.estimators._net import CTRNet
from sklearn_deepfm.nn import DeepFM, grow_tables
from sklearn_deepfm.parquet import ParquetShards, write_parquet_shards

SMALL = dict(TINY, hidden_layer_sizes=(8,), max_epochs=1, early_stopping=False, random_state=0)
TABLES = ("embedding.embedding.weight", "first_order.embedding.weight")
# The fields' codes of the first fit and of two updates: a continuous field last; field 1
# never grows, but its rows move down when field 0 grows.
FIRST, UPDATE, LATER = (5, 3, 4), (8, 3, 6), (9, 5, 6)

pytestmark = pytest.mark.usefixtures("one_thread")


def codes(cardinalities, n=200, seed=0):
    """Codes holding every code of each field, a continuous column and labels that use both."""
    rng = np.random.default_rng(seed)
    X = np.column_stack([rng.permutation(np.arange(n) % c) for c in cardinalities])
    y = (X[:, 0] + X[:, -1]) % 2 ^ (rng.random(n) < 0.2)
    return np.column_stack([X, rng.normal(size=n)]), y.astype(int)


def snapshot(net):
    """Copies of the tables and of their optimizer state, by parameter name."""
    names = {id(p): name for name, p in net.module_.named_parameters()}
    tables = {n: p.detach().clone() for n, p in net.module_.named_parameters() if n in TABLES}
    states = {}
    for optimizer in net.optimizers().values():
        for param, state in optimizer.state.items():
            if names[id(param)] in TABLES:
                states[names[id(param)]] = {
                    key: value.clone() if torch.is_tensor(value) else value
                    for key, value in state.items()
                }
    return tables, states


def grow(model, method, X, y, monkeypatch):
    """Call ``model.method(X, y)``; return the ``snapshot`` its training started from."""
    found = []
    train = CTRNet.partial_fit

    def recording(net, *args, **kwargs):
        found.append(snapshot(net))
        return train(net, *args, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(CTRNet, "partial_fit", recording)
        if method == "warm_start fit":
            model.set_params(warm_start=True).fit(X, y)
        else:
            getattr(model, method)(X, y)
    assert len(found) == 1
    return found[0]


def moved_rows(old, new):
    """The new position of each old row, and the new rows, of fields grown ``old`` -> ``new``."""
    old, new = np.asarray(old), np.asarray(new)
    starts = np.cumsum(new) - new
    positions = np.concatenate([np.arange(o) + s for o, s in zip(old, starts, strict=True)])
    added = np.setdiff1d(np.arange(new.sum()), positions)
    return torch.as_tensor(positions), torch.as_tensor(added)


def assert_tables_grown(before, after, old, new):
    """Every old row of every table at its new place; new rows as a new fit starts them."""
    positions, added = moved_rows(old, new)
    assert before.keys() == after.keys() and after
    for name, table in after.items():
        assert len(table) == sum(new), name
        assert torch.equal(table[positions], before[name]), name
        if name.startswith("first_order"):  # order-1 weights start at zero
            assert torch.count_nonzero(table[added]) == 0, name
        else:  # embedding rows: normal draws with std 0.01, each its own
            assert (table[added] != 0).all() and table[added].abs().max() < 0.1, name
            assert len(torch.unique(table[added])) == table[added].numel(), name


def fields_of(model):
    return list(model.net_.get_params()["module__cardinalities"])


@pytest.mark.parametrize("sparse", [True, False])
@pytest.mark.parametrize("model", MODEL_NAMES)
def test_growth_keeps_every_old_row_and_starts_new_ones_as_a_new_fit(model, sparse, monkeypatch):
    X1, y1 = codes(FIRST)
    X2, y2 = codes(UPDATE, seed=1)
    clf = DeepFMClassifier(model=model, sparse_embeddings=sparse, **SMALL).fit(X1, y1)
    before, _ = snapshot(clf.net_)
    after, _ = grow(clf, "partial_fit", X2, y2, monkeypatch)
    assert_tables_grown(before, after, [*FIRST, 1], [*UPDATE, 1])
    assert clf.cardinalities_.tolist() == fields_of(clf) == [*UPDATE, 1]
    for table in clf.net_.module_.modules():
        if hasattr(table, "offsets"):
            assert table.offsets.tolist() == [0, 8, 11, 17]
    # the new rows are read: a new code predicts otherwise than the unknown code 0
    new, unknown = X2[:1].copy(), X2[:1].copy()
    new[0, 0], unknown[0, 0] = 7, 0
    assert clf.predict_proba(new)[0, 1] != clf.predict_proba(unknown)[0, 1]
    with pytest.raises(ValueError, match=r"integers in \[0, 8\)"):  # predict does not grow
        clf.predict_proba(np.where(np.arange(4) == 0, 8, new))


@pytest.mark.parametrize("sparse", [True, False])
def test_old_rows_keep_their_adam_moments_and_new_rows_start_without(sparse, monkeypatch):
    X1, y1 = codes(FIRST)
    X2, y2 = codes(UPDATE, seed=1)
    clf = DeepFMClassifier(sparse_embeddings=sparse, **SMALL).fit(X1, y1)
    _, before = snapshot(clf.net_)
    _, after = grow(clf, "warm_start fit", X2, y2, monkeypatch)
    positions, added = moved_rows([*FIRST, 1], [*UPDATE, 1])
    assert before.keys() == after.keys() == set(TABLES)
    for name, state in after.items():
        for key in ("exp_avg", "exp_avg_sq"):
            assert torch.count_nonzero(before[name][key]) > 0, (name, key)
            assert torch.equal(state[key][positions], before[name][key]), (name, key)
            assert torch.count_nonzero(state[key][added]) == 0, (name, key)
        assert int(state["step"]) == int(before[name]["step"]) > 0
        if sparse:  # CatchUpAdam: new rows are up to date, with nothing to catch up on
            assert torch.equal(state["last_step"][positions], before[name]["last_step"])
            assert (state["last_step"][added] == state["step"]).all()
    assert clf.n_iter_ == 2


def tag_frame(n_sites, n_tags, n=240, seed=0, slot=None):
    """A site and four tag slots (0 pads, 1 is unknown, tags from 2); ``slot`` holds the largest."""
    rng = np.random.default_rng(seed)
    tags = rng.integers(0, n_tags, size=(n, 4))
    tags[:, 3] = np.minimum(tags[:, 3], 1)  # the last slot mostly pads
    if slot is not None:
        tags[0, slot] = n_tags
    frame = pd.DataFrame({"site": rng.permutation(np.arange(n) % n_sites)})
    frame[[f"tags[{i}]" for i in range(4)]] = tags
    return frame, ((tags == 3).any(axis=1) ^ (rng.random(n) < 0.2)).astype(int)


def test_a_multi_valued_field_grows_its_one_table_for_a_new_code_in_any_slot(monkeypatch):
    X1, y1 = tag_frame(5, 9, slot=0)  # tags 2..9
    X2, y2 = tag_frame(7, 12, seed=1, slot=2)  # tags up to 12, only in slot 2
    clf = DeepFMClassifier(**SMALL).fit(X1, y1)
    before, _ = snapshot(clf.net_)
    after, _ = grow(clf, "partial_fit", X2, y2, monkeypatch)
    assert_tables_grown(before, after, [5, 10], [7, 13])
    assert clf.cardinalities_.tolist() == [7, 13, 13, 13, 13]
    assert clf.field_slices_ == [slice(0, 1), slice(1, 5)]
    args = clf.net_.get_params()
    assert args["module__widths"] == [1, 4] and args["module__multi_valued"] == [False, True]
    assert fields_of(clf) == [7, 13]
    new, unknown = X2.iloc[:1].copy(), X2.iloc[:1].copy()
    new["tags[1]"], unknown["tags[1]"] = 12, 1
    assert clf.predict_proba(new)[0, 1] != clf.predict_proba(unknown)[0, 1]


@pytest.mark.parametrize("method", ["partial_fit", "warm_start fit"])
def test_the_regressor_grows_as_the_classifier(method, monkeypatch):
    X1, y1 = codes(FIRST)
    X2, y2 = codes(UPDATE, seed=1)
    reg = DeepFMRegressor(**SMALL).fit(X1, y1 + X1[:, -1])
    before, _ = snapshot(reg.net_)
    after, _ = grow(reg, method, X2, y2 + X2[:, -1], monkeypatch)
    assert_tables_grown(before, after, [*FIRST, 1], [*UPDATE, 1])
    assert reg.cardinalities_.tolist() == fields_of(reg) == [*UPDATE, 1]
    assert reg.predict(X2).shape == (len(X2),)


def test_fields_never_shrink_and_a_plain_fit_starts_anew():
    X1, y1 = codes(UPDATE)
    X2, y2 = codes(FIRST, seed=1)  # smaller codes: nothing grows, nothing shrinks
    clf = DeepFMClassifier(**SMALL).fit(X1, y1)
    before, _ = snapshot(clf.net_)
    clf.partial_fit(X2, y2)
    assert clf.cardinalities_.tolist() == [*UPDATE, 1]
    assert all(len(table) == 18 for table in snapshot(clf.net_)[0].values())
    assert not torch.equal(snapshot(clf.net_)[0][TABLES[0]], before[TABLES[0]])  # trained
    clf.fit(X2, y2)  # no warm_start: a new network of X2's fields
    assert clf.cardinalities_.tolist() == fields_of(clf) == [*FIRST, 1]


def update_sequence(sparse, global_seed):
    """Fit, then two updates that grow the tables; torch's global stream set to ``global_seed``."""
    torch.manual_seed(global_seed)
    clf = DeepFMClassifier(sparse_embeddings=sparse, **dict(SMALL, dropout=0.3))
    clf.fit(*codes(FIRST))
    clf.partial_fit(*codes(UPDATE, seed=1))
    state = torch.get_rng_state()
    clf.set_params(warm_start=True).fit(*codes(LATER, seed=2))
    assert torch.equal(torch.get_rng_state(), state)  # the fit's own stream drew the rows
    return clf


def assert_same_training_state(a, b):
    for key, tensor in a.net_.module_.state_dict().items():
        assert torch.equal(b.net_.module_.state_dict()[key], tensor), key
    assert a.cardinalities_.tolist() == b.cardinalities_.tolist()
    for name, optimizer in a.net_.optimizers().items():
        states = [opt.state_dict()["state"] for opt in (optimizer, b.net_.optimizers()[name])]
        assert states[0].keys() == states[1].keys()
        for i, state in states[0].items():
            for key, value in state.items():
                assert torch.equal(torch.as_tensor(states[1][i][key]), torch.as_tensor(value))


@pytest.mark.parametrize("sparse", [True, False])
def test_growing_updates_are_reproducible_under_random_state(sparse):
    first, second = update_sequence(sparse, 1), update_sequence(sparse, 2)
    assert first.cardinalities_.tolist() == [*LATER, 1]
    assert_same_training_state(first, second)


@pytest.mark.parametrize("sparse", [True, False])
def test_a_saved_grown_model_resumes_as_the_unsaved_one(sparse):
    clf = DeepFMClassifier(sparse_embeddings=sparse, **dict(SMALL, dropout=0.3))
    clf.fit(*codes(FIRST)).partial_fit(*codes(UPDATE, seed=1))
    buffer = io.BytesIO()
    save(clf, buffer, include_optimizer=True)
    loaded = load(io.BytesIO(buffer.getvalue()))
    pickled = pickle.loads(pickle.dumps(clf))
    assert fields_of(loaded) == fields_of(clf) == [*UPDATE, 1]
    for model in (clf, loaded, pickled):  # one more update, which grows again
        model.partial_fit(*codes(LATER, seed=2))
    assert_same_training_state(clf, loaded)
    assert_same_training_state(clf, pickled)


def category_day(n_sites, n_apps, n=240, seed=0):
    """Raw rows whose values sort in order of arrival, as the codes a warm-started
    FieldEncoder gives: an encoder fitted on more days keeps every earlier code."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "site": [f"s{v:02d}" for v in rng.permutation(np.arange(n) % n_sites)],
            "app": [f"a{v:02d}" for v in rng.permutation(np.arange(n) % n_apps)],
        }
    )
    return frame.assign(label=(frame["site"] < f"s{n_sites // 2:02d}").astype(int))


def shards_of(days, written, tmp_path, name):
    """The last of ``days`` as shards, encoded by an encoder fitted on all of them."""
    raw = pd.concat(days, ignore_index=True)
    encoder = FieldEncoder().fit(raw.drop(columns="label"))
    write_parquet_shards(encoder, [days[-1]], tmp_path / name)
    written[name] = encoder
    return ParquetShards(tmp_path / name)


def test_parquet_shards_of_a_grown_encoder_grow_as_the_same_codes_in_memory(tmp_path):
    days = [category_day(5, 3), category_day(8, 4, seed=1), category_day(10, 4, seed=2)]
    encoders = {}
    day1 = shards_of(days[:1], encoders, tmp_path, "day1")
    day2 = shards_of(days[:2], encoders, tmp_path, "day2")
    day3 = shards_of(days, encoders, tmp_path, "day3")
    from_disk = DeepFMClassifier(**SMALL).fit(day1).partial_fit(day2)
    in_memory = DeepFMClassifier(**SMALL)
    for day, name, method in zip(days[:2], ["day1", "day2"], ["fit", "partial_fit"], strict=True):
        X = encoders[name].transform(day.drop(columns="label"))
        getattr(in_memory, method)(X, day["label"])
    assert from_disk.cardinalities_.tolist() == encoders["day2"].cardinalities_.tolist()
    assert in_memory.cardinalities_.tolist() == [9, 5]
    for key, tensor in in_memory.net_.module_.state_dict().items():
        assert torch.equal(from_disk.net_.module_.state_dict()[key], tensor), key
    # validation shards may hold codes newer still: the fields grow to them too
    with_validation = ParquetShards(tmp_path / "day2", validation=day3)
    from_disk.set_params(warm_start=True, early_stopping=True).fit(with_validation)
    assert from_disk.cardinalities_.tolist() == fields_of(from_disk) == [11, 5]
    assert from_disk.predict_proba(day3).shape == (240, 2)


def test_a_pipeline_of_warm_started_steps_grows_day_by_day():
    pipe = make_pipeline(FieldEncoder(warm_start=True), DeepFMClassifier(warm_start=True, **SMALL))
    for day in (category_day(5, 3), category_day(8, 4, seed=1)):
        pipe.fit(day.drop(columns="label"), day["label"])
    assert pipe[-1].cardinalities_.tolist() == pipe[0].cardinalities_.tolist() == [9, 5]
    assert pipe[-1].n_iter_ == 2 and fields_of(pipe[-1]) == [9, 5]


def test_shards_of_other_columns_are_refused_without_growing(tmp_path):
    encoders = {}
    clf = DeepFMClassifier(**SMALL).fit(shards_of([category_day(5, 3)], encoders, tmp_path, "a"))
    renamed = category_day(8, 4, seed=1).rename(columns={"app": "device"})
    with pytest.raises(ValueError, match="other fields than those of the first fit"):
        clf.partial_fit(shards_of([renamed], encoders, tmp_path, "b"))
    assert clf.cardinalities_.tolist() == fields_of(clf) == [6, 4]


@pytest.mark.parametrize(
    "change, match",
    [
        (lambda X: X.drop(columns="c"), "feature names|features"),
        (lambda X: X.rename(columns={"b": "b[0]"}), "feature names"),
        (lambda X: X.assign(b=X["b"] + 0.5), r"Column 1 \('b'\) holds \d\.5 at row 0"),
        (lambda X: X.assign(c=-X["c"]), r"Column 2 \('c'\) holds -\d at row \d"),
    ],
    ids=["a column missing", "slot names", "codes become values", "negative codes"],
)
def test_data_that_does_not_fit_the_columns_is_refused_without_growing(change, match):
    X1, y1 = codes(FIRST)
    X2, y2 = codes(UPDATE, seed=1)
    frame = pd.DataFrame(X1, columns=["a", "b", "c", "v"])
    clf = DeepFMClassifier(**SMALL).fit(frame, y1)
    before, _ = snapshot(clf.net_)
    with pytest.raises(ValueError, match=match):
        clf.partial_fit(change(pd.DataFrame(X2, columns=["a", "b", "c", "v"])), y2)
    assert clf.cardinalities_.tolist() == fields_of(clf) == [*FIRST, 1]
    for name, table in snapshot(clf.net_)[0].items():
        assert torch.equal(table, before[name]), name


def test_new_embedding_rows_are_drawn_as_a_new_table_draws_them():
    net = DeepFM([3, 2], embedding_dim=8, hidden_layer_sizes=(4,))
    grow_tables(net, [3 + 20_000, 2], torch.Generator().manual_seed(0))
    added = net.embedding.embedding.weight[3:20_003].detach()
    assert abs(float(added.std()) - 0.01) < 3e-4 and abs(float(added.mean())) < 3e-4
    assert torch.count_nonzero(net.first_order.embedding.weight[3:20_003]) == 0
    # the grown module is the one its arguments build, as a saved model is rebuilt
    rebuilt = DeepFM([20_003, 2], embedding_dim=8, hidden_layer_sizes=(4,))
    assert torch.equal(rebuilt.embedding.offsets, net.embedding.offsets)
    assert torch.equal(rebuilt.first_order.offsets, net.first_order.offsets)
    rebuilt.load_state_dict(net.state_dict())  # every tensor of the same shape
    with pytest.raises(ValueError, match="none below the current"):
        grow_tables(net, [5, 2])
