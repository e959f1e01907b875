"""Predict: a tiny model trained once on the fixture feature store, then real recordings through the CLI.

The model (frames layout, 6 epochs, actor 4 held out for test) is trained and evaluated once per module;
predict must reproduce, for each of actor 4's recordings, the probabilities evaluate wrote to
reports/predictions.csv, since both go through the same bundle, reader and feature code.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import soxr

from emoaugnet.model import backend, bundle
from emoaugnet import cli
from emoaugnet.evaluation import scoring as evaluation
from emoaugnet.training import fit as training
from emoaugnet.inference import predictor as predict
from helpers import featurestore
from emoaugnet.inference.predictor import PredictParams
from emoaugnet.params import AudioParams

pytestmark = pytest.mark.slow      # builds Keras models and runs the predict command

ROOT = Path(__file__).resolve().parents[1]
TEST_ACTOR = "Actor_04"
PP = PredictParams(hop=1.25, silence_rms=0.001)


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("predict")
    features_dir = featurestore.build(root / "features", num_variants=1)
    # Actors 1-3 train (no validation part), actor 4 is the test set. Six epochs make the model decisive
    # enough (top-2 margins of several hundredths) that a class comparison is not a coin toss.
    p = featurestore.params(**{"model.input_layout": "frames", "train.epochs": 6, "train.batch_size": 16,
                               "train.precision": "float32", "split.test_speakers": [4],
                               "split.val_speakers": [], "split.val_fraction": 0})
    backend.configure(p.seed)
    training.train_and_save(p, features_dir, root / "models", live_dir=None, verbose=0)
    evaluation.evaluate(p, root / "models", features_dir, root / "reports")
    return {"models": root / "models", "reports": root / "reports", "root": root}


@pytest.fixture(scope="module")
def predictor(trained) -> predict.Predictor:
    return predict.Predictor(bundle.load(trained["models"]), PP)


def classify(predictor: predict.Predictor, *paths) -> list[dict]:
    return list(predictor.classify(predict.expand(paths)))


def test_predictions_match_what_evaluate_computed(trained, predictor, ravdess_fixture):
    with open(trained["reports"] / "predictions.csv", newline="") as f:
        rows = {r["utterance"]: r for r in csv.DictReader(f) if r["variant"] == "0"}
    results = classify(predictor, ravdess_fixture / TEST_ACTOR)   # a folder, walked in sorted order
    expected = sorted(p.name for p in (ravdess_fixture / TEST_ACTOR).glob("*.flac"))
    assert [Path(r["path"]).name for r in results] == expected
    classes = predictor.bundle.classes
    compared = 0
    for result in results:
        stem = Path(result["path"]).stem
        assert result["combined"] == "single window" and result["windows"][0]["start_s"] == 0.6
        if stem not in rows:          # calm: dropped by the label map, so not in the test set
            continue
        row = rows[stem]
        assert result["emotion"] == row["predicted"]
        np.testing.assert_allclose([result["probabilities"][c] for c in classes],
                                   [float(row[c]) for c in classes], atol=1e-4)
        compared += 1
    assert compared == len(rows) == 14


def test_stereo_48k_and_its_mono_22k_version_agree(predictor, ravdess_48k, tmp_path):
    stereo = ravdess_48k / "03-01-08-01-02-02-01.wav"
    y, sr = sf.read(stereo, dtype="float32")
    assert y.ndim == 2 and sr == 48000
    mono = tmp_path / "mono22k.flac"
    sf.write(mono, soxr.resample(y.mean(axis=1), sr, 22050, quality="HQ"), 22050, subtype="PCM_24")
    a, b = classify(predictor, stereo, mono)
    assert (a["channels"], a["sample_rate"], b["channels"], b["sample_rate"]) == (2, 48000, 1, 22050)
    assert a["emotion"] == b["emotion"]
    # The waveforms differ by < 2e-6 (soxr on the 2.5 s clip vs on the whole file), which still flips a
    # zero crossing or two in the near-silent tail: close probabilities, not equal ones.
    classes = predictor.bundle.classes
    np.testing.assert_allclose([a["probabilities"][c] for c in classes],
                               [b["probabilities"][c] for c in classes], atol=1e-2)


def test_window_rule():
    starts = lambda d: predict.window_starts(d, offset=0.6, window=2.5, hop=1.25)  # noqa: E731
    assert starts(1.0) == starts(2.5) == [0.0]            # shorter than a window: all of it from 0 s
    assert starts(2.6) == starts(3.6) == starts(4.35) == [0.6]   # the training clip alone
    assert starts(4.4) == [0.6, 1.85, 3.1]                # then every hop until the end is covered
    s = starts(20.0)
    assert s[-2] + 2.5 < 20.0 <= s[-1] + 2.5 and np.allclose(np.diff(s), 1.25)


def test_long_recording_is_windowed_and_silent_windows_are_skipped(predictor, ravdess_fixture, tmp_path):
    first = ravdess_fixture / TEST_ACTOR / "03-01-05-01-01-01-04.flac"
    second = ravdess_fixture / TEST_ACTOR / "03-01-03-01-02-01-04.flac"
    y1, sr = sf.read(first, dtype="float32")
    y2, _ = sf.read(second, dtype="float32")
    path = tmp_path / "long.wav"
    sf.write(path, np.concatenate([y1, np.zeros(4 * sr, np.float32), y2]), sr, subtype="FLOAT")
    long, alone = classify(predictor, path, first)
    windows = long["windows"]
    assert [w["start_s"] for w in windows] == predict.window_starts(long["duration_s"], 0.6, 2.5, 1.25)
    assert windows[-1]["end_s"] == long["duration_s"] and len(windows) > 3
    # the first window is the training clip, so it equals the first utterance classified on its own
    # (within the 6-decimal rounding: the window is classified in another batch, float32 sums may differ)
    assert windows[0]["probabilities"] == pytest.approx(alone["probabilities"], abs=2e-6)
    silent = [w for w in windows if w["silent"]]
    voiced = [w for w in windows if not w["silent"]]
    assert silent and all("probabilities" not in w and w["rms"] < PP.silence_rms for w in silent)
    assert long["combined"] == f"mean of {len(voiced)} non-silent windows' probabilities ({len(silent)} silent skipped)"
    for c in predictor.bundle.classes:
        assert long["probabilities"][c] == pytest.approx(np.mean([w["probabilities"][c] for w in voiced]), abs=2e-6)


def test_cli_reports_every_file_and_fails_on_unreadable_ones(trained, ravdess_fixture, ravdess_48k, tmp_path):
    good = ravdess_fixture / TEST_ACTOR / "03-01-05-01-01-01-04.flac"
    truncated_wav = tmp_path / "truncated.wav"
    truncated_wav.write_bytes((ravdess_48k / "03-01-05-01-01-01-01.wav").read_bytes()[:150_000])
    truncated_flac = tmp_path / "truncated.flac"
    truncated_flac.write_bytes(good.read_bytes()[:10_000])
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    text = tmp_path / "notes.wav"
    text.write_text("this is a text file, not audio\n")
    silent = tmp_path / "silent.flac"
    sf.write(silent, np.zeros(3 * 22050, np.float32), 22050)
    paths = [good, truncated_wav, truncated_flac, empty, text, silent]
    proc = subprocess.run([sys.executable, "-m", "emoaugnet", "predict", "--model", str(trained["models"]),
                           *map(str, paths)], cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert proc.returncode == 1, proc.stderr
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [line["path"] for line in lines] == list(map(str, paths))
    by_name = {Path(line["path"]).name: line for line in lines}
    assert by_name[good.name]["emotion"] in predictor_classes(trained)
    cut = by_name["truncated.wav"]    # libsndfile decodes what is there; the result says it was cut
    assert cut["emotion"] is not None and cut["duration_s"] < 1.6 and cut["warning"].startswith("truncated")
    assert by_name["truncated.flac"]["result"] == "error" and "decode" in by_name["truncated.flac"]["error"]
    assert by_name["empty.wav"] == {"path": str(empty), "result": "error", "emotion": None,
                                    "error": "empty file (0 bytes)"}
    assert by_name["notes.wav"]["result"] == "error" and "not a readable audio file" in by_name["notes.wav"]["error"]
    assert by_name["silent.flac"]["result"] == "silence" and by_name["silent.flac"]["emotion"] is None
    assert by_name["silent.flac"]["probabilities"] is None
    for name in ("truncated.flac", "empty.wav", "notes.wav"):
        assert f"{tmp_path / name}: " in proc.stderr
    assert "3 of 6 files could not be classified" in proc.stderr


def predictor_classes(trained) -> tuple[str, ...]:
    return tuple(json.loads((trained["models"] / bundle.CONFIG_FILE).read_text())["classes"])


def test_csv_output_and_exit_status_zero_when_all_files_read(trained, ravdess_fixture, capsys):
    files = sorted((ravdess_fixture / TEST_ACTOR).glob("*.flac"))[:3]
    assert cli.main(["predict", "--model", str(trained["models"]), "--csv", *map(str, files)]) == 0
    rows = list(csv.DictReader(capsys.readouterr().out.splitlines()))
    classes = predictor_classes(trained)
    assert [r["path"] for r in rows] == list(map(str, files))
    for row in rows:
        probs = [float(row[f"p_{c}"]) for c in classes]
        assert row["emotion"] == classes[int(np.argmax(probs))] and abs(sum(probs) - 1) < 1e-4
        assert (row["windows"], row["silent_windows"], row["error"]) == ("1", "0", "")


def test_missing_model_is_a_clear_error(tmp_path, capsys):
    assert cli.main(["predict", "--model", str(tmp_path / "nowhere"), "x.wav"]) == 2
    assert "model bundle not found" in capsys.readouterr().err


def test_hop_defaults_to_half_the_models_window_and_can_be_set(tmp_path):
    model_audio = AudioParams(sample_rate=22050, offset=0.6, duration=2.5)
    assert PredictParams().hop_for(2.5) == 1.25 and PredictParams().hop_for(3.0) == 1.5
    long = tmp_path / "long.wav"
    sf.write(long, 0.1 * np.sin(np.arange(10 * 22050) / 10).astype(np.float32), 22050)
    default = predict.read_windows(long, model_audio, PredictParams())
    assert [w.start for w in default.windows] == predict.window_starts(10.0, 0.6, 2.5, 1.25)
    finer = predict.read_windows(long, model_audio, PredictParams(hop=0.5))
    assert [w.start for w in finer.windows] == predict.window_starts(10.0, 0.6, 2.5, 0.5)
    assert len(finer.windows) > len(default.windows)


def test_folders_are_walked_recursively_in_sorted_order(tmp_path):
    for name in ("b/2.flac", "b/a/1.WAV", "a.mp3", "c/readme.txt", "c/x.m4a"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"")
    (tmp_path / "empty").mkdir()
    items = predict.expand([tmp_path, tmp_path / "empty"])
    found = [Path(p).relative_to(tmp_path).as_posix() for p, err in items if err is None]
    assert found == ["a.mp3", "b/2.flac", "b/a/1.WAV", "c/x.m4a"]
    assert items[-1][0] == str(tmp_path / "empty") and "no audio files" in items[-1][1]


def test_folder_links_are_followed_once_and_a_loop_ends(tmp_path):
    shared = tmp_path / "shared" / "Actor_03"
    shared.mkdir(parents=True)
    (shared / "3.flac").write_bytes(b"")
    corpus = tmp_path / "corpus"
    (corpus / "Actor_01").mkdir(parents=True)
    (corpus / "Actor_01" / "1.flac").write_bytes(b"")
    (corpus / "Actor_03").symlink_to(shared, target_is_directory=True)     # a linked speaker folder
    (corpus / "Actor_01" / "up").symlink_to(corpus, target_is_directory=True)  # a loop back up
    found = [Path(p).relative_to(corpus).as_posix() for p, err in predict.expand([corpus]) if err is None]
    assert found == ["Actor_01/1.flac", "Actor_03/3.flac"]
