"""Cross-corpus evaluation: a model scored on corpora it never saw, each reported on its own.

The unit tests score an untrained (seeded initial weights) bundle on a real feature store. End to end, on the
real TESS and EmoDB fixture files (tests/fixtures/README.md): the project README's cross-corpus line left
(`dvc exp run -S 'data.corpora=[ravdess,tess,emodb]' -S 'evaluate.cross_corpora=[tess,emodb]' ...`, run once
for every test by conftest's ``documented_runs``), trained on the RAVDESS fixtures; then, in a copy of it,
`dvc exp run` trains on RAVDESS + TESS and scores EmoDB.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import f1_score, recall_score

from emoaugnet.model import bundle
from emoaugnet.evaluation.cross_corpus import evaluate_corpus
from emoaugnet.params import ParamsError
from helpers import doc_runs, featurestore, tiny_project
from helpers.tiny_project import run

pytestmark = pytest.mark.slow      # runs dvc repro and dvc exp run on tiny projects


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """The fixture features under corpus name ``tess`` (RAVDESS audio: only the scoring is tested here)."""
    return featurestore.build(tmp_path_factory.mktemp("features"), num_variants=2, corpus="tess")


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_scores_every_original_and_averages_over_the_classes_present(tmp_path, store):
    p = featurestore.params()
    models = featurestore.untrained_bundle(tmp_path / "models")
    m = evaluate_corpus(p, "tess", models, store, tmp_path / "cross")
    out = tmp_path / "cross" / "tess"
    saved = json.loads((out / "metrics.json").read_text())
    assert saved["protocol"] == "cross_corpus" and saved["corpus"] == "tess"
    # 4 actors x 14 kept originals (variant 1 is not scored); calm is dropped, so every class has 8
    assert saved["samples"] == {"test": 56, "speakers": 4, "per_class": {c: 8 for c in p.classes}}
    rows = read_csv(out / "predictions.csv")
    assert len(rows) == 56 and {r["variant"] for r in rows} == {"0"} and {r["corpus"] for r in rows} == {"tess"}
    actual = [r["actual"] for r in rows]
    predicted = [r["predicted"] for r in rows]
    assert saved["weighted_accuracy"] == pytest.approx(np.mean(np.array(actual) == np.array(predicted)), abs=1e-6)
    assert saved["unweighted_accuracy"] == pytest.approx(
        recall_score(actual, predicted, labels=sorted(set(actual)), average="macro", zero_division=0), abs=1e-6)
    assert saved["macro_f1"] == pytest.approx(
        f1_score(actual, predicted, labels=sorted(set(actual)), average="macro", zero_division=0), abs=1e-6)
    assert [(r["actual"], r["predicted"]) for r in read_csv(out / "confusion.csv")] == list(zip(actual, predicted))
    assert {r["class"]: int(r["support"]) for r in read_csv(out / "per_class.csv")} == {c: 8 for c in p.classes}
    assert m["weighted_accuracy"] == saved["weighted_accuracy"]


def test_a_corpus_the_model_trained_on_is_refused(tmp_path, store):
    models = featurestore.untrained_bundle(tmp_path / "models")
    b = bundle.load(models)
    bundle.save(models, b.model, b.mean, b.scale, b.classes, b.model_params, b.feature_params, b.audio_params,
                b.num_frames, b.num_channels, b.precision, split={"corpora": ["ravdess", "tess"]})
    with pytest.raises(ParamsError, match=r"the model was trained on tess .*never saw"):
        evaluate_corpus(featurestore.params(), "tess", models, store, tmp_path / "cross")
    assert not (tmp_path / "cross").exists()


def test_train_on_ravdess_score_tess_and_emodb_through_dvc_repro(documented_runs):
    done = documented_runs[doc_runs.the_line(doc_runs.is_cross)]
    assert done.problem is None, done.problem
    repo = done.project                  # as README's cross-corpus line left it: trained on RAVDESS alone
    expected = {"tess": (14, 2, {c: 2 for c in featurestore.params().classes}),
                "emodb": (12, 3, {**{c: 2 for c in featurestore.params().classes}, "surprise": 0})}
    for corpus, (n, speakers, per_class) in expected.items():
        m = json.loads((repo / "reports" / "cross" / corpus / "metrics.json").read_text())
        assert m["samples"] == {"test": n, "speakers": speakers, "per_class": per_class}
        assert m["trained_on"] == ["ravdess"] and m["leakage"]["note"] is None
        for key in ("weighted_accuracy", "unweighted_accuracy", "macro_f1"):
            assert 0 <= m[key] <= 1
        assert len(read_csv(repo / "reports" / "cross" / corpus / "confusion.csv")) == n
    assert "surprise" not in {r["actual"] for r in read_csv(repo / "reports" / "cross" / "emodb" / "predictions.csv")}
    shown = json.loads(run(["dvc", "metrics", "show", "--json"], repo))
    files = next(iter(shown.values()))["data"]
    assert {"reports/metrics.json", "reports/cross/tess/metrics.json", "reports/cross/emodb/metrics.json"} <= set(files)
    assert "up to date" in run(["dvc", "status"], repo)


def test_train_on_ravdess_and_tess_score_emodb_through_dvc_exp_run(documented_runs, tmp_path):
    """Leave one corpus out with the cross-corpus stage: in a copy of the project README's cross-corpus line
    left (its params score TESS and EmoDB), `dvc exp run` trains on RAVDESS + TESS and scores EmoDB only."""
    done = documented_runs[doc_runs.the_line(doc_runs.is_cross)]
    assert done.problem is None, done.problem
    repo = tiny_project.copy(done.project, tmp_path / "repo")
    out = run(["dvc", "exp", "run", "-S", "run.corpora=[ravdess,tess]", "-S", "evaluate.cross_corpora=[emodb]"], repo)
    assert "Running stage 'train'" in out and "Running stage 'features@tess'" not in out
    m = json.loads((repo / "reports" / "cross" / "emodb" / "metrics.json").read_text())
    assert m["trained_on"] == ["ravdess", "tess"] and m["samples"]["test"] == 12
    head = json.loads((repo / "reports" / "metrics.json").read_text())
    assert head["samples"]["test"] == 7          # the in-corpus test: RAVDESS actor 5, statement 01
    shown = json.loads(run(["dvc", "metrics", "show", "--json"], repo))
    files = set(next(iter(shown.values()))["data"])
    assert "reports/cross/emodb/metrics.json" in files and "reports/cross/tess/metrics.json" not in files


def _probs(path: Path, classes) -> np.ndarray:
    return np.array([[float(r[c]) for c in classes] for r in read_csv(path)])


def test_a_folder_of_fold_models_is_scored_as_their_average(tmp_path, store):
    p = featurestore.params()
    frames = {"model.input_layout": "frames"}
    folds = tmp_path / "cv" / "models"
    featurestore.untrained_bundle(folds / "fold_0", fitted_scaler=True, logit_scale=200, **frames)
    featurestore.untrained_bundle(folds / "fold_1", fitted_scaler=True, logit_scale=40, **frames)
    evaluate_corpus(p, "tess", folds, store, tmp_path / "both")
    for fold in ("fold_0", "fold_1"):
        evaluate_corpus(p, "tess", folds / fold, store, tmp_path / fold)
    members = [_probs(tmp_path / f / "tess" / "predictions.csv", p.classes) for f in ("fold_0", "fold_1")]
    together = _probs(tmp_path / "both" / "tess" / "predictions.csv", p.classes)
    np.testing.assert_allclose(together, np.mean(members, axis=0), atol=2e-6)
    assert np.abs(members[0] - members[1]).max() > 0.05


def test_a_speaker_normalised_model_gets_each_speakers_own_statistics(tmp_path, store):
    from emoaugnet.store import shards
    from emoaugnet.model import speaker_norm
    p = featurestore.params()
    models = featurestore.untrained_bundle(tmp_path / "models", logit_scale=200,
                                           **{"model.input_layout": "frames", "model.feature_norm": "speaker"})
    evaluate_corpus(p, "tess", models, store, tmp_path / "cross")
    got = _probs(tmp_path / "cross" / "tess" / "predictions.csv", p.classes)
    test = speaker_norm.normalise(shards.load_features(store, ["tess"], variants=[0]))
    want = bundle.load(models).predict_frames(test.features)
    np.testing.assert_allclose(got, want, atol=2e-6)
    raw = bundle.load(models).predict_frames(shards.load_features(store, ["tess"], variants=[0]).features)
    assert np.abs(raw - want).max() > 0.01                   # without the normalisation it would differ
