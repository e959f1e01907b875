"""The features stage: stored samples are exactly librosa's ZCR, RMS and MFCC of the stored waveforms."""

import shutil
from pathlib import Path

import h5py
import librosa
import numpy as np
import pytest

from emoaugnet.store import augment, feature_shards, features
from emoaugnet.data import manifest
from emoaugnet.store import shards as store
from emoaugnet.data.audio import load_clip
from stages import augment as augment_stage
from stages import features as features_stage
from helpers.featurestore import fixture_rows, params, write_params

ROOT = Path(__file__).resolve().parents[1]
P = params()
SR = P.audio.sample_rate


@pytest.fixture(scope="module")
def small_store(tmp_path_factory, ravdess_fixture):
    """Augmented and feature shards of 5 real utterances from 2 actors (55 samples)."""
    root = tmp_path_factory.mktemp("store")
    rows = fixture_rows(ravdess_fixture, actors=(2, 3), per_actor=3)[:5]
    augment.run("ravdess", rows, P, root / "augmented" / "ravdess", root / "report.json", workers=1,
                progress=False)
    summary = feature_shards.run("ravdess", P.features, root / "augmented" / "ravdess", root / "features" / "ravdess",
                           workers=1, progress=False)
    return root, rows, summary


def librosa_reference(y: np.ndarray) -> np.ndarray:
    """The paper's 2,376-long vector computed directly with librosa: ZCR, RMS, then MFCC frame by frame."""
    zcr = librosa.feature.zero_crossing_rate(y, frame_length=2048, hop_length=512)[0]
    rms = librosa.feature.rms(y=y, frame_length=2048, hop_length=512)[0]
    mfcc = librosa.feature.mfcc(y=y, sr=SR, n_mfcc=20, n_fft=2048, hop_length=512)
    return np.concatenate([zcr, rms, mfcc.T.ravel()])


def test_stored_flat_vector_is_zcr_rms_then_mfcc_frame_by_frame(small_store):
    root, _, summary = small_store
    assert summary == {"corpus": "ravdess", "shards": 2, "samples": 5 * P.num_variants}
    path = root / "features" / "ravdess" / "speaker_3.h5"
    with h5py.File(root / "augmented" / "ravdess" / "speaker_3.h5") as f:
        waves = f["waveform"][:]
    with h5py.File(path) as f:
        stored = f["features"][:]
        assert stored.dtype == np.float32 and stored.shape == (len(waves), 108, 22)
    for i in (0, 1, 2, 4, 5, 9, 11, len(waves) - 1):     # original, noise, pitch, slow, fast, shift...
        y = waves[i].astype(np.float32) / 32768.0
        flat = features.flatten(stored[i])
        assert flat.shape == (2376,)
        ref = librosa_reference(y)
        np.testing.assert_array_equal(flat[:108], ref[:108].astype(np.float32))          # ZCR, exact
        np.testing.assert_allclose(flat[108:216], ref[108:216], rtol=1e-5, atol=1e-7)    # RMS
        np.testing.assert_allclose(flat[216:], ref[216:], rtol=1e-4, atol=2e-3)         # MFCC (dB)


def test_shards_load_with_classes_channels_and_rows_aligned(small_store):
    root, rows, _ = small_store
    samples = store.load_features(root / "features", ["ravdess"])
    assert len(samples) == 5 * P.num_variants and samples.classes == P.classes
    assert samples.features.shape == (55, 108, 22)
    assert samples.attrs["channel_names"] == ["zcr", "rms"] + [f"mfcc{i}" for i in range(20)]
    assert samples.attrs["corpus"] == "ravdess" and samples.attrs["sample_rate"] == SR
    assert samples.attrs["features"] == {"frame_length": 2048, "hop_length": 512, "n_mfcc": 20}
    assert samples.attrs["seed"] == P.seed and samples.attrs["audio"]["offset"] == P.audio.offset
    by_id = {r.utterance: r for r in rows}
    for utt, label, speaker in zip(samples.utterance, samples.label, samples.speaker):
        assert P.classes[label] == by_id[utt].label and speaker == by_id[utt].speaker
    assert np.bincount(samples.variant).tolist() == [5] * P.num_variants
    originals = store.load_features(root / "features", ["ravdess"], speakers=["2"], variants=[0])
    assert len(originals) == 3 and set(originals.variant) == {0}
    first = originals.utterance[0]
    expected = features.extract(load_clip(by_id[first].path, P.audio), SR, P.features)
    np.testing.assert_allclose(originals.features[0], expected, rtol=1e-4, atol=2e-3)


