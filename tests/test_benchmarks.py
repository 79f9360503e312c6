"""Smoke runs of the benchmarks: each runs end to end on tiny data and writes its files.

Nothing here is timed; the figures themselves come from full runs (benchmarks/README.md).
"""

import importlib.util
import json
import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import SHARED_DATA
from sklearn.metrics import roc_auc_score

from sklearn_deepfm import DeepFMClassifier

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
FRAPPE = SHARED_DATA / "frappe" / "frappe.train.libfm"
MOVIELENS = SHARED_DATA / "movielens_100k"
CRITEO_110K = SHARED_DATA / "criteo_110k" / "criteo_110k.txt.gz"


def load_benchmark(name):
    if str(BENCHMARKS) not in sys.path:  # the scripts import their helpers by name
        sys.path.insert(0, str(BENCHMARKS))
    spec = importlib.util.spec_from_file_location(f"benchmark_{name}", BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_training_benchmark_quick_run(tmp_path):
    pytest.importorskip("matplotlib")
    training = load_benchmark("training")
    training.main(["--quick", "--out", str(tmp_path)])
    results = json.loads((tmp_path / "training.json").read_text())
    assert set(results) >= {"machine", "train"}
    assert (tmp_path / "training.png").stat().st_size > 0
    for ratio in [r["ratio"] for r in results["train"]["sparse"]["by_vocab"].values()]:
        assert ratio > 0


def test_first_fit_section_runs_each_fit_in_a_new_process(tmp_path):
    training = load_benchmark("training")
    argv = ["--only", "first_fit", "--quick", "--vocab", "2000", "--repeats", "1"]
    training.main([*argv, "--out", str(tmp_path)])
    results = json.loads((tmp_path / "training_first_fit.json").read_text())["first_fit"]
    figures = results["2000"]
    assert {reuse: len(runs) for reuse, runs in figures["runs"].items()} == {"off": 1, "on": 1}
    assert figures["loop_speedup"] > 0 and figures["fit_speedup"] > 0
    assert figures["faults_per_step_off"] > 0


def test_prediction_benchmark_quick_run(tmp_path):
    prediction = load_benchmark("prediction")
    prediction.main(["--quick", "--out", str(tmp_path)])  # serving: when criteo_8k is there
    results = json.loads((tmp_path / "prediction.json").read_text())
    assert set(results) >= {"machine", "predict"}
    for ratio in [r["ratio"] for r in results["predict"]["batch"].values()]:
        assert ratio > 0


def test_encoder_benchmark_quick_run(tmp_path):
    encoder = load_benchmark("encoder")
    encoder.main(["--quick", "--out", str(tmp_path)])
    results = json.loads((tmp_path / "encoder.json").read_text())
    assert set(results) >= {"machine", "encoder"}
    assert results["encoder"]["fit"]["ratio"] > 0


@pytest.mark.parametrize(
    "script, section, data, stem",
    [
        ("training", "frappe", FRAPPE, "training_frappe"),
        ("encoder", "genres", MOVIELENS, "encoder_movielens"),
    ],
)
def test_benchmark_sections_on_shared_data(tmp_path, script, section, data, stem):
    if not data.exists():
        pytest.skip(f"shared data {data.name} absent")
    load_benchmark(script).main(["--quick", "--only", section, "--out", str(tmp_path)])
    results = json.loads((tmp_path / f"{stem}.json").read_text())
    assert section in results


def test_benchmark_memory_child_reports_its_peak(tmp_path, capsys):
    memory = load_benchmark("memory")
    criteo_shaped = load_benchmark("_criteo_shaped")
    codes, y, cardinalities = criteo_shaped.make_codes(300, 2000)
    path = tmp_path / "data.npz"
    np.savez(path, codes=codes, y=y, cardinalities=np.asarray(cardinalities))
    memory.memory_child("bare", path, criteo_shaped.QUICK_NETWORK)
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert report["peak_bytes"] >= report["loaded_bytes"] >= report["baseline_bytes"] > 0


@pytest.mark.parametrize(
    "data",
    [
        "synthetic",
        pytest.param(
            "frappe",
            marks=pytest.mark.skipif(not FRAPPE.exists(), reason="shared Frappe data absent"),
        ),
    ],
)
def test_quality_benchmark_quick_run(tmp_path, data):
    pytest.importorskip("matplotlib")
    quality, models = load_benchmark("quality"), load_benchmark("quality_models")
    quality.main(["--data", data, "--quick", "--seeds", "2", "--out", str(tmp_path)])
    report = json.loads((tmp_path / f"quality_{data}.json").read_text())
    expected = {*models.DEEP_MODELS, *models.VOTES, "sklearn_lr", "lightgbm"}
    if not models.lightgbm_installed():
        expected.remove("lightgbm")
    assert {row["model"] for row in report["results"]} == expected
    assert all(math.isfinite(row["auc"]) for row in report["results"])
    # the family runs once per seed; the references and the vote (over seeds already) once
    runs = {row["model"]: len(row["runs"]) for row in report["results"]}
    assert runs == {name: 2 if name in models.DEEP_MODELS else 1 for name in expected}
    for suffix in (".md", "_roc.png", "_auc.png"):
        assert (tmp_path / f"quality_{data}{suffix}").stat().st_size > 0


def test_quality_benchmark_tunes_the_embedding_optimizer_per_seed(tmp_path):
    pytest.importorskip("matplotlib")
    quality = load_benchmark("quality")
    quality.main(
        ["--data", "synthetic", "--quick", "--seeds", "2", "--models", "deepfm_tuned"]
        + ["--out", str(tmp_path)]
    )
    (row,) = json.loads((tmp_path / "quality_synthetic.json").read_text())["results"]
    assert len(row["runs"]) == 2 and math.isfinite(row["auc"])
    settings = row["details"]["settings"]  # each seed's choice from the grid
    assert len(settings) == 2
    grid = load_benchmark("quality_models").DEEPFM_GRID
    assert all(s == "defaults" or s in grid[1:] for s in settings)


def test_tuning_rows_map_codes_the_fit_rows_lack_to_unknown():
    quality = load_benchmark("quality_models")
    model = DeepFMClassifier(max_epochs=1, random_state=0).fit(
        np.array([[0, 1], [1, 2], [2, 0], [1, 1]] * 10), [0, 1] * 20
    )  # cardinalities 3 and 3
    codes = np.array([[2, 5], [3, 1]])
    np.testing.assert_array_equal(quality.unseen_to_unknown(model, codes), [[2, 0], [0, 1]])
    frame = pd.DataFrame(codes, columns=["a", "b"])
    np.testing.assert_array_equal(quality.unseen_to_unknown(model, frame), [[2, 0], [0, 1]])


def test_paired_difference_measures_auc_against_the_reference():
    quality = load_benchmark("quality")
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 400)
    noise = rng.random(400)
    same = quality.paired_difference(y, [noise], noise, 200)
    assert same["difference"] == 0 and same["ci95"] == [0, 0]
    better = quality.paired_difference(y, [y + noise, y + 2 * noise], noise, 200)
    expected = np.mean([roc_auc_score(y, y + noise), roc_auc_score(y, y + 2 * noise)])
    assert better["difference"] == pytest.approx(expected - roc_auc_score(y, noise))
    low, high = better["ci95"]
    assert 0 < low < better["difference"] < high


