"""Calibrated probabilities and "not sure": fitted on real predictions, applied by predict, said in words.

Model: a copy of the ONNX model shipped in the package (onnxruntime, no Keras), with and without a
``calibration`` entry in its model.json. Recordings: the TESS fixtures, a corpus the shipped model never
heard (it is overconfident there), EmoDB and RAVDESS fixtures.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from emoaugnet import cli
from emoaugnet.inference.api import Classifier
from emoaugnet.inference.model_dir import SHIPPED
from emoaugnet.model import calibration as cal

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
TESS = {"angry": "angry", "disgust": "disgust", "fear": "fear", "happy": "happy", "neutral": "neutral",
        "sad": "sad", "pleasant_surprise": "surprise"}
EMODB = {"W": "angry", "E": "disgust", "A": "fear", "F": "happy", "T": "sad", "N": "neutral"}   # L: boredom


def copy_model(folder: Path, calibration: dict | None = None) -> Path:
    """The shipped model (the first of the models it averages, when it is several) with ``calibration``."""
    from emoaugnet.inference import ensemble
    source = SHIPPED if (SHIPPED / "model.json").is_file() else ensemble.member_dirs(SHIPPED)[0]
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("model.onnx", "features.npz"):
        shutil.copy(source / name, folder / name)
    config = json.loads((source / "model.json").read_text())
    config.pop("calibration", None)
    if calibration is not None:
        config["calibration"] = calibration
    (folder / "model.json").write_text(json.dumps(config))
    return folder


def other_corpora() -> tuple[list[Path], list[str]]:
    """The TESS and EmoDB fixtures with their emotions (EmoDB's boredom left out)."""
    files, labels = [], []
    for f in sorted((FIXTURES / "tess").rglob("*.wav")):
        files.append(f)
        labels.append(TESS[f.parent.name.split("_", 1)[1]])
    for f in sorted((FIXTURES / "emodb" / "wav").glob("*.wav")):
        if f.name[5] in EMODB:
            files.append(f)
            labels.append(EMODB[f.name[5]])
    return files, labels


@pytest.fixture(scope="module")
def plain(tmp_path_factory) -> Path:
    return copy_model(tmp_path_factory.mktemp("plain"))


def probabilities(results: list[dict], classes) -> np.ndarray:
    return np.array([[r["probabilities"][c] for c in classes] for r in results])


def test_temperature_fitted_on_real_overconfident_predictions_lowers_nll_and_ece(plain):
    files, labels = other_corpora()
    files, labels = files[:14], labels[:14]                 # TESS: never in the shipped model's training
    clf = Classifier.from_dir(plain)
    probs = probabilities(clf.predict_files(files), clf.classes)
    y = np.array([clf.classes.index(e) for e in labels])
    fitted = cal.fit(probs, y)
    assert len(files) == 14 and fitted.fitted and fitted.fit["samples"] == 14
    assert fitted.temperature > 1.5                        # unseen corpora: the network is too sure
    after = fitted.apply(probs)
    assert cal.nll(after, y) < cal.nll(probs, y)
    assert cal.ece(after, y) < cal.ece(probs, y) / 2
    assert np.array_equal(after.argmax(axis=1), probs.argmax(axis=1))     # the ranking never changes
    share, _ = cal.coverage(after, y, fitted.min_probability, fitted.min_margin)
    assert share >= cal.MIN_COVERAGE


def test_predict_applies_the_exported_temperature_and_says_not_sure(plain, tmp_path, capsys):
    files = sorted((FIXTURES / "ravdess" / "Actor_02").glob("*.flac"))[:8] + other_corpora()[0][:6]
    entry = {"temperature": 3.0, "min_probability": 0.45, "min_margin": 0.15, "fitted": True,
             "fit": {"on": "validation speakers", "samples": 104}}
    calibrated = copy_model(tmp_path / "calibrated", entry)
    before = Classifier.from_dir(plain).predict_files(files)
    after = Classifier.from_dir(calibrated).predict_files(files)
    clf = Classifier.from_dir(calibrated)
    want_windows = [cal.scale(probabilities(r["windows"], clf.classes), 3.0) for r in before]
    unsure = 0
    for b, a, windows in zip(before, after, want_windows):
        assert b["calibrated"] is False and b["uncertain"] is False and b["answer"] == b["emotion"] == b["result"]
        assert a["calibrated"] is True
        got = probabilities(a["windows"], clf.classes)
        assert got == pytest.approx(windows, abs=3e-5)      # p ** (1 / T), renormalised (of 6-decimal inputs)
        mean = windows.mean(axis=0)
        assert list(a["probabilities"].values()) == pytest.approx(mean, abs=3e-5)
        top, second = np.sort(mean)[::-1][:2]
        if top < 0.45 or top - second < 0.15:
            unsure += 1
            order = np.argsort(-mean)
            lead = [clf.classes[order[0]], clf.classes[order[1]]]
            assert a["result"] == "uncertain" and a["emotion"] is None and a["uncertain"] is True
            assert [c["emotion"] for c in a["candidates"]] == lead
            assert a["answer"] == f"not sure: {lead[0]} or {lead[1]}"
        else:
            assert a["result"] == a["emotion"] == a["answer"] == b["emotion"] and "candidates" not in a
    assert 0 < unsure < len(files)
    # the command prints the same words; CSV keeps the result and leaves the emotion empty
    assert cli.main(["predict", "--model", str(calibrated), "--csv", *map(str, files)]) == 0
    rows = capsys.readouterr().out.splitlines()[1:]
    assert [r.split(",")[1] for r in rows] == [a["result"] for a in after]
    assert all(r.split(",")[2] == "" for r, a in zip(rows, after) if a["uncertain"])


def test_a_model_without_calibration_reads_as_not_calibrated(plain):
    assert Classifier.from_dir(plain).model.calibration == cal.NONE
    assert "not calibrated" in cal.NONE.describe()
    with pytest.raises(ValueError, match="temperature must be > 0"):
        cal.Calibration.from_config({"temperature": 0, "fitted": True})


def test_the_report_calibrates_one_model_on_its_own_validation_speakers_and_scores_its_test_speakers(tmp_path):
    """tools/calibration_report.py --model: the shipped network with a split naming fixture actors 1-2 as
    validation and 3-4 as test speakers, on the RAVDESS fixtures (calm left out by params.yaml's label map)."""
    import subprocess
    import sys

    from emoaugnet.evaluation import calibration_report
    sys.path.insert(0, str(ROOT / "tools"))
    import calibration_report as tool
    folder = copy_model(tmp_path / "model")
    config = json.loads((folder / "model.json").read_text())
    config["split"] = {**config["split"], "val_speakers": ["1", "2"], "test_speakers": ["3", "4"]}
    (folder / "model.json").write_text(json.dumps(config))
    png, out = tmp_path / "calibration.png", tmp_path / "calibration.json"
    done = subprocess.run([sys.executable, "tools/calibration_report.py", "--model", str(folder), "--source",
                           str(FIXTURES / "ravdess"), "--png", str(png), "--json", str(out)], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    figures = json.loads(out.read_text())
    (name, row), = figures["runs"].items()
    assert name == "model, test speakers 3, 4" and row["samples"] == 28          # 2 actors x 14, no calm
    run = tool.split_run(folder, "ravdess", FIXTURES / "ravdess",
                                       {"neutral": "neutral", "happy": "happy", "sad": "sad", "angry": "angry",
                                        "fearful": "fear", "disgust": "disgust", "surprised": "surprise"})
    assert run.calibration.fit["samples"] == 28 and row["temperature"] == run.calibration.temperature
    assert row == {**row, **calibration_report.test_figures(run.probs, run.labels, run.calibration)}
    assert f"| {name} | {row['temperature']:.3g} |" in done.stdout and png.read_bytes()[:4] == b"\x89PNG"


def test_an_ensemble_averages_its_members_calibrated_probabilities(plain, tmp_path):
    """Two members (the shipped network, recorded as two bundles) with their own temperatures: each is
    applied before the average; the ensemble answers "not sure" by the members' mean thresholds."""
    members = []
    for k, (t, lo) in enumerate(((0.5, 0.2), (4.0, 0.6))):
        folder = copy_model(tmp_path / "cv" / f"fold_{k}", {"temperature": t, "min_probability": lo, "min_margin": 0.0,
                                                            "fitted": True, "fit": {"samples": 7}})
        config = json.loads((folder / "model.json").read_text())
        config["onnx"]["bundle_sha256"] = f"{k}" * 64          # two different bundles, as two folds are
        (folder / "model.json").write_text(json.dumps(config))
        members.append(t)
    clip = FIXTURES / "tess" / "TESS_Toronto_emotional_speech_set_data" / "YAF_sad" / "YAF_dog_sad.wav"
    clf = Classifier.from_dir(tmp_path / "cv")
    assert clf.members == ["fold_0", "fold_1"] and clf.model.calibration.min_probability == pytest.approx(0.4)
    raw = np.array(list(Classifier.from_dir(plain).predict_file(clip)["probabilities"].values()))[None]
    want = np.mean([cal.scale(raw, t) for t in members], axis=0)[0]
    got = clf.predict_file(clip)
    assert list(got["probabilities"].values()) == pytest.approx(want, abs=3e-5)
    assert got["uncertain"] == bool(want.max() < 0.4)


def test_the_card_says_how_calibrated_the_cross_validation_found_it():
    from emoaugnet.release import card as card_mod, card_lines
    card = card_mod.read(SHIPPED)
    bare = [{k: v for k, v in f.items() if k != "calibration"} for f in card["figures"]]
    assert card_lines.calibration_lines({**card, "figures": bare}) == []
    figures = [{**f, "calibration": {"samples": 1040, "ece_before": 0.183, "ece_after": 0.041, "answered": 0.62,
                                     "accuracy_answered": 0.7, "accuracy_all": 0.52}}
               if f["file"] == "reports/cv/metrics.json" else f for f in bare]
    text = card_mod.render({**card, "figures": figures})
    assert ("expected calibration error (10 bins) 0.183 before the temperature, 0.041 after; answered 62.0% of the "
            "recordings (the rest: not sure), 70.0% of those right (52.0% of all)") in text
