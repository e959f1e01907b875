"""The classic parts (emoaugnet/evaluation/baseline_export.py, emoaugnet/inference/classic.py): the eGeMAPS + SVM
fit on real functionals of the RAVDESS fixtures, exported as ONNX, and averaged with a speaker-adapted network's
answers (standardised per speaker) or a single-file network's (globally). The release: tests/test_release.py."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from emoaugnet.data import manifest
from emoaugnet.evaluation import baseline, baseline_export
from emoaugnet.inference import classic
from emoaugnet.inference.api import Classifier
from emoaugnet.model import speaker_norm
from emoaugnet.store import egemaps
from emoaugnet.training import splits
from helpers import featurestore

OVERRIDES = {"split.test_speakers": [], "split.val_speakers": [4], "baseline.C": [1.0, 10.0],
             "baseline.gamma": [0.001, 0.01], "run.corpora": ["ravdess"]}
SPEAKER = sorted((featurestore.FIXTURE / "Actor_04").glob("*.flac"))


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    """The eGeMAPS store of the 64 fixture recordings (RAVDESS actors 1-4), made by the real stage function."""
    root = tmp_path_factory.mktemp("egemaps")
    rows = featurestore.fixture_rows(actors=(1, 2, 3, 4), per_actor=16)
    manifest.write(root / "ravdess.csv", rows)
    egemaps.extract_corpus("ravdess", root / "ravdess.csv", root / "store" / "ravdess", 22050,
                           featurestore.params().classes)
    return root / "store"


@pytest.fixture(scope="module")
def part(store, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("classic") / "classic"
    baseline_export.export(featurestore.params(**OVERRIDES), store, out)
    return out


def test_the_export_is_the_calibrated_svm_as_onnx(store, part):
    config = json.loads((part / classic.CONFIG_FILE).read_text())
    assert config["split"]["counts"] == {"train": 42, "val": 14} and config["split"]["val_speakers"] == ["4"]
    assert config["split"]["test_speakers"] == [] and config["chosen"]["grid"] == 4
    assert config["speaker_norm"] and config["fusion_weight"] == 0.5 and config["calibration"] is None
    p = featurestore.params(**OVERRIDES)
    split = splits.make(p.split, p.seed, p.corpora_to_run, store, normalise_speakers=True)
    model, chosen = baseline.fit_calibrated(split, p.baseline)          # fit again: the same SVM
    assert chosen == config["chosen"]
    loaded = classic.load(part)
    got = loaded.probabilities(split.val.features[:, 0, :])
    assert got.shape == (14, 7) and np.allclose(got.sum(axis=1), 1, atol=1e-5)
    assert np.allclose(got, baseline.probabilities(model, split.val), atol=1e-5)


@pytest.fixture(scope="module")
def member(part, tmp_path_factory) -> tuple[Path, Path]:
    """A speaker-normalised network (initial weights, spread logits) alone, and the same with the part."""
    alone = featurestore.untrained_bundle(tmp_path_factory.mktemp("alone") / "model", fitted_scaler=True,
                                          logit_scale=200.0, **{"model.feature_norm": "speaker"})
    fused = tmp_path_factory.mktemp("fused") / "model"
    shutil.copytree(alone, fused)
    shutil.copytree(part, fused / classic.FOLDER)
    return alone, fused


def tempered(model: Path, to: Path, temperature: float) -> Path:
    """A copy of ``model`` whose network carries a temperature (its windows' probabilities calibrated)."""
    shutil.copytree(model, to)
    config = json.loads((to / "model.json").read_text())
    config["calibration"] = {"temperature": temperature, "min_probability": 0.0, "min_margin": 0.0, "fitted": True,
                             "fit": {"on": "a test", "samples": 10}}
    (to / "model.json").write_text(json.dumps(config))
    return to


def test_a_speakers_answers_average_the_network_and_the_svm(member, part, tmp_path):
    alone, fused = member
    broken, silent = tmp_path / "broken.wav", tmp_path / "silent.wav"
    broken.write_bytes(b"RIFF0000WAVEfmt nothing")
    import soundfile
    soundfile.write(silent, np.zeros(22050 * 2, np.float32), 22050)
    given = [*SPEAKER, broken, silent]          # unreadable and silent recordings give statistics to neither
    hot = tempered(fused, tmp_path / "hot", 30.0)      # the network's temperature calibrates its windows only
    clf = Classifier.from_dir(hot, speaker=given)
    assert clf.predictor.partner is not None and clf.predictor.partner.speaker_recordings == len(SPEAKER)
    assert Classifier.from_dir(fused, speaker=given).predict_files(SPEAKER[:4]) != clf.predict_files(SPEAKER[:4])
    results = clf.predict_files([*SPEAKER[:4], broken])
    network = Classifier.from_dir(alone, speaker=given).predict_files(SPEAKER[:4])
    values = egemaps.compute(SPEAKER, 22050)            # the part's answers, worked out here from its parts
    mean, std = speaker_norm.statistics(values[:, None, :])
    svm = classic.load(part).probabilities(speaker_norm.apply(values[:4, None, :], mean, std)[:, 0, :])
    classes = clf.classes
    for r, n, s in zip(results, network, svm):
        expected = 0.5 * np.array([n["probabilities"][c] for c in classes]) + 0.5 * s
        assert np.allclose([r["probabilities"][c] for c in classes], expected, atol=2e-6)
        assert r["emotion"] == classes[int(np.argmax(expected))] and not r["calibrated"]
        assert "averaged with the eGeMAPS + SVM's (0.5 x network + 0.5 x SVM; the speaker's statistics from " \
               "16 recordings)" in r["combined"]
        assert [w["emotion"] for w in r["windows"]] == [w["emotion"] for w in n["windows"]]    # the network's
        assert r["windows"] != n["windows"]              # its windows calibrated by its temperature, 30
    assert results[-1]["result"] == "error" and "broken.wav" in results[-1]["path"]
    assert not np.allclose(svm, [[n["probabilities"][c] for c in classes] for n in network], atol=0.05)


def test_with_fewer_recordings_of_the_speaker_the_network_answers_alone_and_says_why(member):
    alone, fused = member
    results = Classifier.from_dir(fused, speaker=SPEAKER[:4]).predict_files(SPEAKER[:2])
    network = Classifier.from_dir(alone, speaker=SPEAKER[:4]).predict_files(SPEAKER[:2])
    for r, n in zip(results, network):
        assert r["probabilities"] == n["probabilities"]
        assert r["combined"] == n["combined"] + ("; the eGeMAPS + SVM could not judge it (it standardises by the "
                                                 "speaker's own functionals, from at least 5 of their voiced "
                                                 "recordings; 4 gave them): the network's alone")


def copy_of(model: Path, to: Path) -> tuple[Path, Path, dict]:
    """A copy of ``model`` to change: its folder, its classic part's ``classic.json`` and what that holds."""
    shutil.copytree(model, to)
    config_path = to / classic.FOLDER / classic.CONFIG_FILE
    return to, config_path, json.loads(config_path.read_text())


def test_the_averaged_answer_follows_the_parts_calibration(member, tmp_path):
    copy, config_path, config = copy_of(member[1], tmp_path / "model")
    config["calibration"] = {"temperature": 1.0, "min_probability": 0.99, "min_margin": 0.9, "fitted": True,
                             "fit": {"on": "a test", "samples": 10}}
    config_path.write_text(json.dumps(config))
    results = Classifier.from_dir(copy, speaker=SPEAKER).predict_files(SPEAKER[:3])
    assert all(r["result"] == "uncertain" and r["calibrated"] and len(r["candidates"]) == 2 for r in results)


def test_a_part_that_does_not_fit_the_network_is_refused(member, tmp_path):
    copy, config_path, config = copy_of(member[1], tmp_path / "model")
    config_path.write_text(json.dumps({**config, "classes": config["classes"][::-1]}))
    with pytest.raises(classic.ClassicError, match=r"classic: classes \['angry', .*the network's \['neutral'"):
        Classifier.from_dir(copy, speaker=SPEAKER)
    config_path.write_text(json.dumps(config))
    (copy / classic.FOLDER / classic.ONNX_FILE).write_bytes(b"not a graph")
    with pytest.raises(classic.ClassicError, match=r"classic\.onnx: cannot load it"):
        Classifier.from_dir(copy, speaker=SPEAKER)
    config_path.write_text(json.dumps({"format": 1}))
    with pytest.raises(classic.ClassicError, match=r"classic\.json: not a classic part \(no kind, classes"):
        Classifier.from_dir(copy, speaker=SPEAKER)


def test_bytes_and_arrays_of_a_speaker_get_the_averaged_answer_a_file_gets(member):
    import soundfile
    _, fused = member
    clf = Classifier.from_dir(fused, speaker=SPEAKER)
    from_file = clf.predict_file(SPEAKER[5])
    from_bytes = clf.predict_bytes(SPEAKER[5].read_bytes(), SPEAKER[5].name)
    samples, rate = soundfile.read(SPEAKER[5], dtype="float32")
    from_array = clf.predict_array(samples, rate)
    for got in (from_bytes, from_array):
        assert "averaged with the eGeMAPS + SVM's" in got["combined"]
        assert got["probabilities"] == pytest.approx(from_file["probabilities"], abs=1e-5)


@pytest.fixture(scope="module")
def single(store, tmp_path_factory) -> tuple[Path, Path, Path]:
    """A globally standardised part (``baseline.speaker_norm: false``), a single-file network (per-utterance
    normalisation; initial weights, spread logits) alone, and the same network with the part."""
    part = tmp_path_factory.mktemp("global") / "classic"
    baseline_export.export(featurestore.params(**OVERRIDES, **{"baseline.speaker_norm": False}), store, part)
    alone = featurestore.untrained_bundle(tmp_path_factory.mktemp("single") / "model", fitted_scaler=True,
                                          logit_scale=200.0, **{"model.feature_norm": "utterance"})
    fused = tmp_path_factory.mktemp("single-fused") / "model"
    shutil.copytree(alone, fused)
    shutil.copytree(part, fused / classic.FOLDER)
    return part, alone, fused


def test_a_single_files_answer_averages_the_network_and_the_globally_standardised_svm(single):
    part, alone, fused = single
    assert json.loads((part / classic.CONFIG_FILE).read_text())["speaker_norm"] is False
    clf = Classifier.from_dir(fused)                     # no speaker: each file on its own
    results = clf.predict_files(SPEAKER[:4])
    network = Classifier.from_dir(alone).predict_files(SPEAKER[:4])
    svm = classic.load(part).probabilities(egemaps.compute(SPEAKER[:4], 22050))    # its graph standardises
    classes = clf.classes
    for r, n, s in zip(results, network, svm):
        expected = 0.5 * np.array([n["probabilities"][c] for c in classes]) + 0.5 * s
        assert np.allclose([r["probabilities"][c] for c in classes], expected, atol=2e-6)
        assert r["emotion"] == classes[int(np.argmax(expected))]
        assert r["combined"] == n["combined"] + (", averaged with the eGeMAPS + SVM's (0.5 x network + 0.5 x SVM; "
                                                 "its training speakers' statistics)")
        assert r["windows"] == n["windows"]              # the windows stay the network's
    assert not np.allclose(svm, [[n["probabilities"][c] for c in classes] for n in network], atol=0.05)
    one = clf.predict_bytes(SPEAKER[5].read_bytes(), SPEAKER[5].name)      # bytes: the answer a file gets
    assert one["probabilities"] == pytest.approx(clf.predict_file(SPEAKER[5])["probabilities"], abs=1e-5)


def test_a_part_sits_only_beside_the_kind_of_network_it_was_fit_for(single, member, tmp_path):
    part, alone, _ = single
    wrong = tmp_path / "single-with-speaker-part"
    shutil.copytree(alone, wrong)
    shutil.copytree(member[1] / classic.FOLDER, wrong / classic.FOLDER)
    with pytest.raises(classic.ClassicError, match="fit on functionals standardised per speaker; beside a "
                                                   "single-file network it needs baseline.speaker_norm: false"):
        Classifier.from_dir(wrong)
    other = tmp_path / "speaker-with-global-part"
    shutil.copytree(member[0], other)
    shutil.copytree(part, other / classic.FOLDER)
    with pytest.raises(classic.ClassicError, match="fit on functionals standardised globally; beside a "
                                                   "speaker-adapted network it needs baseline.speaker_norm: true"):
        Classifier.from_dir(other, speaker=SPEAKER)


def test_without_the_classic_part_or_past_its_longest_recording_the_network_answers_alone(single, capsys):
    from emoaugnet import cli
    _, alone, fused = single
    network = Classifier.from_dir(alone).predict_file(SPEAKER[0])
    assert Classifier.from_dir(fused, classic_part=False).predict_file(SPEAKER[0]) == network
    assert cli.main(["predict", "--model", str(fused), "--no-classic", "--workers", "1", str(SPEAKER[0])]) == 0
    assert json.loads(capsys.readouterr().out) == network
    import soundfile
    samples, rate = soundfile.read(SPEAKER[0], dtype="float32")
    long = np.tile(samples, int(np.ceil(21 * rate / len(samples))))      # over 20 s: not an utterance
    got = Classifier.from_dir(fused).predict_array(long, rate)
    assert got["probabilities"] == Classifier.from_dir(alone).predict_array(long, rate)["probabilities"]
    assert got["combined"].endswith(f"; the eGeMAPS + SVM could not judge it ({len(long) / rate:.1f} s of audio: it "
                                    "judges recordings up to 20 s, the utterances it was trained on): the network's alone")


def test_predicts_worker_processes_answer_with_the_same_classic_part(single, tmp_path, monkeypatch):
    """`predict --workers`: each worker loads the model and the part again (an ONNX model: the shipped
    model's networks, with the global part beside them) and answers as the calling process does."""
    from emoaugnet.inference import workers
    from emoaugnet.inference.predictor import expand
    model = tmp_path / "model"
    shutil.copytree(featurestore.ROOT / "emoaugnet" / "shipped", model,
                    ignore=shutil.ignore_patterns("speaker", classic.FOLDER, "__init__.py", "__pycache__"))
    shutil.copytree(single[0], model / classic.FOLDER)
    clf = Classifier.from_dir(model)
    monkeypatch.setattr(workers, "CHUNK", 3)               # six files: two chunks, two workers
    items = expand([str(p) for p in SPEAKER[:6]])
    got = list(workers.classify(clf, items, 2))
    assert workers.effective_workers(clf, 2, len(items)) == 2
    assert got == list(clf.classify(items))
    assert all("averaged with the eGeMAPS + SVM's" in r["combined"] for r in got)


def test_the_speakers_own_recordings_are_described_once(member, monkeypatch):
    """The functionals that gave the speaker's statistics answer for those recordings when they are classified:
    openSMILE runs on a recording once, and the answers are those of describing it again."""
    _, fused = member
    clf = Classifier.from_dir(fused, speaker=SPEAKER)
    described: list[int] = []
    compute = classic.compute_each
    monkeypatch.setattr(classic, "compute_each", lambda items, rate: described.append(len(items)) or compute(items, rate))
    results = clf.predict_files([*SPEAKER[:3], *sorted((featurestore.FIXTURE / "Actor_03").glob("*.flac"))[:2]])
    assert described == [2]                                  # the two recordings that are not the speaker's
    monkeypatch.setattr(clf.predictor.partner, "known", {})
    assert clf.predict_files(SPEAKER[:3]) == results[:3] and described == [2, 3]
