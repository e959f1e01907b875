"""Keras backends: the tiny pipeline under JAX with TensorFlow unimportable, bundles that cross backends,
and the one module allowed to import TensorFlow.

The JAX runs are real subprocesses of the stage scripts and of ``python -m emoaugnet predict`` with
``KERAS_BACKEND=jax`` and ``tests/helpers/no_tensorflow`` first on ``PYTHONPATH``: its sitecustomize
hides TensorFlow from the import system (as if it were not installed) and logs every lookup. This test
process itself runs on TensorFlow, the project's default backend.

Cross-backend tolerance: the same ``.weights.h5`` gives the same class for every file and
probabilities within ``PROB_ATOL`` = 1e-5 under TensorFlow and JAX (measured differences are ~1e-7;
predict prints probabilities rounded to 6 decimals, which adds up to 5e-7).
"""

from __future__ import annotations

import ast
import csv
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

from emoaugnet.model import backend, bundle
from emoaugnet.model.calibration import Calibration
from emoaugnet import cli
from emoaugnet.training import fit as training
from emoaugnet.inference import predictor as predict
from helpers import featurestore

pytestmark = pytest.mark.slow      # trains and exports under TensorFlow and JAX

ROOT = featurestore.ROOT
NO_TENSORFLOW = ROOT / "tests" / "helpers" / "no_tensorflow"
TEST_ACTOR = ROOT / "tests" / "fixtures" / "ravdess" / "Actor_04"
TINY = {"model.input_layout": "frames", "train.epochs": 1, "train.batch_size": 16, "train.precision": "auto",
        "split.test_speakers": [4], "split.val_speakers": [3]}
PROB_ATOL = 1e-5
# Keras' own "is TensorFlow installed?" probe (keras.utils.set_random_seed asks it); it treats the
# ImportError as "not installed". Any other attempt to import TensorFlow fails the tests below.
KERAS_PROBE = os.path.join("keras", "src", "utils", "module_utils.py")
DESCRIBE = re.compile(r"backend (?P<backend>\w+) \(Keras [\d.]+\), device (?P<device>CPU|GPU) \((?P<what>.+)\), "
                      r"precision (?P<precision>\w+)")


