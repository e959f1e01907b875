"""TensorFlow's start-up notices (its oneDNN line, twice, and absl's line about logging before initialisation)
no longer reach stderr when the Python API or the network module loads TensorFlow, and nothing else that is
written to stderr meanwhile is lost; ``TF_CPP_MIN_LOG_LEVEL=0`` still shows them (emoaugnet/model/backend.py).
tests/test_pipeline_guard.py checks the same of the stages under ``dvc repro``.

The subprocesses run as a user's would: without the test session's ``TF_CPP_MIN_LOG_LEVEL``. TensorFlow turns
oneDNN on by itself only on some CPUs (with AVX-512 VNNI or AMX: a Zen 5 or a Sapphire Rapids, not a Zen 3),
so they ask for it (``TF_ENABLE_ONEDNN_OPTS=1``) and its notice is there to drop on any x86 CPU.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from emoaugnet.model import backend
from helpers import featurestore

ROOT = Path(__file__).resolve().parents[1]
CLIP = featurestore.FIXTURE / "Actor_01" / "03-01-05-01-01-01-01.flac"
NOTICES = ("oneDNN custom operations are on", "absl::InitializeLog")


def run(code: str, *args: str, **env: str) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    return subprocess.run([sys.executable, "-c", code, *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=300, env={**environ, "PYTHONPATH": str(ROOT), "TF_ENABLE_ONEDNN_OPTS": "1", **env})


def test_the_filter_drops_only_the_notices(capfd):
    with backend.stderr_without(backend.TENSORFLOW_NOTICES):
        os.write(2, b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"
                    b"I0000 00:00:1.0 1 port.cc:153] oneDNN custom operations are on. You may see ...\n"
                    b"E0000 a real error line\n")
        print("a Python warning", file=sys.stderr)
    with pytest.raises(RuntimeError):
        with backend.stderr_without(backend.TENSORFLOW_NOTICES):
            os.write(2, b"said before failing\n")
            raise RuntimeError("import failed")
    # (pytest's sys.stderr is its own capture, not file descriptor 2, so the order across the two may differ)
    assert sorted(capfd.readouterr().err.splitlines()) == ["E0000 a real error line", "a Python warning",
                                                           "said before failing"]


def test_loading_the_network_prints_no_tensorflow_notice():
    done = run("import sys; from emoaugnet.model import network; print('tensorflow' in sys.modules, "
               "sys.modules['tensorflow'].__loader__.__class__.__name__)")
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split() == ["True", "SourceFileLoader"]           # TensorFlow's own loader, put back
    assert not any(notice in done.stderr for notice in NOTICES), done.stderr[-3000:]


def test_the_python_api_on_a_keras_bundle_prints_no_tensorflow_notice(tmp_path):
    bundle_dir = featurestore.untrained_bundle(tmp_path / "models", **{"model.input_layout": "frames"})
    done = run("import sys; from emoaugnet import Classifier; "
               "print(Classifier.from_dir(sys.argv[1]).predict(sys.argv[2])['emotion'])", str(bundle_dir), str(CLIP))
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip() and not any(notice in done.stderr for notice in NOTICES), done.stderr[-3000:]


def test_tensorflows_full_log_still_shows_them_when_asked_for():
    done = run("from emoaugnet.model import network", TF_CPP_MIN_LOG_LEVEL="0")
    assert done.returncode == 0 and all(notice in done.stderr for notice in NOTICES), done.stderr[-3000:]