def test_worker_count_gives_byte_identical_shards(small_store, tmp_path):
    root, _, _ = small_store
    source = root / "augmented" / "ravdess"
    feature_shards.run("ravdess", P.features, source, tmp_path / "w2", workers=2, progress=False)
    for name in ("speaker_2.h5", "speaker_3.h5"):
        assert (tmp_path / "w2" / name).read_bytes() == (root / "features" / "ravdess" / name).read_bytes()


def test_zero_crossing_rate_equals_librosa_exactly(ravdess_fixture):
    clips = np.stack([load_clip(p, P.audio) for p in sorted(ravdess_fixture.glob("Actor_04/*.flac"))])
    edge = np.zeros((3, 6000), np.float32)
    edge[1, ::7] = -0.0                                  # negative zeros count as zero
    edge[2, 100:200], edge[2, 300:400], edge[2, 500] = 1e-11, -1e-11, -1.0   # below the 1e-10 threshold
    for batch in (clips, clips[0], clips + np.float32(0.01) * np.sign(clips[::-1]), edge):
        for frame, hop in ((2048, 512), (512, 128), (1000, 333)):
            ours = features.zero_crossing_rate(batch, frame, hop)
            ref = librosa.feature.zero_crossing_rate(batch, frame_length=frame, hop_length=hop)
            assert ours.shape == ref.shape
            np.testing.assert_array_equal(ours, ref)


def test_stage_commands_run_from_params_and_manifest(ravdess_fixture, tmp_path, monkeypatch):
    write_params(tmp_path / "params.yaml", **{"augment.variants": [["noise"], ["shift"]]})  # 3 samples per file
    rows = fixture_rows(ravdess_fixture, actors=(4,), per_actor=2)
    manifest.write(tmp_path / "data" / "manifests" / "ravdess.csv", rows)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data" / "features" / "ravdess").mkdir(parents=True)
    stale = tmp_path / "data" / "features" / "ravdess" / "speaker_99.h5"
    shutil.copy(__file__, stale)                                    # left from an older manifest
    assert augment_stage.main(["ravdess"]) == 0
    assert features_stage.main(["ravdess"]) == 0
    assert not stale.exists()
    samples = store.load_features("data/features", ["ravdess"])
    assert len(samples) == 6 and samples.attrs["augment"]["variants"] == [["noise"], ["shift"]]
    assert (tmp_path / "data" / "reports" / "augment" / "ravdess.json").is_file()


def test_stage_commands_fail_clearly_without_inputs(tmp_path, monkeypatch, capsys):
    shutil.copy(ROOT / "params.yaml", tmp_path / "params.yaml")
    monkeypatch.chdir(tmp_path)
    assert augment_stage.main(["ravdess"]) == 1
    assert "data/manifests/ravdess.csv: manifest not found" in capsys.readouterr().err
    assert features_stage.main(["ravdess"]) == 1
    assert "no augmented shards" in capsys.readouterr().err


def test_a_clips_features_do_not_depend_on_the_other_clips_in_its_batch(ravdess_fixture):
    loud = load_clip(ravdess_fixture / "Actor_01" / "03-01-05-01-01-01-01.flac", P.audio)
    quiet = np.float32(0.001) * load_clip(ravdess_fixture / "Actor_02" / "03-01-04-01-02-01-02.flac", P.audio)
    alone = features.extract(quiet, SR, P.features)
    np.testing.assert_array_equal(alone[:, 2:], librosa.feature.mfcc(y=quiet, sr=SR, n_mfcc=20).T)
    beside_loud = features.extract(np.stack([loud, quiet]), SR, P.features)[1]
    np.testing.assert_allclose(beside_loud, alone, rtol=1e-4, atol=2e-3)


