"""`predict --model <folder of models>`: the cross-validation fold models averaged (emoaugnet/inference/ensemble.py),
as Keras bundles and as ONNX exports, on real fixture recordings."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from helpers import featurestore
from emoaugnet.inference import api, ensemble
from emoaugnet.model import bundle
from emoaugnet import cli

pytestmark = pytest.mark.slow      # builds Keras models and their ONNX exports

FRAMES = {"model.input_layout": "frames", "model.feature_norm": "none"}   # untrained members that differ


@pytest.fixture(scope="module")
def folds(tmp_path_factory):
    """Two fold-like Keras bundles that disagree (last layer x200 and x40) in cv/models/fold_{0,1},
    and their ONNX exports in cv/export/fold_{0,1} (through `emoaugnet export --model cv/models`)."""
    root = tmp_path_factory.mktemp("ensemble")
    models = root / "cv" / "models"
    featurestore.untrained_bundle(models / "fold_0", fitted_scaler=True, logit_scale=200, **FRAMES)
    featurestore.untrained_bundle(models / "fold_1", fitted_scaler=True, logit_scale=40, **FRAMES)
    assert cli.main(["export", "--model", str(models), "--out", str(root / "cv" / "export")]) == 0
    return root


def _predict(capsys, model, files, *extra):
    assert cli.main(["predict", "--model", str(model), *extra, *map(str, files)]) == 0
    out, err = capsys.readouterr()
    return [json.loads(line) for line in out.splitlines()], err


def test_export_of_a_folder_of_models_exports_each(folds):
    for fold in ("fold_0", "fold_1"):
        assert (folds / "cv" / "export" / fold / "model.onnx").is_file()
    assert [d.name for d in ensemble.member_dirs(folds / "cv" / "export")] == ["fold_0", "fold_1"]


@pytest.mark.parametrize("kind", ["models", "export"])
def test_ensemble_probabilities_are_the_mean_of_its_members(folds, kind, ravdess_fixture, capsys):
    files = sorted(ravdess_fixture.glob("Actor_01/*.flac"))[:3]
    together, err = _predict(capsys, folds / "cv" / kind, files)
    assert err.startswith("predict: ensemble of 2 models (fold_0, fold_1), ")
    alone = [_predict(capsys, folds / "cv" / kind / fold, files)[0] for fold in ("fold_0", "fold_1")]
    classes = list(together[0]["probabilities"])
    for i, result in enumerate(together):
        mean = np.mean([[a[i]["probabilities"][c] for c in classes] for a in alone], axis=0)
        got = np.array([result["probabilities"][c] for c in classes])
        np.testing.assert_allclose(got, mean, atol=2e-6)
        assert result["emotion"] == classes[int(np.argmax(mean))]
    # the members disagree, so the average is not just one of them
    first = np.array([alone[0][0]["probabilities"][c] for c in classes])
    second = np.array([alone[1][0]["probabilities"][c] for c in classes])
    assert np.abs(first - second).max() > 0.05


def test_onnx_and_keras_ensembles_agree(folds, ravdess_fixture):
    files = sorted(ravdess_fixture.glob("Actor_02/*.flac"))[:4]
    keras_clf = api.Classifier.from_dir(folds / "cv" / "models")
    onnx_clf = api.Classifier.from_dir(folds / "cv" / "export")
    assert (keras_clf.backend, onnx_clf.backend) == ("keras", "onnx")
    for k, o in zip(keras_clf.predict_files(files), onnx_clf.predict_files(files)):
        np.testing.assert_allclose(list(k["probabilities"].values()), list(o["probabilities"].values()), atol=1e-4)


def test_members_that_disagree_on_classes_features_or_speaker_norm_are_refused(folds, tmp_path, capsys):
    other_classes = tmp_path / "classes"
    shutil.copytree(folds / "cv" / "models" / "fold_0", other_classes / "fold_0")
    featurestore.untrained_bundle(other_classes / "fold_1", **FRAMES,
                                  classes=["neutral", "happy", "sad", "angry", "fear", "disgust", "surprise"])
    with pytest.raises(bundle.BundleError, match="fold_1: its classes"):
        api.load_model(other_classes)

    mixed = tmp_path / "mixed"
    shutil.copytree(folds / "cv" / "models" / "fold_0", mixed / "fold_0")
    featurestore.untrained_bundle(mixed / "fold_1", **FRAMES, **{"features.n_mfcc": 13})
    assert cli.main(["predict", "--model", str(mixed), "x.wav"]) == 2
    err = capsys.readouterr().err
    assert "fold_1: its feature_params" in err and "an ensemble's models must agree" in err

    normed = tmp_path / "normed"
    shutil.copytree(folds / "cv" / "models" / "fold_0", normed / "fold_0")
    featurestore.untrained_bundle(normed / "fold_1", **{**FRAMES, "model.feature_norm": "speaker"})
    with pytest.raises(bundle.BundleError, match="fold_1: model.feature_norm speaker differs"):
        api.load_model(normed)


def test_a_folder_without_models_is_a_clear_error(tmp_path, capsys):
    (tmp_path / "empty" / "notes").mkdir(parents=True)
    assert cli.main(["predict", "--model", str(tmp_path / "empty"), "x.wav"]) == 2
    assert "model.json" in capsys.readouterr().err
