"""tools/cv_sweep.py: several cross-validation configurations side by side on the fixture feature store
(4 actors in 3 folds, 1 epoch), resuming, and the float16 pack / unpack of a feature store; and
tools/fusion_cv.py, a swept configuration averaged with the SVM baseline on the same folds."""

from __future__ import annotations

import json
import subprocess
import sys

import h5py
import numpy as np
import pytest
import yaml

from helpers import featurestore
from emoaugnet.evaluation import cv_sweep
from emoaugnet.store import shards
from emoaugnet.params import ParamsError

pytestmark = pytest.mark.slow      # trains fold models

ROOT = featurestore.ROOT
TINY = {"model.input_layout": "frames", "train.epochs": 1, "train.batch_size": 16, "train.precision": "float32",
        "split.folds": 3, "split.val_per_fold": 1, "split.train_variants": [0, 1]}


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    root = tmp_path_factory.mktemp("sweep")
    features = featurestore.build(root / "features", num_variants=3)
    base = featurestore.params_tree(**TINY)
    configs = {"relu": {}, "elu_mixup": {"model.conv_activation": "elu", "train.mixup": 0.2}}
    logs: list[str] = []
    results = cv_sweep.sweep(base, configs, features, root / "out", workers=2, log=logs.append)
    return root, base, configs, features, results, logs


def test_every_configuration_is_cross_validated_over_disjoint_folds(swept):
    root, base, configs, features, results, logs = swept
    assert sorted(r["name"] for r in results) == ["elu_mixup", "relu"]
    assert sum(" fold " in line for line in logs) == 6
    for row in results:
        folder = root / "out" / row["name"]
        summary = json.loads((folder / "metrics.json").read_text())
        assert summary["complete"] and summary["folds_run"] == 3
        assert summary["test_recordings"] == 4 * 14                    # every speaker's originals, once
        tested = [s for f in summary["per_fold"].values() for s in f["test_speakers"]]
        assert sorted(tested) == ["1", "2", "3", "4"]
        per_fold = [json.loads((folder / "reports" / f"fold_{k}" / "metrics.json").read_text())["unweighted_accuracy"]
                    for k in range(3)]
        assert row["per_fold_unweighted_accuracy"] == per_fold
        assert row["mean"]["unweighted_accuracy"] == pytest.approx(np.mean(per_fold), abs=1e-6)
        assert row["sd"]["unweighted_accuracy"] == pytest.approx(np.std(per_fold, ddof=1), abs=1e-6)
        assert row["epochs_run"] == [1, 1, 1] and all(s > 0 for s in row["fold_seconds"] + row["fold_cpu_seconds"])
        cells = cv_sweep.markdown_rows([row])[0].split(" | ")
        assert cells[0] == f"| {row['name']}" and cells[3] == ", ".join(f"{100 * v:.1f}" for v in per_fold)
        assert cells[2] == (f"**{100 * row['mean']['unweighted_accuracy']:.1f} ± "
                            f"{100 * row['sd']['unweighted_accuracy']:.1f}**")
        config = json.loads((folder / "models" / "fold_0" / "model.json").read_text())
        assert config["split"]["fold"] == 0 and config["split"]["overlap"]["test_speakers_in_train"] == 0
    lines = (root / "out" / "results.jsonl").read_text().splitlines()
    assert [json.loads(line)["name"] for line in lines] == [r["name"] for r in results]
    elu = next(r for r in results if r["name"] == "elu_mixup")
    assert elu["command"] == ("dvc exp run -S 'cv.folds=[0,1,2]' -S 'cv.summary=[all]' "
                              "-S model.conv_activation=elu -S train.mixup=0.2")
    assert json.loads((root / "out" / "elu_mixup" / "models" / "fold_1" / "model.json").read_text()
                      )["model"]["conv_activation"] == "elu"