def test_logmel_channels_are_librosas_db_mel_bands_and_both_extractors_agree(ravdess_fixture):
    """``features.spectrum: logmel``: after ZCR and RMS, the 64 mel energies in dB as librosa computes
    them (clipped 80 dB under each clip's loudest band), with their deltas; the numpy-only extractor (what
    an ONNX export predicts with) gives the same; an MFCC store is refused to a logmel model."""
    p = params(**{"features.spectrum": "logmel", "features.n_mels": 64, "features.deltas": 1})
    files = sorted(ravdess_fixture.glob("Actor_03/*.flac"))[:3]
    clips = np.stack([load_clip(f, p.audio) for f in files])
    got = features.extract(clips, SR, p.features)
    assert got.shape == (3, 108, 2 + 64 * 2) == (3, 108, p.features.num_channels)
    names = features.channel_names(p.features)
    assert names[2] == "mel0" and names[65] == "mel63" and names[66] == "d1_mel0"
    for clip, one in zip(clips, got):
        mel = librosa.feature.melspectrogram(y=clip, sr=SR, n_fft=2048, hop_length=512, n_mels=64)
        db = librosa.power_to_db(mel, top_db=80.0)
        np.testing.assert_allclose(one[:, 2:66], db.T, rtol=0, atol=1e-3)
        np.testing.assert_array_equal(one[:, :2], features.extract(clip, SR, params().features)[:, :2])
    assert got[..., 2:66].std() > 5                                              # dB bands, not cepstra
    const = features.constants(SR, p.features, num_frames=108)
    assert const["mel"].shape == (64, 1025) and const["dct"].shape == (64, 64)
    twin = features.extract_with(clips, const, p.features)
    spread = got.reshape(-1, got.shape[-1]).std(axis=0)
    assert np.max(np.abs(twin - got).reshape(-1, got.shape[-1]) / spread) < 1e-3
    from emoaugnet.params import recorded
    assert recorded(p.features)["spectrum"] == "logmel" and "spectrum" not in recorded(params().features)
    assert p.features.differs_from(recorded(params().features))["spectrum"] == "logmel"
    assert p.features.differs_from(recorded(p.features)) is None
    assert params().features.differs_from({"frame_length": 2048, "hop_length": 512, "n_mfcc": 20}) is None


@pytest.mark.parametrize("order", [1, 2])
def test_mfcc_deltas_are_librosas_and_both_extractors_agree(ravdess_fixture, order):
    """``features.deltas``: 40 MFCCs and their derivatives, as ``librosa.feature.delta`` computes them from
    the stored MFCCs; the numpy-only extractor (what an ONNX export predicts with) gives the same."""
    p = params(**{"features.n_mfcc": 40, "features.deltas": order})
    clips = np.stack([load_clip(f, p.audio) for f in sorted(ravdess_fixture.glob("Actor_02/*.flac"))[:4]])
    got = features.extract(clips, SR, p.features)
    assert got.shape == (4, 108, 2 + 40 * (1 + order)) == (4, 108, p.features.num_channels)
    names = features.channel_names(p.features)
    assert len(names) == got.shape[-1] and names[42] == "d1_mfcc0" and names[-1] == f"d{order}_mfcc39"
    mfcc = np.swapaxes(got[..., 2:42], -1, -2)                                   # (n, 40, frames)
    for k in range(1, order + 1):
        want = np.swapaxes(librosa.feature.delta(mfcc, order=k, axis=-1), -1, -2)
        np.testing.assert_allclose(got[..., 2 + 40 * k:2 + 40 * (k + 1)], want, rtol=1e-5, atol=1e-4)
    assert np.abs(got[..., 42:82]).mean() > 0.1                                  # not a zero channel
    spread = got.reshape(-1, got.shape[-1]).std(axis=0)
    # the export's constants carry each filter as a matrix over a window's 108 frames (no SciPy at predict)
    const = features.constants(SR, p.features, num_frames=108)
    assert sorted(k for k in const if k.startswith("delta")) == [f"delta{k}" for k in range(1, order + 1)]
    for with_matrices in (const, features.constants(SR, p.features)):
        twin = features.extract_with(clips, with_matrices, p.features)
        assert np.max(np.abs(twin - got).reshape(-1, got.shape[-1]) / spread) < 1e-3
    # recorded in shard attributes and model.json only when on, so default outputs keep their bytes
    from emoaugnet.params import recorded
    assert recorded(p.features)["deltas"] == order and "deltas" not in recorded(params().features)
