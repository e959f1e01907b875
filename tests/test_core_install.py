"""The core install can predict: `pip install .` (pyproject's [project.dependencies] only: no Keras, no
TensorFlow, no h5py) then `emoaugnet predict --model <export>` classifies a fixture recording, and
`emoaugnet predict <recording>` with no model anywhere uses the model shipped in the package
(it fails until one is released into emoaugnet/shipped/, docs/release.md), and with several recordings of
one speaker its speaker-adapted member, averaged with its classic part (openSMILE in the core install); `summary`, `export` and
`show-augment`, which need an extra, say which one in a line (exit 2), and `emoaugnet --version` answers.

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
from helpers.answers import answered

ROOT = Path(__file__).resolve().parents[1]
CLIP = featurestore.FIXTURE / "Actor_01" / "03-01-05-01-01-01-01.flac"


@pytest.fixture(scope="module")
def core_bin(tmp_path_factory) -> Path:
    """A fresh virtual environment with `pip install <project>` (the core: no Keras, no TensorFlow, no h5py),
    requirements.txt's pins as constraints; returns its bin/ folder."""
    tmp_path = tmp_path_factory.mktemp("core")
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
    assert {"emoaugnet", "onnxruntime", "librosa", "opensmile"} <= installed     # opensmile: the classic part
    assert not {"keras", "tensorflow", "tensorflow-cpu", "h5py"} & installed, sorted(installed)
    return venv / "bin"


@pytest.mark.slow
def test_the_core_install_predicts_with_an_exported_model(core_bin, tmp_path):
    bundle_dir = featurestore.untrained_bundle(tmp_path / "models", **{"model.input_layout": "frames"})
    assert cli.main(["export", "--model", str(bundle_dir), "--out", str(tmp_path / "export")]) == 0
    bin_dir = core_bin
    done = subprocess.run([str(bin_dir / "emoaugnet"), "predict", "--model", str(tmp_path / "export"),
                           str(CLIP)], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout)
    assert result["path"] == str(CLIP) and result["emotion"] in result["probabilities"]
    assert abs(sum(result["probabilities"].values()) - 1) < 1e-3
    assert "runtime onnxruntime" in done.stderr


@pytest.mark.slow
def test_the_core_install_classifies_with_the_shipped_model_and_prints_its_card(core_bin, tmp_path):
    """Install, then `emoaugnet predict recording.wav` in a folder with no model, no --model."""
    bin_dir = core_bin
    empty = tmp_path / "empty"
    empty.mkdir()
    info = subprocess.run([str(bin_dir / "emoaugnet"), "info", "--json"], cwd=empty, capture_output=True, text=True,
                          timeout=60)
    assert info.returncode == 0, info.stderr                       # the card is in the installed package
    card = json.loads(info.stdout)
    assert card == json.loads((ROOT / "emoaugnet" / "shipped" / "card.json").read_text())
    readable = subprocess.run([str(bin_dir / "emoaugnet"), "info"], cwd=empty, capture_output=True, text=True,
                              timeout=60)
    assert readable.returncode == 0 and readable.stdout.startswith(f"# Model card: {card['name']}")
    done = subprocess.run([str(bin_dir / "emoaugnet"), "predict", str(CLIP)], cwd=empty, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert f"predict: model: the shipped model {card['name']}" in done.stderr
    result = json.loads(done.stdout)
    assert answered(result, card["classes"])
    assert set(result["probabilities"]) == set(card["classes"])
    assert abs(sum(result["probabilities"].values()) - 1) < 1e-3
    assert "averaged with the eGeMAPS + SVM's" in result["combined"]     # the single-file model's classic part
    # several recordings of one speaker: the installed package's speaker-adapted member answers, averaged with
    # its classic part from the number that part judges from
    from emoaugnet.inference.classic import MIN_RECORDINGS
    needed = max(card["speaker_model"]["min_recordings"], MIN_RECORDINGS)
    files = sorted(str(p) for p in CLIP.parent.glob("*.flac"))[:needed]
    adapted = subprocess.run([str(bin_dir / "emoaugnet"), "predict", "--speaker-norm", *files], cwd=empty,
                             capture_output=True, text=True, timeout=300)
    assert adapted.returncode == 0, adapted.stderr[-3000:]
    assert f"predict: model: the shipped model {card['name']}, its speaker-adapted member" in adapted.stderr
    results = [json.loads(line) for line in adapted.stdout.splitlines()]
    assert [r["path"] for r in results] == files and all(answered(r, card["classes"]) for r in results)
    weight = card["speaker_model"]["classic"]["fusion_weight"]      # its answers average the eGeMAPS + SVM's in
    assert all(f"averaged with the eGeMAPS + SVM's ({weight:g} x network" in r["combined"] for r in results)


@pytest.mark.slow
def test_the_core_install_names_the_extra_a_command_needs(core_bin, tmp_path):
    """summary, export and show-augment need packages the core leaves out: one line naming the extra, exit 2;
    --version answers."""
    version = subprocess.run([str(core_bin / "emoaugnet"), "--version"], cwd=tmp_path, capture_output=True,
                             text=True, timeout=60)
    assert version.returncode == 0 and version.stdout.startswith("emoaugnet "), version.stderr
    for command, extra in ((["summary"], "keras"), (["export"], "keras"), (["show-augment"], "pipeline")):
        done = subprocess.run([str(core_bin / "emoaugnet"), *command], cwd=tmp_path, capture_output=True,
                              text=True, timeout=120)
        assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr[-3000:]
        assert done.stderr.startswith(f"{command[0]}: ") and "is not installed" in done.stderr
        assert done.stderr.endswith(f"pip install 'emoaugnet[{extra}]'\n"), done.stderr