def test_quality_benchmark_compares_with_lr_when_asked(tmp_path):
    pytest.importorskip("matplotlib")
    quality = load_benchmark("quality")
    argv = ["--data", "synthetic", "--quick", "--models", "deepfm", "sklearn_lr"]
    quality.main([*argv, "--bootstrap", "50", "--out", str(tmp_path)])
    rows = json.loads((tmp_path / "quality_synthetic.json").read_text())["results"]
    deepfm, lr = rows
    assert "minus_lr" not in lr
    assert deepfm["minus_lr"]["difference"] == pytest.approx(deepfm["auc"] - lr["auc"])
    assert "paired bootstrap" in (tmp_path / "quality_synthetic.md").read_text()


@pytest.mark.skipif(not CRITEO_110K.exists(), reason="shared criteo_110k data absent")
def test_learning_curve_benchmark_quick_run(tmp_path):
    pytest.importorskip("matplotlib")
    curve = load_benchmark("learning_curve")
    argv = ["--quick", "--sizes", "200", "400", "--test-rows", "300", "--out", str(tmp_path)]
    curve.main(argv)
    report = json.loads((tmp_path / "learning_curve_criteo_110k.json").read_text())
    keys = [s["key"] for s in report["series"]]
    assert keys[0] == "sklearn_lr" and {"deepfm", "deepfm_no_linear_start"} <= set(keys)
    for s in report["series"]:
        assert [p["train_rows"] for p in s["points"]] == [200, 400]
        assert all(math.isfinite(p["auc"]) for p in s["points"])
        seeds = 2 if s["key"].startswith("deepfm") else 1  # the references are deterministic
        assert all(len(p["runs"]) == seeds for p in s["points"])
    for suffix in (".md", ".png"):
        assert (tmp_path / f"learning_curve_criteo_110k{suffix}").stat().st_size > 0


