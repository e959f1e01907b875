"""Shared test setup: tests run from the project root, on the committed real fixtures."""

import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"

os.chdir(ROOT)
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@pytest.fixture(scope="session")
def ravdess_fixture() -> Path:
    """64 real RAVDESS FLACs, actors 01-04, laid out like the official archive."""
    return FIXTURES / "ravdess"


@pytest.fixture(scope="session")
def ravdess_48k() -> Path:
    """Two official 48 kHz WAVs from Actor_01; 03-01-08-01-02-02-01.wav is stereo."""
    return FIXTURES / "ravdess-48k" / "Actor_01"


@pytest.fixture(scope="session")
def long_recording(tmp_path_factory, ravdess_fixture) -> Path:
    """Three fixture utterances of actor 2 with 3 s of silence after the second (16-bit WAV): several
    2.5 s windows, some of them silent."""
    parts = []
    for name in ("03-01-05-01-01-01-02.flac", "03-01-07-01-01-01-02.flac", "03-01-04-01-02-01-02.flac"):
        y, sr = sf.read(ravdess_fixture / "Actor_02" / name, dtype="float32")
        parts.append(y)
    parts.insert(2, np.zeros(3 * sr, np.float32))
    path = tmp_path_factory.mktemp("long") / "long.wav"
    sf.write(path, np.concatenate(parts), sr, subtype="PCM_16")
    return path


@pytest.fixture(scope="session")
def serve_model(tmp_path_factory) -> Path:
    """params.yaml's network with its seeded weights, the fixtures' fitted scaler and the last layer x200
    (helpers.featurestore.untrained_bundle), exported to ONNX with the real command: the model the service
    tests serve, exported once for all of them."""
    from emoaugnet import cli
    from helpers import featurestore
    root = tmp_path_factory.mktemp("serve-model")
    keras_dir = featurestore.untrained_bundle(root / "keras", fitted_scaler=True, logit_scale=200,
                                              **{"model.input_layout": "frames"})
    assert cli.main(["export", "--model", str(keras_dir), "--out", str(root / "export")]) == 0
    return root / "export"


@pytest.fixture(scope="session")
def reproduced(tmp_path_factory) -> tuple[Path, str]:
    """The tiny project (helpers.tiny_project.build, its defaults) after one plain ``dvc repro``, run once, as a
    user runs it (helpers.tiny_project.user_env), and what that run printed (stdout, then stderr)."""
    import subprocess
    from helpers import tiny_project
    repo = tiny_project.build(tmp_path_factory.mktemp("reproduced"))
    done = subprocess.run(tiny_project.DVC + ["repro"], cwd=repo, env=tiny_project.user_env(), capture_output=True,
                          text=True, timeout=900)
    assert done.returncode == 0, f"dvc repro failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return repo, done.stdout + done.stderr


@pytest.fixture(scope="session")
def reproduced_project(reproduced) -> Path:
    """The tiny project after one plain ``dvc repro`` (:func:`reproduced`), for the tests that start from there;
    each works on its own copy (helpers.tiny_project.copy), never on this."""
    return reproduced[0]


@pytest.fixture(scope="session")
def reproduced_output(reproduced) -> str:
    """What the first plain ``dvc repro`` of the tiny project printed: what a newcomer reads."""
    return reproduced[1]


@pytest.fixture(scope="session")
def documented_runs(tmp_path_factory):
    """Every ``dvc repro`` / ``dvc exp run`` line of README.md and docs/ run once, as written, in tiny copies of
    the project (helpers.doc_runs): line -> its run (problem or None, output, and for some lines the project
    as that line left it). tests/test_doc_commands.py checks every line; tests/test_loco.py,
    test_cross_corpus.py and test_plots.py check what their lines wrote, instead of running the same pipeline
    again."""
    from helpers import doc_runs
    return doc_runs.run_all(tmp_path_factory.mktemp("doc-commands"))
