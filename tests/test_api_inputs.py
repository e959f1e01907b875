"""The Python API's boundary (emoaugnet/inference/api_inputs.py): paths, sample arrays, sample types and rates are
checked with messages that say what to pass instead; valid but unusual layouts give the same answer as
the plain one. A real fixture recording through an untrained frames-layout bundle."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

from emoaugnet.inference.api import Classifier
from helpers import featurestore

CLIP = featurestore.FIXTURE / "Actor_01" / "03-01-05-01-01-01-01.flac"


@pytest.fixture(scope="module")
def clf(tmp_path_factory) -> Classifier:
    return Classifier.from_dir(featurestore.untrained_bundle(tmp_path_factory.mktemp("m") / "models", logit_scale=200,
                                                             **{"model.input_layout": "frames"}))


@pytest.fixture(scope="module")
def pcm():
    y, sr = sf.read(CLIP, dtype="int16")
    return y, sr


def test_from_emoaugnet_import_classifier_works_and_import_emoaugnet_stays_cheap():
    code = ("import sys, emoaugnet; cheap = not {'numpy', 'keras', 'librosa'} & set(sys.modules); "
            "from emoaugnet import Classifier; print(cheap, Classifier.__module__)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["True", "emoaugnet.inference.api"]


def test_one_path_is_one_file_not_its_characters(clf):
    result = clf.predict_files(str(CLIP))
    assert len(result) == 1 and result[0]["path"] == str(CLIP) and result[0]["emotion"] in clf.classes
    assert clf.predict_files(CLIP) == result == [clf.predict_file(CLIP)]
    with pytest.raises(TypeError, match="expected a path"):
        clf.predict_files(42)
    with pytest.raises(TypeError, match="it holds a int"):
        clf.predict_files([str(CLIP), 3])
    with pytest.raises(TypeError, match="expected a path"):
        clf.predict_files(b"/")


def test_sample_types_layouts_and_rates(clf, pcm):
    y, sr = pcm
    plain = clf.predict_array(y.astype(np.float32) / 32768, sr)
    assert plain["emotion"] in clf.classes
    assert clf.predict_array(y, sr)["probabilities"] == plain["probabilities"]             # int16 scaled
    assert clf.predict_array(y.astype(np.int32) * 65536, sr)["probabilities"] == plain["probabilities"]
    stereo = np.stack([y, y], axis=1)                                                        # (N, 2)
    assert clf.predict_array(stereo, sr)["probabilities"] == plain["probabilities"]
    first = clf.predict_array(stereo.T, sr)                                                  # (2, N)
    assert first["probabilities"] == plain["probabilities"] and first["channels"] == 2
    assert clf.predict_array(y, float(sr))["probabilities"] == plain["probabilities"]       # 22050.0


@pytest.mark.parametrize("rate", [44.1, 8, 0, -1, 1e9, float("nan")])
def test_a_rate_that_is_not_a_sample_rate_is_refused(clf, pcm, rate):
    with pytest.raises(ValueError, match=r"whole number from 8000 to 384000 \(e.g. 16000 or 44100"):
        clf.predict_array(pcm[0], rate)


@pytest.mark.parametrize("samples, rate, error, words", [
    (np.zeros((3, 2000, 2), np.float32), 22050, ValueError, "pass (samples,) or (samples, channels)"),
    (np.zeros((100, 1000), np.float32), 22050, ValueError, "neither axis is a channel axis"),
    (np.ones(30000, np.complex64), 22050, TypeError, "complex samples"),
    (np.full(30000, 20000.0), 22050, ValueError, "far outside the [-1, 1] range"),
    (np.arange(30000), 22050, TypeError, "int64 do not say their scale"),
    (np.array(["a", "b"]), 22050, TypeError, "pass float samples in [-1, 1] or int16/int32 PCM"),
    ("speech.wav", 22050, TypeError, "for a file use predict_file(path)"),
    (None, 22050, TypeError, "must be a numpy array"),
    ([[0.1, 0.2], [0.3]], 22050, ValueError, "not a regular array"),
    (np.zeros(30000, np.float32), "22050", TypeError, "rate must be a whole number"),
    (np.zeros(30000, np.float32), True, TypeError, "rate must be a whole number"),
])
def test_wrong_arrays_and_types_say_what_to_pass(clf, samples, rate, error, words):
    with pytest.raises(error) as caught:
        clf.predict_array(samples, rate)
    assert words in str(caught.value)


def test_predict_is_the_one_entry_for_paths_lists_and_arrays(clf, pcm, tmp_path):
    y, sr = pcm
    one = clf.predict(CLIP)
    assert one == clf.predict(str(CLIP)) == clf.predict_file(CLIP) and one["emotion"] in clf.classes
    assert clf.predict([CLIP, str(CLIP)]) == [one, one]                   # a list of paths: a list of dicts
    assert clf.predict((str(CLIP),)) == [one]
    assert clf.predict([CLIP.parent])[0]["path"].startswith(str(CLIP.parent))   # folders walked
    from_array = clf.predict(y, sr)
    assert from_array == clf.predict_array(y, sr) == clf.predict(y, rate=sr)
    assert clf.predict((y, sr)) == from_array                             # (samples, rate): librosa.load's pair
    assert clf.predict(list(y.astype(np.float32) / 32768), sr)["emotion"] in clf.classes
    assert clf.predict([]) == []


@pytest.mark.parametrize("x, rate, error, words", [
    (42, None, TypeError, "got int"),
    ({"path": "a.wav"}, None, TypeError, "got dict"),
    (None, None, TypeError, "got NoneType"),
    (b"RIFF....WAVE", 16000, TypeError, "an audio file's bytes say their own rate: predict(data)"),
    (np.zeros(30000, np.float32), None, TypeError, "audio samples (ndarray) need their rate"),
    ([0.1, 0.2, 0.3], None, TypeError, "audio samples (list) need their rate"),
    ("speech.wav", 16000, TypeError, "rate is for audio samples; a file says its own rate"),
    ([1, "a.wav"], None, TypeError, "it holds a int"),
    (np.zeros(30000, np.float32), "16k", TypeError, "rate must be a whole number of samples per second (e.g. "
                                                   "16000); got str"),
])
def test_predict_names_the_type_it_was_given(clf, x, rate, error, words):
    with pytest.raises(error) as caught:
        clf.predict(x, rate)
    assert words in str(caught.value)


def test_predict_file_raises_for_a_missing_file_a_folder_and_undecodable_audio(clf, tmp_path):
    missing = tmp_path / "no-such-recording.wav"
    with pytest.raises(FileNotFoundError) as caught:
        clf.predict_file(missing)
    assert caught.value.filename == str(missing) and str(missing) in str(caught.value)
    with pytest.raises(FileNotFoundError):
        clf.predict(str(missing))
    with pytest.raises(IsADirectoryError, match="predict_files"):
        clf.predict_file(tmp_path)
    notes = tmp_path / "notes.wav"
    notes.write_bytes(b"these are not audio samples\n" * 40)
    from emoaugnet.data.audio import AudioError
    with pytest.raises(AudioError) as caught:
        clf.predict_file(notes)
    assert str(caught.value).startswith(f"{notes}: ") and isinstance(caught.value, ValueError)
    for wrong, name in ((3, "int"), ([str(CLIP)], "list"), (None, "NoneType")):
        with pytest.raises(TypeError, match=f"got {name}"):
            clf.predict_file(wrong)
    # in a list, a bad file is a result that says why, and the others are still classified
    results = clf.predict_files([missing, CLIP])
    assert results[0] == {"path": str(missing), "result": "error", "emotion": None, "error": "no such file"}
    assert results[1]["emotion"] in clf.classes