def run_without_tensorflow(args: list[str], cwd: Path, log: Path, keras_backend: str = "jax",
                           timeout: int = 900) -> subprocess.CompletedProcess:
    env = {**os.environ, "KERAS_BACKEND": keras_backend, "NO_TENSORFLOW_LOG": str(log),
           "PYTHONPATH": os.pathsep.join([str(NO_TENSORFLOW), str(ROOT)]), "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout)


def tensorflow_attempts(log: Path) -> list[str]:
    """Attempts to import TensorFlow other than Keras' availability probe."""
    lines = log.read_text().splitlines() if log.exists() else []
    return [line for line in lines if KERAS_PROBE not in line]


def check_describe(line: str, stage: str, keras_backend: str, precision_setting: str) -> None:
    """``<stage>: backend B (Keras V), device CPU (<cpu model>), precision P``, P as resolved on that device."""
    match = DESCRIBE.fullmatch(line.removeprefix(f"{stage}: "))
    assert line.startswith(f"{stage}: ") and match, line
    assert match["backend"] == keras_backend
    gpu = match["device"] == "GPU"
    if not gpu:
        assert match["what"] == backend.cpu_model()
    assert match["precision"] == backend.resolve_precision(precision_setting, gpu=gpu, backend=keras_backend)


def json_lines(text: str) -> dict[str, dict]:
    return {Path(r["path"]).name: r for r in map(json.loads, text.splitlines())}


def assert_same_predictions(models: Path, jax_stdout: str) -> None:
    """The bundle in ``models``, loaded here (TensorFlow), classifies the test actor's recordings as the
    JAX predict run printed: same class per file, probabilities within PROB_ATOL."""
    loaded = bundle.load(models)
    here = {Path(r["path"]).name: r for r in predict.Predictor(loaded, predict.PredictParams()).classify(
        predict.expand([TEST_ACTOR]))}
    there = json_lines(jax_stdout)
    assert sorted(here) == sorted(there) and len(here) == 16
    for name, result in here.items():
        assert result["emotion"] == there[name]["emotion"], name
        np.testing.assert_allclose([result["probabilities"][c] for c in loaded.classes],
                                   [there[name]["probabilities"][c] for c in loaded.classes], atol=PROB_ATOL)


@pytest.fixture(scope="module")
def jax_project(tmp_path_factory) -> dict:
    """train -> evaluate -> predict under JAX with TensorFlow unimportable, on the fixture feature store."""
    root = tmp_path_factory.mktemp("jax")
    featurestore.write_params(root / "params.yaml", **TINY)
    featurestore.build(root / "data" / "features", num_variants=1)
    log = root / "tensorflow-imports.log"
    blocked = run_without_tensorflow(["-c", "import tensorflow"], root, log)     # the blocker is active
    assert blocked.returncode == 1 and "No module named 'tensorflow'" in blocked.stderr
    assert log.read_text().startswith("tensorflow from <string>:1")
    log.unlink()
    runs = {"train": run_without_tensorflow(["-m", "stages.train"], root, log),
            "evaluate": run_without_tensorflow(["-m", "stages.evaluate"], root, log),
            "predict": run_without_tensorflow(["-m", "emoaugnet", "predict", "--model", "models", str(TEST_ACTOR)],
                                              root, log),
            "export": run_without_tensorflow(["-m", "stages.export"], root, log),
            "predict_onnx": run_without_tensorflow(["-m", "emoaugnet", "predict", "--model", "export",
                                                    str(TEST_ACTOR)], root, log)}
    for name, proc in runs.items():
        assert proc.returncode == 0, f"{name} under JAX failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return {"root": root, "log": log, **runs}


def test_train_evaluate_predict_run_under_jax_without_tensorflow(jax_project):
    root = jax_project["root"]
    assert tensorflow_attempts(jax_project["log"]) == []
    check_describe(jax_project["train"].stdout.splitlines()[0], "train", "jax", "auto")
    config = bundle.read_config(root / "models")
    assert config["training"]["epochs_run"] == 1 and config["split"]["counts"] == {"train": 28, "val": 14, "test": 14}
    assert config["precision"] == backend.resolve_precision("auto", gpu=False, backend="jax")
    with open(root / "dvclive" / "plots" / "metrics" / "eval" / "accuracy.tsv", newline="") as f:
        assert [r["step"] for r in csv.DictReader(f, delimiter="\t")] == ["0"]

    metrics = json.loads((root / "reports" / "metrics.json").read_text())
    assert metrics["samples"]["test"] == 14 and 0 <= metrics["weighted_accuracy"] <= 1
    assert "weighted accuracy" in jax_project["evaluate"].stdout

    # predict: its device line first on stderr, one JSON line per recording on stdout, and for each test
    # recording the probabilities evaluate computed for it (same bundle, reader and features)
    check_describe(jax_project["predict"].stderr.splitlines()[0], "predict", "jax", "float32")
    results = json_lines(jax_project["predict"].stdout)
    assert sorted(results) == sorted(p.name for p in TEST_ACTOR.glob("*.flac"))
    with open(root / "reports" / "predictions.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 14
    calibration = Calibration.from_config(config.get("calibration"))   # predict applies the model's temperature
    for row in rows:
        result = results[row["utterance"] + ".flac"]
        network = np.array([[float(row[c]) for c in config["classes"]]])
        assert max(result["probabilities"], key=result["probabilities"].get) == row["predicted"]
        assert result["emotion"] in (row["predicted"], None)           # None: "not sure"
        np.testing.assert_allclose([result["probabilities"][c] for c in config["classes"]],
                                   calibration.apply(network)[0], atol=PROB_ATOL)


def test_the_export_stage_runs_under_jax_and_its_onnx_predicts_as_the_bundle(jax_project):
    """stages.export under JAX (jax2onnx, no TensorFlow): the ONNX model gives the bundle's classes and
    probabilities within PROB_ATOL on the test actor's recordings."""
    assert tensorflow_attempts(jax_project["log"]) == []
    assert jax_project["export"].stdout.startswith("export: export/model.onnx (opset 17)")
    config = bundle.read_config(jax_project["root"] / "export")
    assert config["onnx"]["max_abs_diff_vs_keras"] < 1e-4
    keras_results, onnx_results = json_lines(jax_project["predict"].stdout), json_lines(jax_project["predict_onnx"].stdout)
    assert sorted(onnx_results) == sorted(keras_results) and len(onnx_results) == 16
    for name, result in onnx_results.items():
        assert result["emotion"] == keras_results[name]["emotion"], name
        np.testing.assert_allclose([result["probabilities"][c] for c in config["classes"]],
                                   [keras_results[name]["probabilities"][c] for c in config["classes"]], atol=PROB_ATOL)


def test_a_bundle_trained_under_jax_predicts_the_same_under_tensorflow(jax_project):
    assert keras.backend.backend() == "tensorflow", "run this test module on the default backend"
    assert_same_predictions(jax_project["root"] / "models", jax_project["predict"].stdout)


def test_a_bundle_trained_under_tensorflow_predicts_the_same_under_jax(jax_project):
    assert keras.backend.backend() == "tensorflow", "run this test module on the default backend"
    root = jax_project["root"]
    p = featurestore.params(**{**TINY, "train.epochs": 2, "train.precision": "float32"})
    backend.configure(p.seed)
    training.train_and_save(p, root / "data" / "features", root / "tf-models", live_dir=None, verbose=0)
    log = root / "tensorflow-imports-2.log"
    proc = run_without_tensorflow(["-m", "emoaugnet", "predict", "--model", "tf-models", str(TEST_ACTOR)], root, log)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert tensorflow_attempts(log) == []
    assert_same_predictions(root / "tf-models", proc.stdout)


def test_auto_precision_per_backend_and_device():
    bf16_cpu = {"avx2", "avx512f", "avx512_bf16"}
    for gpu in (True, False):      # JAX: float32 (cuDNN LSTM refuses bfloat16; its CPU bfloat16 is slower)
        assert backend.resolve_precision("auto", bf16_cpu, gpu=gpu, backend="jax") == "float32"
    for name in ("tensorflow", "torch"):
        assert backend.resolve_precision("auto", {"avx2"}, gpu=True, backend=name) == "mixed_bfloat16"
        assert backend.resolve_precision("auto", bf16_cpu, gpu=False, backend=name) == "mixed_bfloat16"
        assert backend.resolve_precision("auto", {"avx2"}, gpu=False, backend=name) == "float32"
    assert backend.resolve_precision("mixed_bfloat16", set(), gpu=False, backend="jax") == "mixed_bfloat16"


def test_predict_and_train_print_backend_device_and_precision_first_under_tensorflow(tmp_path, monkeypatch, capsys):
    bundle_dir = featurestore.untrained_bundle(tmp_path / "models")
    assert cli.main(["predict", "--model", str(bundle_dir), str(TEST_ACTOR / "03-01-05-01-01-01-04.flac")]) == 0
    out = capsys.readouterr()
    check_describe(out.err.splitlines()[0], "predict", "tensorflow", "float32")
    assert json.loads(out.out)["result"] in bundle.load(bundle_dir).classes

    # train's first line, under TensorFlow; the TensorFlow settings module is what reports the devices
    p = featurestore.params(**TINY)
    features = featurestore.build(tmp_path / "features", num_variants=1)
    monkeypatch.setattr(training, "fit", _no_fit)        # the line is printed before any training
    with pytest.raises(_Stop):
        training.train_and_save(p, features, tmp_path / "out", live_dir=None, verbose=0)
    check_describe(capsys.readouterr().out.splitlines()[0], "train", "tensorflow", "auto")


class _Stop(Exception):
    pass


def _no_fit(*args, **kwargs):
    raise _Stop


def _tensorflow_imports(path: Path) -> list[str]:
    """``import tensorflow...`` / ``from tensorflow... import`` / ``import_module("tensorflow...")`` in a file."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module]
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant) \
                and isinstance(node.args[0].value, str) and getattr(node.func, "attr", getattr(node.func, "id", "")) \
                in ("import_module", "__import__"):
            names = [node.args[0].value]
        found += [f"{path.relative_to(ROOT)}:{node.lineno} {n}" for n in names if n.split(".")[0] == "tensorflow"]
    return found


def test_only_the_tensorflow_settings_module_imports_tensorflow():
    files = sorted(f for d in ("emoaugnet", "stages", "bench") for f in (ROOT / d).rglob("*.py"))
    assert len(files) > 30
    found = [hit for f in files for hit in _tensorflow_imports(f)]
    assert found and all(hit.startswith("emoaugnet/model/tensorflow_settings.py:") for hit in found), found


def test_every_project_module_imports_under_jax_without_tensorflow(tmp_path):
    modules = [".".join(f.relative_to(ROOT).with_suffix("").parts)
               for d in ("emoaugnet", "stages") for f in sorted((ROOT / d).rglob("*.py"))]
    modules = [m.removesuffix(".__init__") for m in modules
               if m not in ("emoaugnet.__main__", "emoaugnet.model.tensorflow_settings")]
    benches = sorted(str(f) for f in (ROOT / "bench").glob("*.py"))
    code = ("import importlib, importlib.util, sys\n"
            f"for m in {modules!r}: importlib.import_module(m)\n"
            f"for path in {benches!r}:\n"
            "    spec = importlib.util.spec_from_file_location('bench_' + path.rsplit('/', 1)[-1][:-3], path)\n"
            "    sys.modules[spec.name] = importlib.util.module_from_spec(spec)\n"
            "    spec.loader.exec_module(sys.modules[spec.name])\n"
            "print(len(sys.modules))\n")
    log = tmp_path / "tensorflow-imports.log"
    proc = run_without_tensorflow(["-c", code], ROOT, log)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert len(modules) > 25 and len(benches) == 9
    assert tensorflow_attempts(log) == []