def test_learning_curve_finds_where_deepfm_crosses_lr():
    curve = load_benchmark("learning_curve")

    def series(key, aucs):
        points = [{"train_rows": n, "auc": a} for n, a in zip([10, 100, 1000], aucs, strict=True)]
        return {"key": key, "label": key, "points": points}

    found = curve.crossings(
        [
            series("sklearn_lr", [0.70, 0.72, 0.73]),
            series("lightgbm", [0.60, 0.80, 0.60]),  # not a DeepFM series: ignored
            series("deepfm", [0.69, 0.73, 0.74]),  # passes LR halfway in log rows
            series("deepfm_no_linear_start", [0.71, 0.70, 0.74]),  # below, then above
        ]
    )
    assert [(c["series"], c["between"], c["passes"]) for c in found] == [
        ("deepfm", [10, 100], True),
        ("deepfm_no_linear_start", [10, 100], False),
        ("deepfm_no_linear_start", [100, 1000], True),
    ]
    assert found[0]["train_rows"] == round(10**1.5)


@pytest.mark.skipif(not (SHARED_DATA / "criteo_8k").exists(), reason="shared criteo_8k data absent")
def test_linear_start_benchmark_pairs_both_variants(tmp_path):
    benchmark = load_benchmark("linear_start")
    benchmark.main(["--quick", "--out", str(tmp_path)])
    report = json.loads((tmp_path / "linear_start.json").read_text())
    (criteo,) = report["results"]
    assert set(criteo["runs"]) == {"default", "from_zero"}
    assert criteo["fit_time_ratio"] > 0 and 0 <= criteo["linear_share"] < 1
    assert "| criteo (600) |" in (tmp_path / "linear_start.md").read_text()


def test_daily_benchmark_quick_run(tmp_path):
    if not MOVIELENS.exists():
        pytest.skip(f"shared data {MOVIELENS.name} absent")
    daily = load_benchmark("daily")
    daily.main(["--quick", "--data", "movielens_100k", "--out", str(tmp_path)])
    results = json.loads((tmp_path / "daily_movielens_100k.json").read_text())
    days = results["runs"][0]["days"]
    assert [row["trained_to_day"] for row in days] == [2, 3, 4, 5, 6, 7]
    # ordered by release date, new movies arrive: the updated model's tables grew
    assert days[-1]["cardinality_growth"] > 0
    for row in days:
        for arm in ("frozen", "scratch", "updated", "one_epoch"):
            assert 0.0 < row[arm]["auc"] < 1.0 and math.isfinite(row[arm]["log_loss"])
    assert (tmp_path / "daily_movielens_100k.md").read_text().startswith("# Daily replay")


def test_ceiling_benchmark_blends_and_compares_with_lr(tmp_path):
    if not CRITEO_110K.exists():
        pytest.skip(f"shared data {CRITEO_110K.parent.name} absent")
    ceiling = load_benchmark("ceiling")
    models = ["lr_c005", "lightgbm_counts", "deepfm"]
    report = ceiling.main(["--quick", "--models", *models, "--out", str(tmp_path)])
    results = {row["name"]: row for row in report["results"]}
    assert {"lr", *models, "lr_c005 + lightgbm_counts", "deepfm + lr_c005"} <= set(results)
    assert "minus_lr" not in results["lr"]  # the reference
    for row in results.values():
        assert 0.5 < row["auc"] < 1 and math.isfinite(row["log_loss"])
    blend = results["lr_c005 + lightgbm_counts"]
    assert sum(blend["details"]["weights"]) == pytest.approx(1)
    versus = results["deepfm"]["minus_lr"]
    assert versus["ci95"][0] <= versus["difference"] <= versus["ci95"][1]
    difference = results["deepfm"]["auc"] - results["lr"]["auc"]
    assert versus["difference"] == pytest.approx(difference, abs=1e-9)
    assert (tmp_path / "ceiling_quick.md").read_text().count("\n| ") == len(results) + 1
