"""Speaker adaptation in `predict`: a model trained with model.speaker_norm standardises one speaker's
features by that speaker's own (unlabelled) recordings, so the speaker's recording level cancels out."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import keras
import numpy as np
import pytest
import soundfile as sf

from emoaugnet.model import bundle, network as model_mod
from emoaugnet import cli
from emoaugnet.inference.api import Classifier
from emoaugnet.inference.predictor import PredictParams, Predictor, expand
from helpers import featurestore

pytestmark = pytest.mark.slow      # builds Keras models and exports

ACTOR = featurestore.FIXTURE / "Actor_04"


def speaker_norm_bundle(folder: Path) -> Path:
    p = featurestore.params(**{"model.input_layout": "frames", "model.feature_norm": "speaker"})
    keras.utils.set_random_seed(0)
    net = model_mod.build(p.model, len(p.classes), p.num_frames, p.features.num_channels, "float32")
    size = p.num_frames * p.features.num_channels
    bundle.save(folder, net, np.zeros(size, np.float32), np.ones(size, np.float32), p.classes,
                replace(p.model, feature_norm="speaker"), p.features, p.audio, p.num_frames, p.features.num_channels,
                "float32")
    return folder


def scaled_copy(dest: Path, gain: float) -> Path:
    dest.mkdir()
    for path in sorted(ACTOR.glob("*.flac"))[:6]:
        y, sr = sf.read(path, dtype="float32")
        sf.write(dest / (path.stem + ".wav"), y * gain, sr, subtype="FLOAT")
    return dest


def predict(capsys, *args) -> tuple[int, list[dict]]:
    code = cli.main(["predict", *args])
    return code, [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_speaker_norm_model_needs_the_flag_and_cancels_the_speakers_level(tmp_path, capsys):
    model = str(speaker_norm_bundle(tmp_path / "model"))
    loud, quiet = scaled_copy(tmp_path / "loud", 1.0), scaled_copy(tmp_path / "quiet", 0.25)
    code = cli.main(["predict", "--model", model, str(loud)])
    assert code == 2 and "pass --speaker-norm" in capsys.readouterr().err
    code, loud_out = predict(capsys, "--model", model, "--speaker-norm", str(loud))
    assert code == 0 and len(loud_out) == 6 and all(r["emotion"] for r in loud_out)
    code, quiet_out = predict(capsys, "--model", model, "--speaker-norm", str(quiet))
    assert code == 0
    adapted = max(np.abs(probs(a) - probs(b)).max() for a, b in zip(loud_out, quiet_out))
    # the same network fed the unadapted features (identity statistics: mean 0, sd 1): the level change
    # moves its outputs far more
    channels = bundle.describe(model).num_channels
    raw = Predictor(bundle.load(model), PredictParams(), speaker_stats=(np.zeros(channels), np.ones(channels)))
    plain = [list(raw.classify(expand([str(d)]))) for d in (loud, quiet)]
    unadapted = max(np.abs(probs(a) - probs(b)).max() for a, b in zip(*plain))
    assert adapted < unadapted / 10, (adapted, unadapted)
    assert [r["emotion"] for r in loud_out] == [r["emotion"] for r in quiet_out]


def probs(result: dict) -> np.ndarray:
    return np.array(list(result["probabilities"].values()))


def test_the_flag_is_refused_for_a_model_without_speaker_norm(tmp_path, capsys):
    model = str(featurestore.untrained_bundle(tmp_path / "model"))
    assert cli.main(["predict", "--model", model, "--speaker-norm", str(ACTOR)]) == 2
    assert "leave out --speaker-norm" in capsys.readouterr().err


def test_the_api_refuses_a_speaker_norm_model_without_the_speakers_recordings(tmp_path):
    """The API and the command share one rule (the predictor's): no silent answer on unnormalised features."""
    model = speaker_norm_bundle(tmp_path / "model")
    loud = scaled_copy(tmp_path / "loud", 1.0)
    with pytest.raises(ValueError, match="trained with model.feature_norm: speaker and needs the statistics of one speaker"):
        Classifier.from_dir(model).predict_file(next(loud.iterdir()))
    with pytest.raises(ValueError, match="trained with model.feature_norm: speaker"):
        Predictor(bundle.load(model), PredictParams())
    # given the speaker's recordings, the API answers as `emoaugnet predict --speaker-norm` does
    clf = Classifier.from_dir(model, speaker=loud)
    from_api = clf.predict_files(loud)
    assert len(from_api) == 6 and all(r["emotion"] in clf.classes for r in from_api)
    plain = Classifier.from_dir(featurestore.untrained_bundle(tmp_path / "plain"))
    assert plain.predict_file(next(loud.iterdir()))["emotion"] in plain.classes
    with pytest.raises(ValueError, match="model.feature_norm: utterance, which takes no speaker statistics"):
        Classifier.from_dir(tmp_path / "plain", speaker=loud)


def test_the_command_gives_the_apis_answers_for_a_speaker_norm_model(tmp_path, capsys):
    model = speaker_norm_bundle(tmp_path / "model")
    loud = scaled_copy(tmp_path / "loud", 1.0)
    code, out = predict(capsys, "--model", str(model), "--speaker-norm", str(loud))
    assert code == 0
    assert out == Classifier.from_dir(model, speaker=loud).predict_files(loud)


def test_adaptation_curve_scores_what_cross_validation_scored_given_all_recordings(tmp_path):
    """tools/adaptation_curve.py on two real (1-epoch) speaker-normalised fold models of the fixture store:
    with all of a speaker's recordings it gives each fold's own evaluation UA; with N of them, a UA."""
    import importlib.util

    from emoaugnet.evaluation import scoring
    from emoaugnet.training import fit, folds
    store = featurestore.build(tmp_path / "features", num_variants=1)
    p = featurestore.params(**{"model.input_layout": "frames", "model.feature_norm": "speaker", "train.epochs": 1,
                               "train.batch_size": 16, "train.precision": "float32", "split.folds": 2,
                               "split.val_per_fold": 1, "split.train_variants": []})
    expected = []
    for k in (0, 1):
        fold = folds.fold_params(p, k)
        fit.train_and_save(fold, store, tmp_path / "models" / f"fold_{k}", live_dir=None, verbose=0)
        expected.append(scoring.evaluate(fold, tmp_path / "models" / f"fold_{k}", store,
                                         tmp_path / "reports" / f"fold_{k}")["unweighted_accuracy"])
    spec = importlib.util.spec_from_file_location("adaptation_curve", featurestore.ROOT / "tools" / "adaptation_curve.py")
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    out = tmp_path / "curve.json"
    assert tool.main(["--models", str(tmp_path / "models"), "--features", str(store), "--recordings", "1,3",
                      "--draws", "2", "--out", str(out)]) == 0
    curve = json.loads(out.read_text())["recordings_per_speaker"]
    np.testing.assert_allclose(curve["all"], expected, atol=1e-6)
    assert all(0 <= v <= 1 for n in ("1", "3") for v in curve[n]) and len(curve["1"]) == 2
    with pytest.raises(SystemExit, match="speaker-normalised models"):      # a single-file model is refused
        tool.curve([_single_file_folds(tmp_path)], store, [1], 1, 0)

    # averaged with the classic tool, as the member answers: given all of a speaker's recordings, each fold's
    # UA is what tools/fusion_cv.py scores on the same folds; given fewer than 5, the network's alone
    import sys
    sys.path.insert(0, str(featurestore.ROOT / "tools"))
    import fusion_cv
    functionals = featurestore.functionals_store(store, tmp_path / "functionals")
    params = featurestore.write_params(tmp_path / "params.yaml", **{
        "model.feature_norm": "speaker", "split.folds": 2, "split.val_per_fold": 1, "cv.folds": [0, 1],
        "baseline.C": [1.0, 10.0], "baseline.gamma": [0.01]})
    (tmp_path / "config.json").write_text(json.dumps({"overrides": {"model.feature_norm": "speaker"}}))
    assert fusion_cv.main(["--network", str(tmp_path), "--egemaps", str(functionals), "--params", str(params),
                           "--out", str(tmp_path / "fusion.json")]) == 0
    fusion = json.loads((tmp_path / "fusion.json").read_text())["folds"]
    assert tool.main(["--models", str(tmp_path / "models"), "--features", str(store), "--recordings", "1,3",
                      "--draws", "2", "--classic", str(functionals), "--params", str(params), "--out", str(out)]) == 0
    fused = json.loads(out.read_text())
    np.testing.assert_allclose(fused["recordings_per_speaker"]["all"], [f["fusion_0.5"] for f in fusion], atol=1e-6)
    assert [fused["recordings_per_speaker"][n] for n in ("1", "3")] == [curve["1"], curve["3"]]  # under 5: network alone
    assert fused["classic"] == {"egemaps": str(functionals), "weight": 0.5, "min_recordings": 5, "single_file": False}


def _single_file_folds(tmp_path: Path) -> Path:
    folder = tmp_path / "single" / "fold_0"
    featurestore.untrained_bundle(folder)
    return folder.parent
