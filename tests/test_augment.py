"""The augment stage: each transform does what it says on real RAVDESS recordings; shards are exact."""

import json
import os
import subprocess
import sys
from pathlib import Path

import h5py
import librosa
import numpy as np
import pytest

from emoaugnet.data import audio
from emoaugnet.store import augment
from emoaugnet.store import augmentations as transforms
from emoaugnet.store import shards as store
from emoaugnet.data.manifest import Utterance
from helpers.featurestore import fixture_rows, params

ROOT = Path(__file__).resolve().parents[1]
SR = 22050


P = params()


def clip(folder, name="Actor_01/03-01-05-01-01-01-01.flac"):
    return audio.load_clip(folder / name, P.audio)


def drawn(transform, y, seed):
    """Apply a single transform with seeded global RNGs; return output and what it drew."""
    chain = transforms.Compose([transform], p=1.0)
    out = transforms.apply_chain(chain, y, SR, seed)
    return out, dict(transform.parameters)


def voiced_f0(y):
    f0 = librosa.yin(y, fmin=70, fmax=500, sr=SR, frame_length=2048, hop_length=512)
    voiced = librosa.feature.rms(y=y, frame_length=2048, hop_length=512)[0] > 0.02
    return f0, voiced


def test_noise_level_follows_the_paper_rule(ravdess_fixture):
    y = clip(ravdess_fixture)
    t = transforms.make_transform("noise", P.augment.transforms)
    levels = []
    for seed in range(4):
        out, drew = drawn(t, y, seed)
        expected = 0.035 * drew["u"] * float(np.max(np.abs(y)))
        assert drew["noise_amp"] == pytest.approx(expected)
        residual = out - y
        assert np.std(residual) == pytest.approx(expected, rel=0.02)
        assert abs(np.mean(residual)) < 0.02 * expected + 1e-6
        levels.append(drew["u"])
    assert all(0 <= u <= 1 for u in levels) and len(set(levels)) == 4


def test_pitch_shift_moves_the_fundamental_by_the_drawn_semitones(ravdess_fixture):
    y = clip(ravdess_fixture)
    f0, voiced = voiced_f0(y)
    assert voiced.sum() > 20
    t = transforms.make_transform("pitch", P.augment.transforms)
    checked = set()
    for seed in range(50):
        out, drew = drawn(t, y, seed)
        semitones = drew["num_semitones"]
        assert -1 <= semitones <= 1
        if abs(semitones) < 0.4 or np.sign(semitones) in checked:
            continue
        assert len(out) == len(y)
        f1, _ = voiced_f0(out)
        measured = 12 * np.log2(np.median(f1[voiced] / f0[voiced]))
        assert measured == pytest.approx(semitones, abs=0.1)
        checked.add(np.sign(semitones))
        if len(checked) == 2:
            break
    assert checked == {-1.0, 1.0}


@pytest.mark.parametrize("name", ["slow", "fast"])
def test_stretch_changes_the_duration_by_the_drawn_rate(ravdess_fixture, name):
    # the whole recording, so the end of speech can be seen moving
    y = audio.read(ravdess_fixture / "Actor_02" / "03-01-04-01-02-01-02.flac", SR)
    t = transforms.make_transform(name, P.augment.transforms)
    out, drew = drawn(t, y, 7)
    rate = drew["rate"]
    limits = P.augment.transforms[name]
    assert limits["min_rate"] <= rate <= limits["max_rate"]
    assert len(out) == pytest.approx(len(y) / rate, abs=2)

    def speech_span(z):                 # first to last frame above 5% of the loudest, in samples
        rms = librosa.feature.rms(y=z, hop_length=256)[0]
        loud = np.flatnonzero(rms > 0.05 * rms.max())
        return (loud[-1] - loud[0]) * 256

    assert speech_span(out) == pytest.approx(speech_span(y) / rate, rel=0.03)
    f0, voiced = voiced_f0(y)
    f1, voiced1 = voiced_f0(out)
    assert np.median(f1[voiced1]) == pytest.approx(np.median(f0[voiced]), rel=0.03)   # pitch kept


def test_shift_rolls_by_the_drawn_amount(ravdess_fixture):
    y = clip(ravdess_fixture)
    t = transforms.make_transform("shift", P.augment.transforms)
    amounts = []
    for seed in range(5):
        out, drew = drawn(t, y, seed)
        amount = drew["shift_amount"]
        assert abs(amount) <= 5000
        np.testing.assert_array_equal(out, np.roll(y, amount))
        amounts.append(amount)
    assert len(set(amounts)) == 5


