"""The displays: their numbers against references, their artists against the numbers."""

import doctest
import sys

import numpy as np
import pytest
from conftest import TINY
from sklearn.exceptions import NotFittedError
from sklearn.inspection import permutation_importance
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from sklearn_deepfm import (
    DeepFMClassifier,
    FieldEncoder,
    FieldImportanceDisplay,
    FieldInteractionDisplay,
    TrainingHistoryDisplay,
    load,
    make_ctr_classification,
    save,
)
from sklearn_deepfm.inspection import _history, _importance, _interaction, _learned

matplotlib = pytest.importorskip(
    "matplotlib", reason='the displays draw with matplotlib: pip install "sklearn-deepfm[plot]"'
)
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

FAST = dict(TINY, hidden_layer_sizes=(8,), random_state=0)
# Early stopping on a split of 600 rows, so that the history holds validation scores.
# refit=False: the displays read the early-stopped network itself ("refitted" below)
VALIDATED = dict(FAST, early_stopping=True, max_epochs=8, n_iter_no_change=2, refit=False)


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def frame():
    """Raw columns: four categorical and one numeric, kept as a value field below."""
    return make_ctr_classification(
        n_samples=600, cardinalities=(20, 10, 5, 4), n_numeric=1, as_frame=True, random_state=0
    )


@pytest.fixture(scope="module")
def codes():
    """Integer codes, the input of a bare classifier."""
    return make_ctr_classification(n_samples=600, cardinalities=(20, 10, 5), random_state=1)


@pytest.fixture(scope="module")
def models(frame, codes, one_thread):
    """Fitted models, each with the rows it was fitted on (the displays' X and y)."""
    specs = {
        "pipeline": (frame, make_pipeline(FieldEncoder(numeric_encoding="value"), clf())),
        "classifier": (codes, clf()),
        "refitted": (codes, clf(refit=True)),
        "loss-scored": (codes, clf(scoring="loss")),
        "no-validation": (codes, clf(early_stopping=False, max_epochs=3)),
        "lr": (frame, make_pipeline(FieldEncoder(), clf(model="lr"))),
        "wide_deep": (codes, clf(model="wide_deep")),
    }
    return {name: (model.fit(*data), *data) for name, (data, model) in specs.items()}


def clf(**params):
    return DeepFMClassifier(**{**VALIDATED, **params})


def classifier_of(model):
    return model[-1] if hasattr(model, "steps") else model


# -- TrainingHistoryDisplay --------------------------------------------------------------


@pytest.mark.parametrize("name", ["pipeline", "classifier", "loss-scored"])
def test_training_history_draws_the_history(models, name):
    model, _, _ = models[name]
    classifier = classifier_of(model)
    epochs = list(classifier.net_.history)
    display = TrainingHistoryDisplay.from_estimator(model)

    np.testing.assert_array_equal(display.epochs, np.arange(1, classifier.n_iter_ + 1))
    for key, line in display.lines_.items():
        np.testing.assert_array_equal(line.get_xdata(), display.epochs)
        np.testing.assert_allclose(line.get_ydata(), [epoch[key] for epoch in epochs])
    assert display.lines_["valid_auc"].axes is display.auc_ax_
    assert display.lines_["valid_loss"].axes is display.ax_
    # the mark sits where skorch's own callback restored the weights
    restored = dict(classifier.net_.callbacks_)["early_stopping"].best_epoch_
    assert display.best_epoch == restored
    assert list(display.best_line_.get_xdata()) == [restored, restored]
    legend = [text.get_text() for text in display.ax_.get_legend().get_texts()]
    assert legend == ["train loss", "validation loss", f"kept epoch ({restored})", "validation AUC"]


def test_training_history_of_a_refit_is_the_early_stopped_fit(models):
    refitted = TrainingHistoryDisplay.from_estimator(models["refitted"][0])
    early_stopped = TrainingHistoryDisplay.from_estimator(models["classifier"][0])
    assert refitted.best_epoch == early_stopped.best_epoch == models["refitted"][0].n_iter_
    for key in ["epochs", "train_loss", "valid_loss", "valid_auc"]:
        np.testing.assert_allclose(getattr(refitted, key), getattr(early_stopped, key))


