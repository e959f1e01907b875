"""The core install can predict: `pip install .` (pyproject's [project.dependencies] only: no Keras, no
TensorFlow, no h5py) then `emoaugnet predict --model <export>` classifies a fixture recording.

Slow (a fresh virtual environment; about 2 minutes on the 2-core machine, pip taking requirements.txt's
pins as constraints and the wheels of its configured index / cache). The export is made here from a
tiny bundle with the real `emoaugnet export`.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from emoaugnet import cli
from helpers import featurestore

ROOT = Path(__file__).resolve().parents[1]
CLIP = featurestore.FIXTURE / "Actor_01" / "03-01-05-01-01-01-01.flac"


@pytest.mark.slow
def test_the_core_install_predicts_with_an_exported_model(tmp_path):
    bundle_dir = featurestore.untrained_bundle(tmp_path / "models", **{"model.input_layout": "frames"})
    assert cli.main(["export", "--model", str(bundle_dir), "--out", str(tmp_path / "export")]) == 0
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    # requirements.txt's pins as constraints (pip refuses extras in a constraints file: jax[cpu] -> jax)
    constraints = tmp_path / "constraints.txt"
    constraints.write_text(re.sub(r"^([A-Za-z0-9_.-]+)\[[^\]]*\]", r"\1", (ROOT / "requirements.txt").read_text(),
                                  flags=re.MULTILINE))
    pip = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", str(ROOT), "-c",
                          str(constraints)], capture_output=True, text=True, timeout=600)
    assert pip.returncode == 0, pip.stderr[-3000:]
    listed = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "list", "--format", "json"],
                            capture_output=True, text=True, check=True)
    installed = {p["name"].lower() for p in json.loads(listed.stdout)}
    assert {"emoaugnet", "onnxruntime", "librosa"} <= installed
    assert not {"keras", "tensorflow", "tensorflow-cpu", "h5py"} & installed, sorted(installed)
    done = subprocess.run([str(venv / "bin" / "emoaugnet"), "predict", "--model", str(tmp_path / "export"),
                           str(CLIP)], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout)
    assert result["path"] == str(CLIP) and result["emotion"] in result["probabilities"]
    assert abs(sum(result["probabilities"].values()) - 1) < 1e-3
    assert "runtime onnxruntime" in done.stderr