def test_a_rerun_reuses_finished_folds_and_refuses_other_overrides(swept):
    root, base, configs, features, results, logs = swept
    again: list[str] = []
    listed = (root / "out" / "results.jsonl").read_text()
    rows = cv_sweep.sweep(base, configs, features, root / "out", workers=2, log=again.append)
    assert not any(" fold " in line for line in again)                  # no fold trained again
    assert rows == sorted(results, key=lambda r: list(configs).index(r["name"]))   # times and all, from disk
    assert (root / "out" / "results.jsonl").read_text() == listed        # and not listed twice
    # a fold whose run was cut off (no job record) is trained again, and only that fold
    (root / "out" / "relu" / "reports" / "fold_1" / cv_sweep.JOB_FILE).unlink()
    partial: list[str] = []
    cv_sweep.sweep(base, configs, features, root / "out", workers=1, log=partial.append)
    assert [line for line in partial if " fold " in line][0].startswith("cv_sweep: relu fold 1:")
    assert sum(" fold " in line for line in partial) == 1
    # still listed once, in place, and its row is the rerun's (not the one summarised before it)
    after = [json.loads(line) for line in (root / "out" / "results.jsonl").read_text().splitlines()]
    assert [r["name"] for r in after] == [json.loads(line)["name"] for line in listed.splitlines()]
    job = json.loads((root / "out" / "relu" / "reports" / "fold_1" / cv_sweep.JOB_FILE).read_text())
    assert next(r for r in after if r["name"] == "relu")["fold_seconds"][1] == job["seconds"]
    with pytest.raises(ParamsError, match="holds the results of other params"):
        cv_sweep.sweep(base, {"relu": {"train.label_smoothing": 0.1}}, features, root / "out")
    changed = {**base, "seed": 7}                                      # params.yaml changed under the same name
    with pytest.raises(ParamsError, match="holds the results of other params"):
        cv_sweep.sweep(changed, configs, features, root / "out")
    with pytest.raises(ParamsError, match="train.mixup"):
        cv_sweep.sweep(base, {"bad": {"train.mixup": -1}}, features, root / "out2")


def test_the_configurations_file_is_valid_and_names_real_params():
    configs = cv_sweep.read_configs(ROOT / "tools" / "cv_configs.yaml")
    base = yaml.safe_load((ROOT / "params.yaml").read_text())
    assert "paper_flat" in configs and "frames_sn_elu_reg" in configs and cv_sweep.BASE not in configs
    # every row starts from _base (the paper's settings of the time), its own keys winning
    assert configs["paper_flat"]["model.conv_activation"] == "relu" and configs["paper_flat"]["train.epochs"] == 60
    assert configs["frames_sn_elu_20ep"]["train.epochs"] == 20 and configs["frames_sn_elu_20ep"]["model.feature_norm"] == "none"
    for overrides in configs.values():
        cv_sweep.params_tree(base, overrides)                           # every key exists and validates


def test_pack_rounds_features_to_float16_and_unpack_restores_float32_shards(swept, tmp_path):
    features = swept[3]
    tool = [sys.executable, str(ROOT / "tools" / "cv_sweep.py")]
    subprocess.run([*tool, "pack", str(features), str(tmp_path / "packed")], check=True, capture_output=True)
    subprocess.run([*tool, "unpack", str(tmp_path / "packed"), str(tmp_path / "back")], check=True,
                   capture_output=True)
    shard = next((tmp_path / "packed").glob("*/*.h5"))
    with h5py.File(shard) as f:
        assert f["features"].dtype == np.float16 and f["features"].compression == "gzip"
    original = shards.load_features(features)
    restored = shards.load_features(tmp_path / "back")
    assert restored.features.dtype == np.float32
    np.testing.assert_array_equal(restored.features, original.features.astype(np.float16).astype(np.float32))
    for name in ("label", "utterance", "speaker", "variant", "corpus"):
        np.testing.assert_array_equal(getattr(restored, name), getattr(original, name))
    assert restored.classes == original.classes
    missing = subprocess.run([*tool, "pack", str(tmp_path / "nothing"), str(tmp_path / "x")], capture_output=True,
                             text=True)
    assert missing.returncode != 0 and "no feature shards" in missing.stderr


def _probs(path, classes):
    import csv
    with open(path, newline="") as f:
        return np.array([[float(r[c]) for c in classes] for r in csv.DictReader(f)])


def test_an_ensemble_row_averages_the_configurations_fold_by_fold(swept):
    root, base, configs, features, results, logs = swept
    row = cv_sweep.ensemble_of(base, configs, ["relu", "elu_mixup"], features, root / "out", log=lambda _: None)
    assert row["name"] == "ensemble_relu+elu_mixup"
    classes = featurestore.params().classes
    for k in range(3):
        members = [_probs(root / "out" / n / "reports" / f"fold_{k}" / "predictions.csv", classes)
                   for n in ("relu", "elu_mixup")]
        together = _probs(root / "out" / row["name"] / "reports" / f"fold_{k}" / "predictions.csv", classes)
        np.testing.assert_allclose(together, np.mean(members, axis=0), atol=2e-6)
    summary = json.loads((root / "out" / row["name"] / "metrics.json").read_text())
    assert summary["test_recordings"] == 56 and summary["complete"]
    assert json.loads((root / "out" / "results.jsonl").read_text().splitlines()[-1])["name"] == row["name"]
    with pytest.raises(ParamsError, match="cannot be averaged"):
        cv_sweep.ensemble_of(base, {**configs, "normed": {"model.feature_norm": "speaker"}}, ["relu", "normed"],
                             features, root / "out")