@pytest.mark.parametrize("name", ["pipeline", "refitted"])
def test_training_history_survives_save_and_load(models, tmp_path, name):
    model, _, _ = models[name]
    save(model, tmp_path / "model.deepfm")
    loaded = TrainingHistoryDisplay.from_estimator(load(tmp_path / "model.deepfm"))
    fitted = TrainingHistoryDisplay.from_estimator(model)
    assert loaded.best_epoch == fitted.best_epoch is not None
    for key in ["epochs", "train_loss", "valid_loss", "valid_auc"]:
        np.testing.assert_allclose(getattr(loaded, key), getattr(fitted, key))


def test_training_history_without_validation_split(models):
    model, _, _ = models["no-validation"]
    display = TrainingHistoryDisplay.from_estimator(model)
    assert display.valid_loss is None and display.valid_auc is None
    assert display.best_epoch is None and display.best_line_ is None
    assert display.auc_ax_ is None
    assert list(display.lines_) == ["train_loss"]
    assert len(display.ax_.get_lines()) == 1
    np.testing.assert_allclose(
        display.lines_["train_loss"].get_ydata(),
        [epoch["train_loss"] for epoch in model.net_.history],
    )


def test_plot_draws_on_the_axes_given(models):
    model, _, _ = models["classifier"]
    display = TrainingHistoryDisplay.from_estimator(model)
    figure, ax = plt.subplots()
    assert display.plot(ax=ax) is display
    assert display.ax_ is ax and display.figure_ is figure


# -- FieldImportanceDisplay --------------------------------------------------------------


@pytest.mark.parametrize("name", ["pipeline", "classifier"])
def test_field_importance_is_the_permutation_importance(models, name):
    model, X, y = models[name]
    display = FieldImportanceDisplay.from_estimator(model, X, y, n_repeats=3, random_state=0)

    reference = permutation_importance(model, X, y, scoring="roc_auc", n_repeats=3, random_state=0)
    np.testing.assert_allclose(display.importances_mean, reference.importances_mean)
    np.testing.assert_allclose(display.importances_std, reference.importances_std)
    assert display.importances_mean.max() > 0.01  # the model uses some field
    names = list(X.columns) if name == "pipeline" else ["x0", "x1", "x2"]
    assert display.field_names.tolist() == names

    # one bar per field, sorted: the most important at the top
    order = np.argsort(display.importances_mean, kind="stable")
    assert len(display.bars_) == X.shape[1]
    widths = [bar.get_width() for bar in display.bars_]
    np.testing.assert_allclose(widths, display.importances_mean[order])
    assert widths == sorted(widths)
    labels = [label.get_text() for label in display.ax_.get_yticklabels()]
    assert labels == [names[i] for i in order]
    assert display.bars_.errorbar is not None


# -- FieldInteractionDisplay -------------------------------------------------------------


def brute_force_interactions(classifier, X):
    """Mean |<v_i x_i, v_j x_j>| over rows, pair by pair, from the embedding table."""
    table = classifier.net_.module_.embedding.embedding.weight.detach().numpy()
    offsets = classifier.net_.module_.embedding.offsets.numpy()
    X = np.asarray(X, dtype=float)
    value = classifier.value_fields_
    codes = np.where(value, 0, X).astype(int)
    values = np.where(value, X, 1.0)
    n_fields = X.shape[1]
    expected = np.zeros((n_fields, n_fields))
    for i in range(n_fields):
        for j in range(n_fields):
            if i != j:
                e_i = table[offsets[i] + codes[:, i]] * values[:, [i]]
                e_j = table[offsets[j] + codes[:, j]] * values[:, [j]]
                expected[i, j] = np.abs((e_i * e_j).sum(axis=1)).mean()
    return expected


