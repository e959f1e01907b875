"""Window placement (audio.window, audio.pad) and normalisation (features.loudness_db, model.feature_norm)."""

import numpy as np
import pytest

from emoaugnet.data import audio
from emoaugnet.store import features
from emoaugnet.inference import predictor as inference
from emoaugnet.model import normalisation
from emoaugnet.store.loudness import voiced_rms
from emoaugnet.store.shards import Samples
from helpers.featurestore import FIXTURE, params

EMODB = FIXTURE.parent / "emodb" / "wav" / "03a01Fa.wav"
RAV = FIXTURE / "Actor_01/03-01-05-01-01-01-01.flac"


def test_default_window_is_todays_reading():
    p = params()
    assert np.array_equal(audio.load_clip(RAV, p.audio),
                          audio.fit_length(audio.read(RAV, 22050, 0.6, 2.5), p.audio.num_samples))


def test_voiced_window_starts_at_the_voice_and_pad_leaves_no_silent_frame():
    fixed, voiced = params(), params(**{"audio.window": "voiced", "audio.pad": "reflect"})
    whole = audio.read(RAV, 22050)
    start, stop = audio.voiced_span(whole, 40.0)
    assert 0.3 < start / 22050 < 1.2 and stop > start          # RAVDESS: speech after a leading silence
    clip = audio.load_clip(RAV, voiced.audio)
    assert np.array_equal(clip[:min(stop - start, len(clip))], whole[start:min(stop, start + len(clip))])
    # EmoDB speaks at once and is 2.0 s: the fixed window pads it, with frames of exact silence (RMS 0)
    fp = fixed.features
    rms_fixed = features.extract(audio.load_clip(EMODB, fixed.audio), 22050, fp)[:, 1]
    rms_voiced = features.extract(audio.load_clip(EMODB, voiced.audio), 22050, fp)[:, 1]
    assert np.sum(rms_fixed == 0) > 10 and np.sum(rms_voiced == 0) == 0
    assert rms_voiced.shape == (108,)


@pytest.mark.parametrize("pad", ["reflect", "tile"])
def test_pad_modes(pad):
    y = np.arange(1, 6, dtype=np.float32)
    out = audio.fit_length(y, 12, pad)
    assert len(out) == 12 and np.array_equal(out[:5], y) and np.all(out != 0)
    assert np.array_equal(audio.fit_length(y, 12), np.r_[y, np.zeros(7, np.float32)])


def test_predict_places_voiced_windows_as_augment_does():
    p = params(**{"audio.window": "voiced", "audio.pad": "tile"})
    rec = inference.read_windows(EMODB, p.audio, inference.PredictParams())
    assert np.array_equal(rec.windows[0].samples, audio.load_clip(EMODB, p.audio))


def test_loudness_sets_voiced_rms_and_is_applied_by_both_extractors():
    p = params(**{"features.loudness_db": -23.0})
    clips = np.stack([audio.load_clip(RAV, p.audio), 0.1 * audio.load_clip(EMODB, p.audio)])
    out = normalisation_loudness(clips, p)
    assert np.allclose(20 * np.log10(voiced_rms(out, 2048, 512)), -23.0, atol=1e-3)
    # a clip and the same clip 20 dB quieter give the same features once normalised
    a = features.extract(clips[1], 22050, p.features)
    b = features.extract(clips[1] * 0.1, 22050, p.features)
    assert np.allclose(a, b, atol=1e-3)
    ref = features.extract(clips, 22050, p.features)
    twin = features.extract_with(clips, features.constants(22050, p.features), p.features)
    assert np.allclose(ref, twin, atol=2e-3)


def normalisation_loudness(clips, p):
    from emoaugnet.store.loudness import loudness
    return loudness(clips, p.features.loudness_db, p.features.frame_length, p.features.hop_length)


def test_utterance_norm_arithmetic_on_real_features():
    p = params()
    frames = features.extract(np.stack([audio.load_clip(RAV, p.audio), audio.load_clip(EMODB, p.audio)]),
                              22050, p.features)
    z = normalisation.utterance(frames)
    assert z.shape == (2, 108, 22)
    assert np.allclose(z.mean(axis=1), 0, atol=1e-4) and np.allclose(z.std(axis=1), 1, atol=1e-3)
    expected = (frames[1, :, 5] - frames[1, :, 5].mean()) / frames[1, :, 5].std()
    assert np.allclose(z[1, :, 5], expected, atol=1e-4)
    # per clip: a clip's result does not depend on the others (predict of one file = training)
    assert np.allclose(normalisation.utterance(frames[1:]), z[1:], atol=1e-6)
    assert np.array_equal(normalisation.for_predict(frames, "utterance"), z)
    samples = Samples(frames, np.array([0, 1]), np.array(["a", "b"]), np.array(["01", "03"]),
                      np.array([0, 0]), np.array(["ravdess", "emodb"]), ("x", "y"), {})
    assert np.array_equal(normalisation.normalise(samples, "utterance").features, z)
    corpus = normalisation.normalise(samples, "corpus").features      # one clip per corpus: as utterance,
    assert np.allclose(corpus, z, atol=1e-4)                           # channel stats over its frames


def test_speaker_norm_true_still_means_speaker_and_conflicts_are_refused():
    assert params(**{"model.speaker_norm": True, "model.feature_norm": "none"}).model.normalisation == "speaker"
    assert params(**{"model.feature_norm": "utterance"}).model.normalisation == "utterance"
    from emoaugnet.params import ParamsError
    with pytest.raises(ParamsError, match="two normalisations"):
        params(**{"model.speaker_norm": True, "model.feature_norm": "utterance"})