def test_late_fusion_scores_the_network_the_svm_and_their_average_on_the_network_folds(swept, tmp_path):
    """tools/fusion_cv.py on a swept configuration's fold reports and a functionals-shaped store of the same
    recordings: the network's UA per fold is the one the sweep reported, weight 1 is the network and weight
    0 the SVM; a per-utterance network beside a per-speaker SVM and folds other than the sweep's are
    refused."""
    import shutil
    sys.path.insert(0, str(ROOT / "tools"))
    import fusion_cv
    root, base, configs, features, results, logs = swept
    store = featurestore.functionals_store(features, tmp_path / "functionals")
    tree = {**base, "cv": {**base["cv"], "folds": [0, 1, 2]}}
    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump(tree, sort_keys=False))
    network = tmp_path / "sweep" / "relu"                     # the sweep's reports, its record rewritten below
    shutil.copytree(root / "out" / "relu" / "reports", network / "reports")

    def recorded(feature_norm: str) -> None:
        (network / "config.json").write_text(json.dumps({"overrides": {"model.feature_norm": feature_norm}}))
    recorded("speaker")                                       # a per-speaker network beside the per-speaker SVM
    out, fused = tmp_path / "fusion.json", tmp_path / "fused"
    assert fusion_cv.main(["--network", str(network), "--egemaps", str(store), "--params", str(params),
                           "--weights", "0.5,0,1", "--out", str(out), "--predictions", str(fused)]) == 0
    got = json.loads(out.read_text())
    from emoaugnet.evaluation import calibration_report
    for row in got["folds"]:          # the averaged probabilities, as a fold's reports the calibration reads
        keys, probs, labels = calibration_report.read_keyed(fused / "reports" / f"fold_{row['fold']}")
        assert len(keys) == row["recordings"] and np.allclose(probs.sum(axis=1), 1, atol=1e-5)
        assert np.mean([probs[labels == c].argmax(axis=1).tolist().count(c) / (labels == c).sum()
                        for c in np.unique(labels)]) == pytest.approx(row["fusion_0.5"], abs=1e-6)
    import calibration_report as report_tool
    part = tmp_path / "classic"
    part.mkdir()
    (part / "classic.json").write_text(json.dumps({"calibration": None, "fusion_weight": 0.3, "speaker_norm": True}))
    assert report_tool.main(["--cv", str(fused), "--cross-fit", "--png", str(tmp_path / "c.png"),
                             "--write", str(part)]) == 2                    # folds averaged at 0.5, not 0.3
    assert json.loads((part / "classic.json").read_text())["calibration"] is None
    (part / "classic.json").write_text(json.dumps({"calibration": None, "fusion_weight": 0.5, "speaker_norm": False}))
    assert report_tool.main(["--cv", str(fused), "--cross-fit", "--png", str(tmp_path / "c.png"),
                             "--write", str(part)]) == 2                    # folds standardised per speaker
    assert json.loads((part / "classic.json").read_text())["calibration"] is None
    (part / "classic.json").write_text(json.dumps({"calibration": None, "fusion_weight": 0.5, "speaker_norm": True}))
    assert report_tool.main(["--cv", str(fused), "--cross-fit", "--png", str(tmp_path / "c.png"),
                             "--write", str(part)]) == 0
    assert json.loads((part / "classic.json").read_text())["calibration"]["fitted"] is True
    assert [row["fold"] for row in got["folds"]] == [0, 1, 2] and got["speaker_norm"] is True
    for row in got["folds"]:
        fold = json.loads((network / "reports" / f"fold_{row['fold']}" / "metrics.json").read_text())
        assert row["network"] == pytest.approx(fold["unweighted_accuracy"])
        assert row["fusion_1"] == row["network"] and row["fusion_0"] == row["svm"]
        assert 0 <= row["fusion_0.5"] <= 1 and row["recordings"] == fold["samples"]["test"]
    assert got["summary"]["fusion_0.5"]["mean"] == pytest.approx(np.mean([r["fusion_0.5"] for r in got["folds"]]))
    recorded("utterance")                                     # what relu really is: a single file's network
    with pytest.raises(SystemExit, match="model.feature_norm is utterance, the SVM standardises per speaker"):
        fusion_cv.main(["--network", str(network), "--egemaps", str(store), "--params", str(params)])
    assert fusion_cv.main(["--network", str(network), "--egemaps", str(store), "--params", str(params),
                           "--svm-global", "--weights", "1", "--out", str(out)]) == 0
    single = json.loads(out.read_text())
    assert single["speaker_norm"] is False
    assert [r["fusion_1"] for r in single["folds"]] == [r["network"] for r in got["folds"]]
    other = {**tree, "split": {**tree["split"], "folds": 2}, "cv": {**tree["cv"], "folds": [0, 1]}}
    params.write_text(yaml.safe_dump(other, sort_keys=False))
    with pytest.raises(SystemExit, match="are not the SVM's"):
        fusion_cv.main(["--network", str(network), "--egemaps", str(store), "--params", str(params),
                        "--svm-global"])
