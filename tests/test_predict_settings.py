"""predict's settings and the answers they guard: a clip too short to classify gets its own result, and
--hop (the API's hop) outside its range is refused before any file is read.

Model: params.yaml's network, frames layout, seeded initial weights (helpers.featurestore.untrained_bundle).
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import soundfile as sf

from emoaugnet import cli
from emoaugnet.inference.api import Classifier
from emoaugnet.inference.predictor import MIN_DURATION, MIN_HOP, PredictParams
from helpers import featurestore

CLIP = featurestore.FIXTURE / "Actor_01" / "03-01-05-01-01-01-01.flac"


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return featurestore.untrained_bundle(tmp_path_factory.mktemp("m") / "models", logit_scale=200,
                                         **{"model.input_layout": "frames"})


def cut(path, seconds: float, dest) -> str:
    y, sr = sf.read(path, dtype="float32")
    start = int(1.2 * sr)                       # inside the utterance: loud speech, not leading silence
    sf.write(dest, y[start:start + max(1, int(seconds * sr))], sr, subtype="FLOAT")
    return str(dest)


def test_a_clip_too_short_to_classify_gets_its_own_result_not_an_emotion(model, tmp_path, capsys):
    blip = cut(CLIP, 0.001, tmp_path / "blip.wav")                 # 1 ms: once answered "disgust"
    short = cut(CLIP, 0.4, tmp_path / "short.wav")
    enough = cut(CLIP, 0.6, tmp_path / "enough.wav")
    code = cli.main(["predict", "--model", str(model), blip, short, enough])
    results = {r["path"]: r for r in map(json.loads, capsys.readouterr().out.splitlines())}
    assert code == 0
    for path, seconds in ((blip, "0.001"), (short, "0.400")):
        r = results[path]
        assert (r["result"], r["emotion"], r["probabilities"]) == ("too_short", None, None)
        assert r["combined"].startswith(f"{seconds} s of audio, less than the {MIN_DURATION:g} s needed")
        assert all("emotion" not in w for w in r["windows"])
    assert results[enough]["emotion"] is not None
    # the minimum is a setting: with --min-duration 0.3 the 0.4 s clip is classified
    assert cli.main(["predict", "--model", str(model), "--min-duration", "0.3", short]) == 0
    assert json.loads(capsys.readouterr().out)["emotion"] is not None
    clf = Classifier.from_dir(model)
    y, sr = sf.read(CLIP, dtype="float32")
    assert clf.predict_array(y[:int(0.2 * sr)], sr)["result"] == "too_short"
    assert Classifier.from_dir(model, min_duration=0.1).predict_array(y[int(1.2 * sr):int(1.4 * sr)], sr)["emotion"]


@pytest.mark.parametrize("hop", ["nan", "inf", "-inf", "0", "-1", "1e-9", "0.05", "2.6", "1e9"])
def test_a_hop_outside_its_range_is_refused_before_any_file_is_read(model, tmp_path, capsys, hop):
    missing = str(tmp_path / "not-read.wav")                       # reading it would be an error line
    assert cli.main(["predict", "--model", str(model), f"--hop={hop}", missing]) == 2
    out = capsys.readouterr()
    assert out.out == "" and "not-read.wav" not in out.err
    assert f"--hop must be > 0: a number of seconds from {MIN_HOP} to" in out.err and repr(float(hop)) in out.err
    with pytest.raises(ValueError, match="hop must be > 0"):
        Classifier.from_dir(model, hop=float(hop))


def test_the_hop_range_and_the_other_settings(model):
    assert Classifier.from_dir(model, hop=MIN_HOP).params.hop == MIN_HOP
    assert Classifier.from_dir(model, hop=2.5).params.hop == 2.5           # the model's window
    with pytest.raises(ValueError, match=r"the model's window \(2.5 s\); got 2.51"):
        Classifier.from_dir(model, hop=2.51)
    for bad in (dict(silence_rms=math.nan), dict(silence_rms=-1), dict(min_duration=-0.1),
                dict(min_duration=math.inf), dict(hop="1")):
        with pytest.raises(ValueError, match="must be"):
            PredictParams(**bad)
    assert np.isclose(PredictParams().hop_for(2.5), 1.25)
