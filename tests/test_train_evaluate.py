"""Train and evaluate for real on a tiny configuration; the ReLU / ELU comparison with `dvc exp run`.

The feature store is built from the RAVDESS fixtures (actors 1-4, 56 kept utterances); the model is
the real Table I network in the ``frames`` layout, trained for one or two epochs.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from helpers import featurestore
from emoaugnet.model import bundle, normalisation
from emoaugnet.evaluation import scoring as evaluation
from emoaugnet.training import splits, fit as training
from emoaugnet.store import shards as store
from stages import evaluate, train
from emoaugnet.params import ParamsError

pytestmark = pytest.mark.slow      # trains and evaluates through the stages and dvc exp run

ROOT = featurestore.ROOT
TINY = {"model.input_layout": "frames", "train.epochs": 2, "train.batch_size": 16, "train.precision": "float32",
        "split.test_speakers": [4], "split.val_speakers": [3]}


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_train_then_evaluate_stages_on_the_speaker_protocol(tmp_path, monkeypatch, capsys):
    featurestore.write_params(tmp_path / "params.yaml", **TINY)
    featurestore.build(tmp_path / "data" / "features", num_variants=3)
    monkeypatch.chdir(tmp_path)
    assert train.main([]) == 0
    assert evaluate.main([]) == 0

    config = bundle.read_config("models")
    assert config["split"]["protocol"] == "speaker" and config["split"]["test_speakers"] == ["4"]
    assert config["split"]["counts"] == {"train": 2 * 14 * 3, "val": 14, "test": 14}
    assert config["split"]["overlap"]["test_speakers_in_train"] == 0
    assert len(config["scaler"]["mean"]) == 2376 and config["input"]["layout"] == "frames"
    assert config["training"]["epochs_run"] == 2 and config["precision"] == "float32"

    # DVCLive: one row per epoch for the training and validation curves
    for curve in ("train/loss", "train/accuracy", "eval/loss", "eval/accuracy"):
        rows = read_csv_tsv(Path("dvclive/plots/metrics") / f"{curve}.tsv")
        assert [int(r["step"]) for r in rows] == [0, 1]

    metrics = json.loads(Path("reports/metrics.json").read_text())
    assert metrics["protocol"] == "speaker" and metrics["leakage"]["note"] is None
    assert metrics["leakage"]["test_utterances_in_train"] == 0
    assert metrics["samples"] == {"train": 84, "val": 14, "test": 14}
    assert config["model"]["conv_activation"] == "elu" and config["model"]["dense_activation"] == "elu"
    assert config["training"]["parameters"] == 1_176_391
    assert metrics["epochs_run"] == 2
    assert set(metrics) == {"protocol", "weighted_accuracy", "unweighted_accuracy", "macro_f1", "samples",
                            "leakage", "epochs_run", "best_epoch", "model",
                            "calibration"}   # a screenful for `dvc metrics show`
    # the temperature fitted on the 14 validation recordings, and what it does on the 14 test ones
    assert config["calibration"]["fitted"] and config["calibration"]["fit"]["samples"] == 14
    assert {k: metrics["calibration"][k] for k in config["calibration"]} == config["calibration"]
    assert metrics["calibration"]["test"]["samples"] == 14
    assert metrics["model"] == "frames conv-elu dense-elu float32"
    per_class = read_csv(Path("reports/per_class.csv"))
    assert [r["class"] for r in per_class] == list(config["classes"])
    assert sum(int(r["support"]) for r in per_class) == 14

    # the reports agree with each other and with the saved model
    predictions = read_csv(Path("reports/predictions.csv"))
    confusion = read_csv(Path("reports/confusion.csv"))
    assert len(predictions) == len(confusion) == 14
    assert [(r["actual"], r["predicted"]) for r in predictions] == [(r["actual"], r["predicted"]) for r in confusion]
    assert {r["speaker"] for r in predictions} == {"4"} and {r["variant"] for r in predictions} == {"0"}
    actual = np.array([r["actual"] for r in predictions])
    predicted = np.array([r["predicted"] for r in predictions])
    assert metrics["weighted_accuracy"] == pytest.approx(np.mean(actual == predicted), abs=1e-6)
    recalls = [np.mean(predicted[actual == c] == c) for c in np.unique(actual)]
    assert metrics["unweighted_accuracy"] == pytest.approx(np.mean(recalls), abs=1e-6)

    loaded = bundle.load("models")
    # the features as the model was trained on them (model.feature_norm: the owner of that rule)
    test = normalisation.for_model(loaded, store.load_features("data/features", ["ravdess"], speakers=["4"],
                                                               variants=[0]))
    probs = loaded.predict_frames(test.features)
    np.testing.assert_allclose(probs.sum(axis=1), 1, rtol=1e-5)
    assert [r["utterance"] for r in predictions] == list(test.utterance)
    saved = np.array([[float(r[c]) for c in loaded.classes] for r in predictions])
    np.testing.assert_allclose(saved, probs, atol=2e-6)
    assert list(predicted) == [loaded.classes[i] for i in probs.argmax(axis=1)]

    # evaluate refuses a model trained under another split than params.yaml now asks for
    featurestore.write_params(Path("params.yaml"), **{**TINY, "split.test_speakers": [2]})
    with pytest.raises(ParamsError, match="another split"):
        evaluation.evaluate(featurestore.params(**{**TINY, "split.test_speakers": [2]}), "models",
                            "data/features", "reports")
    capsys.readouterr()
    assert evaluate.main([]) == 1                                    # the command: message, exit 1
    assert "another split" in capsys.readouterr().err


def read_csv_tsv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def test_training_is_seeded_and_the_paper_protocol_reports_its_leakage(tmp_path):
    p = featurestore.params(**{**TINY, "split.protocol": "paper", "split.train_variants": [], "train.epochs": 1})
    features = featurestore.build(tmp_path / "features", num_variants=3)
    for name in ("a", "b"):
        training.train_and_save(p, features, tmp_path / name, live_dir=None, verbose=0)
    # same seed, same data: byte-identical weights and config (weights only, no optimizer state)
    for name in (bundle.WEIGHTS_FILE, bundle.CONFIG_FILE):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()

    metrics = evaluation.evaluate(p, tmp_path / "a", features, tmp_path / "reports")
    assert metrics["protocol"] == "paper"
    assert metrics["leakage"]["note"] == splits.PAPER_LEAKAGE
    assert metrics["leakage"]["test_utterances_in_train"] > 0
    assert metrics["leakage"]["test_speakers_in_train"] == 4
    assert metrics["samples"]["test"] == round(56 * 3 * p.split.test_fraction)
    rows = read_csv(tmp_path / "reports" / "predictions.csv")
    assert {r["variant"] for r in rows} == {"0", "1", "2"}       # augmented samples are in the test set