def test_variants_are_seeded_by_seed_utterance_and_variant(ravdess_fixture):
    y = clip(ravdess_fixture)
    a, drew_a = augment.augment_clip(y, "03-01-05-01-01-01-01", P)
    b, drew_b = augment.augment_clip(y, "03-01-05-01-01-01-01", P)
    np.testing.assert_array_equal(a, b)
    assert drew_a == drew_b
    np.testing.assert_array_equal(a[0], audio.to_int16(y))               # variant 0 is the clip
    assert len({row.tobytes() for row in a}) == P.num_variants           # every variant differs
    other, _ = augment.augment_clip(y, "03-01-05-01-01-01-02", P)        # another utterance id
    assert not np.array_equal(a[1:], other[1:])
    reseeded, _ = augment.augment_clip(y, "03-01-05-01-01-01-01", params(seed=43))
    assert not np.array_equal(a[1:], reseeded[1:])
    # the seed is the same in another interpreter with another hash seed (no use of hash())
    code = "from emoaugnet.store.augmentations import seed_for; print(seed_for(42, '03-01-05-01-01-01-01', 3))"
    env = {**os.environ, "PYTHONHASHSEED": "123", "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert int(out.stdout) == transforms.seed_for(42, "03-01-05-01-01-01-01", 3)


def test_shards_hold_every_variant_with_its_metadata(ravdess_fixture, tmp_path):
    rows = fixture_rows(ravdess_fixture, actors=(1, 3), per_actor=2)
    report = augment.run("ravdess", rows, P, tmp_path / "aug", tmp_path / "report.json", workers=1,
                         progress=False)
    assert report["samples"] == 4 * P.num_variants and report["bad"] == []
    assert sorted(p.name for p in (tmp_path / "aug").iterdir()) == ["speaker_1.h5", "speaker_3.h5"]
    attrs = store.read_attrs(tmp_path / "aug" / "speaker_3.h5")
    assert attrs["corpus"] == "ravdess" and attrs["sample_rate"] == SR
    assert tuple(attrs["classes"]) == P.classes and attrs["seed"] == P.seed
    assert attrs["augment"]["variants"] == [list(v) for v in P.augment.variants]
    with h5py.File(tmp_path / "aug" / "speaker_3.h5") as f:
        wave = f["waveform"][:]
        assert wave.dtype == np.int16 and wave.shape == (2 * P.num_variants, P.audio.num_samples)
        assert list(f["variant"][:]) == list(range(P.num_variants)) * 2
        chains = list(f["chain"].asstr()[:])
        assert chains[:3] == ["original", "noise", "pitch"] and chains[8] == "shift"
        utterances = list(f["utterance"].asstr()[:])
        assert utterances == sorted(utterances) and set(f["speaker"].asstr()[:]) == {"3"}
        row = next(r for r in rows if r.utterance == utterances[0])
        assert set(f["label"][: P.num_variants]) == {P.classes.index(row.label)}
        drawn_shift = json.loads(f["transform_params"].asstr()[8])
    y = audio.load_clip(row.path, P.audio)
    np.testing.assert_array_equal(wave[0], audio.to_int16(y))
    np.testing.assert_array_equal(wave[8], audio.to_int16(np.roll(y, drawn_shift[0]["shift_amount"])))


def test_worker_count_gives_byte_identical_shards(ravdess_fixture, tmp_path):
    rows = fixture_rows(ravdess_fixture, actors=(1, 2, 4), per_actor=1)
    for workers in (1, 2):
        augment.run("ravdess", rows, P, tmp_path / f"w{workers}", tmp_path / f"r{workers}.json",
                    workers=workers, progress=False)
    names = sorted(p.name for p in (tmp_path / "w1").glob("*.h5"))
    assert names == ["speaker_1.h5", "speaker_2.h5", "speaker_4.h5"]
    for name in names:
        assert (tmp_path / "w1" / name).read_bytes() == (tmp_path / "w2" / name).read_bytes()


def test_bad_files_are_reported_and_excluded(ravdess_fixture, tmp_path):
    rows = fixture_rows(ravdess_fixture, actors=(1, 2), per_actor=2)
    broken = tmp_path / "03-01-03-01-01-01-02.wav"
    broken.write_bytes(b"RIFF\x00\x00\x00\x00WAVEnot really audio")
    silent = tmp_path / "03-01-04-01-01-01-02.wav"
    import soundfile as sf
    sf.write(silent, np.zeros(3 * SR, np.float32), SR)
    bad_rows = [Utterance(p.stem, str(p), "ravdess", "2", "F", "happy", "happy", 3.0, SR, 1)
                for p in (broken, silent)]
    lenient = params(**{"quality.max_bad_fraction": 0.5})
    report = augment.run("ravdess", rows + bad_rows, lenient, tmp_path / "aug", tmp_path / "rep.json",
                         workers=1, progress=False)
    on_disk = json.loads((tmp_path / "rep.json").read_text())
    assert on_disk == report
    assert [b["path"] for b in report["bad"]] == [str(broken), str(silent)]
    assert "not a readable audio file" in report["bad"][0]["reason"]
    assert "silent" in report["bad"][1]["reason"]
    assert report["samples"] == 4 * P.num_variants and report["bad_fraction"] == pytest.approx(2 / 6)
    with h5py.File(tmp_path / "aug" / "speaker_2.h5") as f:
        assert broken.stem not in set(f["utterance"].asstr()[:])

    with pytest.raises(augment.AugmentError, match=r"2 of 6 files cannot be used.*03-01-03-01-01-01-02"):
        augment.run("ravdess", rows + bad_rows, P, tmp_path / "strict", tmp_path / "strict.json",
                    workers=1, progress=False)
    assert json.loads((tmp_path / "strict.json").read_text())["bad_fraction"] == pytest.approx(2 / 6)


def test_a_label_outside_classes_is_refused(ravdess_fixture, tmp_path):
    row = fixture_rows(ravdess_fixture, actors=(1,), per_actor=1)[0]
    wrong = Utterance(**{**row.__dict__, "label": "calm"})
    with pytest.raises(augment.AugmentError, match="label 'calm' is not one of classes"):
        augment.run("ravdess", [wrong], P, tmp_path / "aug", tmp_path / "r.json", workers=1, progress=False)
