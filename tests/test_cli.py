"""The ``emoaugnet`` command itself: ``--version``, and the commands that need an extra beyond the core install
(``summary``, ``export``, ``show-augment``) refusing in one line, exit status 2, when its packages are missing.

"Missing" is made with ``tests/helpers/no_tensorflow`` first on ``PYTHONPATH`` and ``$NO_TENSORFLOW_ALSO``
naming the extra's other modules: those imports fail as if the packages were not installed
(tests/test_core_install.py checks the same three commands in a real core install).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import emoaugnet
from emoaugnet import cli

ROOT = Path(__file__).resolve().parents[1]
NO_TENSORFLOW = ROOT / "tests" / "helpers" / "no_tensorflow"
#: what the keras and jax extras bring, hidden at once: the core install
EXTRA_MODULES = "keras,h5py,jax,jaxlib,jax2onnx,tf2onnx,onnx"


def run_hidden(args: list[str], cwd: Path, hide: str = EXTRA_MODULES, **env: str) -> subprocess.CompletedProcess:
    environ = {**os.environ, "PYTHONPATH": os.pathsep.join([str(NO_TENSORFLOW), str(ROOT)]),
               "NO_TENSORFLOW_ALSO": hide, **env}
    return subprocess.run([sys.executable, "-m", "emoaugnet", *args], cwd=cwd, env=environ, capture_output=True,
                          text=True, timeout=120)


def test_version(capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out == f"emoaugnet {emoaugnet.__version__}\n"
    done = subprocess.run([sys.executable, "-m", "emoaugnet", "--version"], capture_output=True, text=True,
                          timeout=60, cwd=ROOT)
    assert done.returncode == 0 and done.stdout.strip() == f"emoaugnet {emoaugnet.__version__}"


@pytest.mark.parametrize("command, module, extra", [
    (["summary"], "keras", "keras"),
    (["export", "--model", "models", "--out", "export"], "onnx", "keras"),
    (["show-augment", "--shard", "speaker_01.h5"], "h5py", "pipeline"),
])
def test_a_command_without_its_extra_names_the_extra_in_one_line(tmp_path, command, module, extra):
    (tmp_path / "models").mkdir()
    done = run_hidden(command, tmp_path)
    assert done.returncode == 2, done.stderr[-3000:]
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1, done.stderr                    # one line, no traceback
    assert done.stderr.startswith(f"{command[0]}: {module} is not installed: "), done.stderr
    assert done.stderr.endswith(f"; install the {extra} extra: pip install 'emoaugnet[{extra}]'\n"), done.stderr


def test_the_extra_named_follows_the_keras_backend(tmp_path):
    """Under KERAS_BACKEND=jax, Keras needs the jax extra; TensorFlow alone missing is the keras extra's."""
    jax = run_hidden(["summary"], tmp_path, hide="jax,jaxlib", KERAS_BACKEND="jax")
    assert jax.returncode == 2 and jax.stderr.startswith("summary: jax is not installed")
    assert jax.stderr.endswith("install the jax extra: pip install 'emoaugnet[jax]'\n"), jax.stderr
    tensorflow = run_hidden(["summary"], tmp_path, hide="")
    assert tensorflow.returncode == 2 and tensorflow.stderr.startswith("summary: tensorflow is not installed")
    assert tensorflow.stderr.endswith("pip install 'emoaugnet[keras]'\n"), tensorflow.stderr


def test_info_needs_only_the_core(tmp_path):
    info = run_hidden(["info"], tmp_path)
    assert info.returncode == 0 and info.stdout.startswith("# Model card:"), info.stderr
