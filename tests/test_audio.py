"""The audio reader: any rate and channel count in, the analysis window at 22,050 Hz mono out."""

import librosa
import numpy as np
import pytest
import soundfile as sf

from emoaugnet.data import audio
from emoaugnet.params import AudioParams

WINDOW = AudioParams(sample_rate=22050, offset=0.6, duration=2.5)


def test_clip_matches_librosa_load_on_a_22k_flac(ravdess_fixture):
    path = ravdess_fixture / "Actor_01" / "03-01-05-01-01-01-01.flac"
    clip = audio.load_clip(path, WINDOW)
    ref, _ = librosa.load(path, sr=22050, offset=0.6, duration=2.5)
    assert clip.dtype == np.float32 and clip.shape == (55125,)
    np.testing.assert_array_equal(clip[: len(ref)], ref)


def test_48k_stereo_original_is_downmixed_and_resampled(ravdess_48k):
    path = ravdess_48k / "03-01-08-01-02-02-01.wav"
    assert sf.info(str(path)).channels == 2 and sf.info(str(path)).samplerate == 48000
    clip = audio.load_clip(path, WINDOW)
    ref, _ = librosa.load(path, sr=22050, mono=True, offset=0.6, duration=2.5)
    assert clip.shape == (55125,)
    np.testing.assert_allclose(clip[: len(ref)], ref, atol=1e-4)


def test_short_clip_is_zero_padded_at_the_end(tmp_path):
    path = tmp_path / "short.wav"
    sf.write(path, np.full(22050, 0.25, np.float32), 22050)          # 1.0 s, so 0.4 s after the offset
    clip = audio.load_clip(path, WINDOW)
    assert clip.shape == (55125,)
    assert np.all(clip[:8820] == 0.25) and not np.any(clip[8820:])


def test_int16_round_trip_is_exact_for_16_bit_sources(ravdess_fixture):
    clip = audio.load_clip(ravdess_fixture / "Actor_02" / "03-01-03-01-01-01-02.flac", WINDOW)
    np.testing.assert_array_equal(audio.from_int16(audio.to_int16(clip)), clip)


@pytest.mark.parametrize("name, content, reason", [
    ("empty.wav", b"", "empty file (0 bytes)"),
    ("notes.wav", b"this is a text file, not a recording\n" * 20, "not a readable audio file"),
])
def test_unreadable_files_name_the_file_and_reason(tmp_path, name, content, reason):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(audio.AudioError) as err:
        audio.load_clip(path, WINDOW)
    assert str(path) in str(err.value) and reason in str(err.value)


def test_truncated_file_is_refused_or_read_short(tmp_path, ravdess_48k):
    data = (ravdess_48k / "03-01-05-01-01-01-01.wav").read_bytes()
    path = tmp_path / "truncated.wav"
    path.write_bytes(data[:30])                                       # header cut in the middle
    with pytest.raises(audio.AudioError, match="truncated.wav"):
        audio.load_clip(path, WINDOW)


def test_nan_samples_and_silence_are_refused(tmp_path):
    nan = tmp_path / "nan.wav"
    y = np.zeros(44100, np.float32)
    y[30000] = np.nan
    sf.write(nan, y, 22050, subtype="FLOAT")
    with pytest.raises(audio.AudioError, match="NaN or infinite"):
        audio.load_clip(nan, WINDOW)
    silent = np.zeros(55125, np.float32)
    with pytest.raises(audio.AudioError, match="all samples are zero"):
        audio.check_usable(tmp_path / "silent.wav", silent, 2048)
    with pytest.raises(audio.AudioError, match="shorter than one analysis frame"):
        audio.check_usable(tmp_path / "tiny.wav", silent[:100] + 0.1, 2048)


def test_file_shorter_than_the_offset_is_refused(tmp_path):
    path = tmp_path / "blip.wav"
    sf.write(path, np.full(2205, 0.1, np.float32), 22050)             # 0.1 s, offset is 0.6 s
    with pytest.raises(audio.AudioError, match="shorter .* than the offset"):
        audio.load_clip(path, WINDOW)
