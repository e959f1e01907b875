"""A real ``dvc repro`` of a tiny project (tests/helpers/tiny_project.py; conftest's ``reproduced``, the run the
other tests of the tiny project share), then bad params.yaml edits on a copy of it.

DVC removes a stage's outputs before running its command, so the stage ``check_params`` runs first
(every stage depends on its output) and stops the pipeline on a bad params.yaml: ``models/`` and
``dvclive/`` survive a typo, whether it is typed into params.yaml or added by ``dvc exp run -S``. The
first run's output also shows what a newcomer reads: no TensorFlow "NodeDef mentions attribute" lines.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

import pytest
import yaml

from helpers import tiny_project

pytestmark = pytest.mark.slow      # runs dvc repro on a tiny project


def digest(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def dvc(args: list[str], repo: Path) -> subprocess.CompletedProcess:
    return subprocess.run(tiny_project.DVC + args, cwd=repo, env=tiny_project.user_env(),    # as a user runs it
                          capture_output=True, text=True, timeout=900)


@pytest.fixture(scope="module")
def project(tmp_path_factory, reproduced_project, reproduced_output) -> dict:
    """A copy of the tiny project after its first plain `dvc repro` (run as a user runs it), committed, and
    what that run printed."""
    repo = tiny_project.copy(reproduced_project, tmp_path_factory.mktemp("guard") / "repo")
    tiny_project.run(["git", "add", "-A"], repo)
    tiny_project.run(["git", "commit", "-q", "-m", "first run"], repo)
    return {"repo": repo, "first": reproduced_output}


def test_a_plain_run_checks_params_first_and_prints_no_tensorflow_node_def_errors_or_notices(project):
    out = project["first"]
    assert out.index("Running stage 'check_params'") < out.index("Running stage 'download@ravdess'")
    assert "check_params: params.yaml is valid" in out
    assert "Running stage 'train'" in out and "Running stage 'export'" in out
    assert "NodeDef mentions attribute" not in out and "E0000" not in out
    # nor TensorFlow's start-up notices (emoaugnet/model/backend.py takes them out of its first import's stderr)
    assert "oneDNN custom operations are on" not in out and "absl::InitializeLog" not in out


def bad_run(repo: Path, args: list[str]) -> str:
    """Run ``dvc args`` after a bad edit; it must fail at check_params and leave every output as it was."""
    before = {name: digest(repo / name) for name in ("models", "dvclive", "export", "reports")}
    assert before["models"] and before["dvclive"]
    done = dvc(args, repo)
    assert done.returncode != 0
    out = done.stdout + done.stderr
    assert "failed to reproduce 'check_params'" in out and "Running stage 'train'" not in out, out[-3000:]
    assert {name: digest(repo / name) for name in before} == before
    return out


def test_a_typo_in_params_yaml_stops_dvc_repro_before_any_output_is_removed(project):
    repo = project["repo"]
    tree = yaml.safe_load((repo / "params.yaml").read_text())
    tree["train"]["epoch"] = 3
    (repo / "params.yaml").write_text(yaml.safe_dump(tree, sort_keys=False))
    try:
        out = bad_run(repo, ["repro"])
        assert "check_params: params: unknown key `train.epoch`; did you mean `train.epochs`?" in out
        tree["train"]["epochs"] = 0                      # a bad value, too
        del tree["train"]["epoch"]
        (repo / "params.yaml").write_text(yaml.safe_dump(tree, sort_keys=False))
        assert "`train.epochs` is 0; must be >= 1" in bad_run(repo, ["repro", "train"])
    finally:
        tiny_project.run(["git", "checkout", "params.yaml"], repo)


def test_a_key_dvc_exp_run_adds_is_refused_before_any_output_is_removed(project):
    repo = project["repo"]
    try:
        out = bad_run(repo, ["exp", "run", "-S", "+trian.epochs=3"])
        assert "check_params: params: unknown key `trian`; did you mean `train`?" in out
    finally:
        tiny_project.run(["git", "checkout", "params.yaml"], repo)
    assert os.path.exists(repo / "models" / "model.json")
