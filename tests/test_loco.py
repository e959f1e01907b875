"""Leave-one-corpus-out run by DVC itself, as README documents it (`dvc exp run -S 'data.corpora=[ravdess,tess,emodb]'
-S 'loco.corpora=[ravdess,tess,emodb]' -S 'loco.summary=[all]'`), on the tiny project of the documented lines
(conftest's ``documented_runs``, tests/helpers/doc_runs.py, which runs each documented line once): RAVDESS
(actors 1-5, statement 01: 35 kept), TESS (OAF, YAF: 14) and EmoDB (03, 08, 09: 12 kept, no surprise);
1 epoch, frames layout, one validation speaker per training corpus. The eGeMAPS + SVM baseline's
leave-one-corpus-out and 5-fold RAVDESS CV are docs/evaluation.md's line (`... baseline_cv@all
baseline_loco@all baseline_cross@tess baseline_cross@emodb`) on the same project. Each test reads the project
as its line left it.
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import yaml

from emoaugnet.evaluation import cv_summary, scoring as evaluation
from emoaugnet.training import folds
from helpers import doc_runs, featurestore
from helpers.tiny_project import run

pytestmark = pytest.mark.slow

CORPORA = ["ravdess", "tess", "emodb"]
RECORDINGS = {"ravdess": 35, "tess": 14, "emodb": 12}
TRAINED = {"ravdess": 28, "tess": 7, "emodb": 11}     # recordings of all but the last speaker (EmoDB 03: 6, 08: 5)
SPEAKERS = {"ravdess": ["1", "2", "3", "4", "5"], "tess": ["OAF", "YAF"], "emodb": ["03", "08", "09"]}


def rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def ran(output: str) -> set[str]:
    return {line.split("'")[1].split(":")[-1] for line in output.splitlines() if line.startswith("Running stage '")}


@pytest.fixture(scope="module")
def project(documented_runs):
    """README's leave-one-corpus-out line as it ran (the project it left and what it printed), then
    `dvc repro loco_summary@all` again there."""
    done = documented_runs[doc_runs.the_line(doc_runs.is_loco)]
    assert done.problem is None, done.problem
    repo = done.project
    assert yaml.safe_load((repo / "params.yaml").read_text())["split"]["val_per_fold"] == 1
    again = run(["dvc", "repro", "loco_summary@all"], repo)
    return repo, done.output, again


def test_each_corpus_is_held_out_once_in_a_cached_stage(project):
    repo, first, again = project
    assert {f"{s}@{c}" for s in ("train_loco", "evaluate_loco") for c in CORPORA} | {"loco_summary@all"} <= ran(first)
    assert not any(s.startswith(("train_fold", "train@", "baseline")) for s in ran(first))
    assert ran(again) == set()


@pytest.mark.parametrize("held_out", CORPORA)
def test_held_out_corpus_never_trains_and_is_scored_whole(project, held_out):
    repo = project[0]
    split = json.loads((repo / f"loco/models/{held_out}/model.json").read_text())["split"]
    others = [c for c in CORPORA if c != held_out]
    assert split["corpora"] == others
    assert sorted(split["test_speakers"]) == sorted(f"{held_out}:{s}" for s in SPEAKERS[held_out])
    assert split["overlap"]["test_speakers_in_train"] == 0 and split["overlap"]["test_utterances_in_train"] == 0
    # validation: the last speaker of each training corpus, never a held-out one
    assert split["val_speakers"] == [f"{c}:{SPEAKERS[c][-1]}" for c in others]
    trained = sum(TRAINED[c] for c in others)      # x2: the original and its one augmented variant
    assert split["counts"] == {"train": 2 * trained, "val": sum(RECORDINGS[c] - TRAINED[c] for c in others),
                               "test": RECORDINGS[held_out]}
    report = repo / f"loco/reports/{held_out}"
    predicted = rows(report / "predictions.csv")
    assert len(predicted) == RECORDINGS[held_out] and {r["corpus"] for r in predicted} == {held_out}
    assert {r["variant"] for r in predicted} == {"0"}
    m = json.loads((report / "metrics.json").read_text())
    assert m["corpus"] == held_out and m["trained_on"] == sorted(others)
    # UA / macro F1 over the classes the corpus has (EmoDB: no surprise), recomputed from the predictions
    classes = featurestore.params().classes
    y = np.array([classes.index(r["actual"]) for r in predicted])
    got = evaluation.scores(y, np.array([classes.index(r["predicted"]) for r in predicted]), classes)
    assert {k: m[k] for k in cv_summary.HEADLINE} == {k: got[k] for k in cv_summary.HEADLINE}
    present = {r["actual"] for r in predicted}
    assert ("surprise" in present) == (held_out != "emodb")


def test_summary_arithmetic_matches_the_held_out_reports(project):
    repo = project[0]
    summary = json.loads((repo / "reports/loco/metrics.json").read_text())
    reports = {c: json.loads((repo / f"loco/reports/{c}/metrics.json").read_text()) for c in CORPORA}
    assert summary["held_out"] == CORPORA and summary["test_recordings"] == sum(RECORDINGS.values())
    for key in cv_summary.HEADLINE:
        values = np.array([reports[c][key] for c in CORPORA])
        assert [summary["per_corpus"][c][key] for c in CORPORA] == list(values)
        assert summary["mean"][key] == pytest.approx(values.mean(), abs=1e-6)
        assert summary["sd"][key] == pytest.approx(values.std(ddof=1), abs=1e-6)
    for c in CORPORA:
        assert summary["per_corpus"][c]["test"] == RECORDINGS[c]
        assert summary["per_corpus"][c]["trained_on"] == sorted(o for o in CORPORA if o != c)
    pooled = Counter((r["actual"], r["predicted"]) for r in rows(repo / "reports/loco/confusion.csv"))
    correct = sum(n for (a, p), n in pooled.items() if a == p)
    assert sum(pooled.values()) == 61
    assert summary["pooled"]["weighted_accuracy"] == pytest.approx(correct / 61, abs=1e-6)
    shown = run(["dvc", "metrics", "show"], repo)
    assert "reports/loco/metrics.json" in shown and "mean.unweighted_accuracy" in shown


@pytest.fixture(scope="module")
def baseline(documented_runs):
    """docs/evaluation.md's baseline line (cross-validation and leave-one-corpus-out of the eGeMAPS + SVM,
    targets only) as it ran: the project it left and what it printed."""
    done = documented_runs[doc_runs.the_line(doc_runs.is_both)]
    assert done.problem is None, done.problem
    return done.project, done.output


def test_baseline_runs_only_on_the_functionals_and_writes_the_networks_report_format(baseline, project):
    repo, out = baseline
    # the raw recordings' download (restored: other lines ran it) and the functionals; no network stage
    functionals = {f"{s}@{c}" for s in ("download", "egemaps") for c in CORPORA}
    assert {"baseline_loco@all", "baseline_cv@all", "baseline_cross@tess", "baseline_cross@emodb"} <= ran(out)
    assert ran(out) <= {"check_params", "baseline_loco@all", "baseline_cv@all", "baseline_cross@tess",
                        "baseline_cross@emodb"} | functionals, ran(out)
    assert all((repo / "data/egemaps" / c).exists() for c in CORPORA)
    loco = json.loads((repo / "reports/loco/baseline/metrics.json").read_text())
    network = json.loads((project[0] / "reports/loco/metrics.json").read_text())   # the network's, README's line
    assert set(loco) == set(network) and loco["model"].startswith("egemaps-svm")
    grid = yaml.safe_load((repo / "params.yaml").read_text())["baseline"]["C"]
    for c in CORPORA:
        m = json.loads((repo / f"loco/baseline/{c}/metrics.json").read_text())
        assert m["samples"]["test"] == RECORDINGS[c] and m["leakage"]["test_speakers_in_train"] == 0
        assert m["chosen"]["C"] in grid and m["chosen"]["val"] > 0
        assert len(rows(repo / f"loco/baseline/{c}/predictions.csv")) == RECORDINGS[c]
        assert loco["per_corpus"][c]["unweighted_accuracy"] == m["unweighted_accuracy"]
    cv = json.loads((repo / "reports/cv/baseline/metrics.json").read_text())
    assert cv["folds_run"] == 5 and cv["complete"] and cv["test_recordings"] == 35
    tested = []
    for k in range(5):
        test, _ = folds.fold_roles(SPEAKERS["ravdess"], 5, k, 1)
        assert cv["per_fold"][str(k)]["test_speakers"] == test
        tested += test
    assert sorted(tested) == SPEAKERS["ravdess"]
    values = [cv["per_fold"][str(k)]["unweighted_accuracy"] for k in range(5)]
    assert cv["mean"]["unweighted_accuracy"] == pytest.approx(np.mean(values), abs=1e-6)
    shown = run(["dvc", "metrics", "show"], repo)
    assert "reports/cv/baseline/metrics.json" in shown and "reports/loco/baseline/metrics.json" in shown