@pytest.mark.parametrize("name", ["pipeline", "classifier"])
def test_field_interactions_are_the_mean_absolute_pair_terms(models, name, monkeypatch):
    model, X, _ = models[name]
    classifier = classifier_of(model)
    encoded = model[:-1].transform(X) if name == "pipeline" else X
    if name == "pipeline":
        assert classifier.value_fields_.any(), "the pipeline should exercise a value field"
        monkeypatch.setattr(_learned, "CHUNK", 256)  # several chunks: 600 rows
    display = FieldInteractionDisplay.from_estimator(model, X)

    n_fields = X.shape[1]
    assert display.interactions.shape == (n_fields, n_fields)
    np.testing.assert_allclose(display.interactions, display.interactions.T)
    np.testing.assert_array_equal(np.diag(display.interactions), 0.0)
    np.testing.assert_allclose(
        display.interactions, brute_force_interactions(classifier, encoded), rtol=1e-5
    )
    names = list(X.columns) if name == "pipeline" else ["x0", "x1", "x2"]
    assert display.field_names.tolist() == names

    image = display.im_.get_array()
    assert image.shape == (n_fields, n_fields)
    assert image.mask.diagonal().all() and not image.mask[~np.eye(n_fields, dtype=bool)].any()
    np.testing.assert_allclose(image.filled(0.0), display.interactions)
    assert [t.get_text() for t in display.ax_.get_xticklabels()] == names
    assert [t.get_text() for t in display.ax_.get_yticklabels()] == names
    assert "v_i x_i, v_j x_j" in display.colorbar_.ax.get_ylabel()


@pytest.mark.parametrize("name", ["lr", "wide_deep"])
def test_field_interactions_need_an_fm_part(models, name):
    model, X, _ = models[name]
    with pytest.raises(
        ValueError, match=rf"model='{name}' has not: only the models 'deepfm' and 'fm'"
    ):
        FieldInteractionDisplay.from_estimator(model, X)


# -- errors shared by the displays -------------------------------------------------------

DISPLAYS = {
    "history": lambda model, X, y: TrainingHistoryDisplay.from_estimator(model),
    "importance": lambda model, X, y: FieldImportanceDisplay.from_estimator(model, X, y),
    "interactions": lambda model, X, y: FieldInteractionDisplay.from_estimator(model, X),
}


@pytest.mark.parametrize("display", DISPLAYS)
@pytest.mark.parametrize("pipeline", [True, False])
def test_unfitted_estimator_raises_not_fitted(frame, display, pipeline):
    X, y = frame
    model = make_pipeline(FieldEncoder(), DeepFMClassifier()) if pipeline else DeepFMClassifier()
    with pytest.raises(NotFittedError, match="DeepFMClassifier"):
        DISPLAYS[display](model, X, y)


@pytest.mark.parametrize("display", DISPLAYS)
@pytest.mark.parametrize(
    "model, message",
    [
        (make_pipeline(FieldEncoder(), LogisticRegression()), "Pipeline ending in LogisticReg"),
        (LogisticRegression(), "one. Got LogisticRegression"),
    ],
)
def test_other_estimators_raise_type_error(frame, display, model, message):
    X, y = frame
    with pytest.raises(TypeError, match=message):
        DISPLAYS[display](model, X, y)


def test_missing_matplotlib_says_what_to_install(models, monkeypatch):
    model, _, _ = models["classifier"]
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib fails
    with pytest.raises(ImportError, match=r'pip install "sklearn-deepfm\[plot\]"'):
        TrainingHistoryDisplay.from_estimator(model)


def test_docstring_examples_run(one_thread):
    # The examples are documentation users copy: keep them running (CI runs tests/ only).
    finder, runner = doctest.DocTestFinder(), doctest.DocTestRunner(verbose=False)
    examples = 0
    for module in (_history, _importance, _interaction):
        for test in finder.find(module):
            examples += len(test.examples)
            runner.run(test)
    assert examples >= 15
    assert runner.summarize(verbose=False).failed == 0
