"""Which model a folder means (emoaugnet/inference/model_dir.py): a project root is one model, not an "ensemble" of
its export and its bundle; a stale export never wins silently; no model is said at once, before Keras,
TensorFlow or onnxruntime is imported, with a hint that works here.

Models: params.yaml's network, frames layout, seeded initial weights (helpers.featurestore.untrained_bundle),
exported with the real `emoaugnet export`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from emoaugnet import cli
from emoaugnet.inference import model_dir
from emoaugnet.inference.api import Classifier
from helpers import featurestore

pytestmark = pytest.mark.slow      # builds Keras models and exports

ROOT = Path(__file__).resolve().parents[1]
CLIP = featurestore.FIXTURE / "Actor_01" / "03-01-05-01-01-01-01.flac"
FRAMES = {"model.input_layout": "frames"}


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """A project folder holding models/ (a bundle) and export/ (exported from it)."""
    root = tmp_path_factory.mktemp("project")
    featurestore.untrained_bundle(root / "models", **FRAMES)
    assert cli.main(["export", "--model", str(root / "models"), "--out", str(root / "export")]) == 0
    return root


def run_predict(capsys, *args: str) -> tuple[int, list[dict], str]:
    code = cli.main(["predict", *args])
    out = capsys.readouterr()
    return code, [json.loads(line) for line in out.out.splitlines()], out.err


def test_the_export_records_the_bundle_it_was_made_from(project):
    recorded = json.loads((project / "export" / "model.json").read_text())["onnx"]["bundle_sha256"]
    assert recorded == model_dir.fingerprint(project / "models")


def test_a_project_folder_is_its_export_not_an_ensemble_of_the_same_model_twice(project, capsys, monkeypatch):
    code, results, err = run_predict(capsys, "--model", str(project), str(CLIP))
    assert code == 0 and "ensemble" not in err and "onnxruntime" in err
    monkeypatch.chdir(project)                           # the default lookup: the current folder
    code, default, err = run_predict(capsys, str(CLIP))
    assert code == 0 and "ensemble" not in err and "warning" not in err
    assert default == results
    clf = Classifier.from_dir(project)
    assert clf.backend == "onnx" and clf.members == [str(project / "export")]
    assert clf.predict_file(CLIP) == results[0]


def test_a_stale_export_does_not_win(project, tmp_path, capsys, monkeypatch):
    stale = tmp_path / "project"
    shutil.copytree(project, stale)
    featurestore.untrained_bundle(stale / "models", logit_scale=200, **FRAMES)   # `dvc repro train` again
    monkeypatch.chdir(stale)
    code, results, err = run_predict(capsys, str(CLIP))
    assert code == 0
    assert "warning: export was exported from another bundle than the one now in models (stale export)" in err
    assert "using the bundle models instead of export" in err
    keras_result = Classifier.from_dir(stale / "models").predict_file(CLIP)
    assert results == [{**keras_result, "path": str(CLIP)}]
    with pytest.warns(UserWarning, match="stale export"):
        assert Classifier.from_dir(stale).backend == "keras"


def test_an_ensemble_of_a_bundle_and_its_own_export_is_refused(project, tmp_path, capsys):
    both = tmp_path / "both"
    shutil.copytree(project / "models", both / "a")
    shutil.copytree(project / "export", both / "b")
    assert cli.main(["predict", "--model", str(both), str(CLIP)]) == 2
    err = capsys.readouterr().err
    assert f"{both / 'a'} and {both / 'b'} are the same model" in err
    with pytest.raises(ValueError, match="are the same model"):
        Classifier.from_dir(both)


NO_MODEL = """
import sys
from pathlib import Path
from emoaugnet import cli
from emoaugnet.inference import model_dir

model_dir.SHIPPED = Path("/nonexistent/shipped")   # as an install without a shipped model
code = cli.main(["predict", "x.wav"])
heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("keras", "tensorflow", "onnxruntime", "h5py", "jax"))
print(code, heavy)
"""


def no_model(cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-c", NO_MODEL], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=120)


def test_no_model_is_said_before_anything_heavy_is_imported_with_a_hint_that_works(tmp_path):
    done = no_model(tmp_path)
    assert done.stdout.strip() == "2 []", done.stderr
    assert "model bundle not found: neither export/ nor models/" in done.stderr
    assert "train one with `dvc repro`" in done.stderr and "--model DIR" in done.stderr
    assert "dvc pull" not in done.stderr and "not installed" not in done.stderr
    # a project with a DVC remote: `dvc pull` can fetch the model, so the hint offers it
    (tmp_path / ".dvc").mkdir()
    (tmp_path / ".dvc" / "config").write_text("[core]\n    remote = store\n['remote \"store\"']\n    url = /srv/dvc\n")
    done = no_model(tmp_path)
    assert done.stdout.strip() == "2 []" and "fetch it with `dvc pull`" in done.stderr


def test_a_released_folders_speaker_member_is_not_one_of_its_models(tmp_path):
    """member_dirs: every subfolder with a model.json, in natural order; in a released model's folder (it has
    card.json) not its speaker-adapted member, which answers only for a speaker's recordings."""
    for name in ("seed10", "seed9", "speaker", "notes"):
        (tmp_path / name).mkdir()
        if name != "notes":
            (tmp_path / name / "model.json").write_text("{}")
    assert [d.name for d in model_dir.member_dirs(tmp_path)] == ["seed9", "seed10", "speaker"]
    assert model_dir.is_ensemble(tmp_path)
    (tmp_path / "card.json").write_text("{}")
    assert [d.name for d in model_dir.member_dirs(tmp_path)] == ["seed9", "seed10"]
    assert not model_dir.is_exports(tmp_path)                    # model.json alone is not an ONNX export
    for name in ("seed9", "seed10"):
        (tmp_path / name / "model.onnx").write_bytes(b"onnx")
    assert model_dir.is_exports(tmp_path)
