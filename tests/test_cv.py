"""A tiny 2-fold speaker cross-validation run by DVC itself (`dvc repro cv_summary@all`) on the fixtures.

Fixture actors 1-4 in 2 folds ({1, 2}, {3, 4}), one validation speaker per fold, 1 epoch, frames layout,
per-speaker normalisation on (so speaker adaptation runs through train, evaluate and the summary). Fold 0
runs first, fold 1 is added after. (README's 5-fold line runs on five actors in tests/test_doc_commands.py.)
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import yaml

from helpers import tiny_project
from helpers.tiny_project import run
from emoaugnet.evaluation import cv_summary

pytestmark = pytest.mark.slow      # runs the cross-validation stages through DVC

CV = {"split.folds": 2, "split.val_per_fold": 1, "cv.folds": [0], "cv.summary": ["all"],
      "model.feature_norm": "speaker"}


def rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def set_folds(repo: Path, wanted: list[int]) -> None:
    tree = yaml.safe_load((repo / "params.yaml").read_text())
    tree["cv"]["folds"] = wanted
    (repo / "params.yaml").write_text(yaml.safe_dump(tree, sort_keys=False))


def ran(output: str) -> set[str]:
    """Stages a `dvc repro` output ran (``train_fold@0``, ``cv_summary@all``)."""
    return {line.split("'")[1].split(":")[-1] for line in output.splitlines() if line.startswith("Running stage '")}


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    repo = tiny_project.build(tmp_path_factory.mktemp("cv"), **CV)
    first = run(["dvc", "repro", "cv_summary@all"], repo)
    set_folds(repo, [0, 1])                      # adding a fold runs that fold's stages and the summary only
    second = run(["dvc", "repro", "cv_summary@all"], repo)
    again = run(["dvc", "repro", "cv_summary@all"], repo)
    return repo, first, second, again



def test_cv_runs_each_fold_once_and_a_rerun_does_nothing(project):
    repo, first, second, again = project
    assert {"train_fold@0", "evaluate_fold@0", "cv_summary@all"} <= ran(first)
    assert "train_fold@1" not in ran(first)
    # check_params reads all of params.yaml, so any edit reruns it; its output keeps its bytes, so only the
    # new fold's stages and the summary follow
    assert ran(second) == {"check_params", "train_fold@1", "evaluate_fold@1", "cv_summary@all"}
    assert ran(again) == set()
    assert "train_fold@1" not in run(["dvc", "status"], repo)


def test_folds_are_disjoint_cover_every_speaker_and_never_train_on_held_out_speakers(project):
    repo = project[0]
    tested = []
    for fold in range(2):
        config = json.loads((repo / f"cv/models/fold_{fold}/model.json").read_text())
        split = config["split"]
        assert split["fold"] == fold and split["overlap"]["test_speakers_in_train"] == 0
        assert not set(split["test_speakers"]) & set(split["val_speakers"])
        assert config["model"]["feature_norm"] == "speaker"
        predicted = rows(repo / f"cv/reports/fold_{fold}/predictions.csv")
        assert {r["speaker"] for r in predicted} == set(split["test_speakers"])
        tested += split["test_speakers"]
        train = 4 - len(split["test_speakers"]) - len(split["val_speakers"])
        assert split["counts"] == {"train": train * 7 * 2, "val": 7, "test": len(split["test_speakers"]) * 7}
    assert sorted(tested) == ["1", "2", "3", "4"]


def test_summary_arithmetic_matches_the_fold_reports(project):
    repo = project[0]
    summary = json.loads((repo / "reports/cv/metrics.json").read_text())
    folds = [json.loads((repo / f"cv/reports/fold_{k}/metrics.json").read_text()) for k in range(2)]
    assert summary["folds_run"] == 2 and summary["complete"] and summary["test_recordings"] == 28
    for key in cv_summary.HEADLINE:
        values = np.array([m[key] for m in folds])
        assert [summary["per_fold"][str(k)][key] for k in range(2)] == list(values)
        assert summary["mean"][key] == pytest.approx(values.mean(), abs=1e-6)
        assert summary["sd"][key] == pytest.approx(values.std(ddof=1), abs=1e-6)
    # the pooled confusion matrix is the sum of the folds' matrices
    pooled = Counter((r["actual"], r["predicted"]) for r in rows(repo / "reports/cv/confusion.csv"))
    summed = sum((Counter((r["actual"], r["predicted"]) for r in rows(repo / f"cv/reports/fold_{k}/confusion.csv"))
                  for k in range(2)), Counter())
    assert pooled == summed and sum(pooled.values()) == 28
    correct = sum(n for (a, p), n in pooled.items() if a == p)
    assert summary["pooled"]["weighted_accuracy"] == pytest.approx(correct / 28, abs=1e-6)
    # each class's recall over all the folds' test recordings, from the pooled confusion matrix
    for c, recall in summary["per_class_recall"].items():
        tested = sum(n for (a, _), n in pooled.items() if a == c)
        assert tested and recall == pytest.approx(pooled[(c, c)] / tested, abs=1e-6)
    assert set(summary["per_class_recall"]) == {a for a, _ in pooled}
    shown = run(["dvc", "metrics", "show"], repo)
    assert "reports/cv/metrics.json" in shown and "mean.unweighted_accuracy" in shown


def test_each_fold_is_calibrated_on_its_validation_speaker_and_the_report_pools_its_test_folds(project, tmp_path):
    """train_fold fits the temperature on the fold's validation speaker (7 recordings), evaluate_fold records it
    with its test ECE, cv_summary pools them, and tools/calibration_report.py draws the reliability diagram."""
    import subprocess
    import sys

    from emoaugnet.evaluation import calibration_report
    from emoaugnet.model import calibration
    repo = project[0]
    for fold in range(2):
        model = json.loads((repo / f"cv/models/fold_{fold}/model.json").read_text())
        fitted = calibration.Calibration.from_config(model["calibration"])
        assert fitted.fitted and fitted.fit["samples"] == model["split"]["counts"]["val"] == 7
        assert calibration.T_RANGE[0] <= fitted.temperature <= calibration.T_RANGE[1]
        recorded = json.loads((repo / f"cv/reports/fold_{fold}/metrics.json").read_text())["calibration"]
        assert recorded["temperature"] == fitted.temperature
        assert recorded["test"]["samples"] == len(rows(repo / f"cv/reports/fold_{fold}/predictions.csv"))
    summary = json.loads((repo / "reports/cv/metrics.json").read_text())
    pooled = calibration_report.pooled(calibration_report.read_runs(repo / "cv"))["pooled"]
    assert summary["calibration"] == pooled and pooled["samples"] == 28
    png = tmp_path / "calibration.png"
    done = subprocess.run([sys.executable, "tools/calibration_report.py", "--cv", str(repo / "cv"), "--png", str(png)],
                          cwd=Path(__file__).resolve().parents[1], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    table = [line for line in done.stdout.splitlines() if line.startswith("| ")]
    assert [line.split(" | ")[0] for line in table[1:]] == ["| fold_0", "| fold_1",
                                                           "| all folds pooled (28 recordings)"]
    assert f"| {pooled['ece_before']:.3f} | {pooled['ece_after']:.3f} |" in table[-1]
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_cross_fitted_calibration_scores_each_fold_with_the_others_and_writes_the_pooled_one(project, tmp_path):
    """tools/calibration_report.py --cross-fit: fold K's calibration is fitted on the other folds' test
    predictions only; --write puts the one fitted on every fold into a bundle, which loads with it."""
    import shutil
    import subprocess
    import sys

    import numpy as np

    from emoaugnet.evaluation import calibration_report
    from emoaugnet.model import bundle, calibration
    repo = project[0]
    folds = {d.name: calibration_report.read_predictions(d) for d in calibration_report.fold_folders(repo / "cv")}
    for run_ in calibration_report.cross_fitted(repo / "cv"):
        others = [v for k, v in folds.items() if k != run_.name]
        alone = calibration.fit(np.concatenate([o[0] for o in others]), np.concatenate([o[1] for o in others]))
        assert run_.calibration.temperature == alone.temperature
        assert run_.calibration.fit["samples"] == sum(len(o[1]) for o in others) < 28
    target = tmp_path / "bundle"
    shutil.copytree(repo / "cv/models/fold_0", target)
    done = subprocess.run([sys.executable, "tools/calibration_report.py", "--cv", str(repo / "cv"), "--cross-fit",
                           "--png", str(tmp_path / "c.png"), "--write", str(target)],
                          cwd=Path(__file__).resolve().parents[1], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    pooled = calibration.fit(np.concatenate([v[0] for v in folds.values()]), np.concatenate([v[1] for v in folds.values()]))
    written = bundle.read_config(target)["calibration"]
    assert written["temperature"] == pooled.temperature and written["fit"]["samples"] == 28
    assert "cross-validation test folds" in written["fit"]["on"]
    assert bundle.describe(target, bundle.read_config(target)).calibration.temperature == pooled.temperature
    refused = subprocess.run([sys.executable, "tools/calibration_report.py", "--cv", str(repo / "cv"), "--cross-fit",
                              "--png", str(tmp_path / "c.png"), "--write", str(tmp_path)],
                             cwd=Path(__file__).resolve().parents[1], capture_output=True, text=True, timeout=300)
    assert refused.returncode == 2 and "no Keras bundle" in refused.stderr
