"""The model card as a reader meets it (emoaugnet/release/card.py's render, on the shipped card.json and
variations of it), and release's refusal of a git tree with uncommitted changes (provenance.check_clean, on a real
temporary git repository). tests/test_release.py runs the whole `emoaugnet release` on a tiny project.
"""

from __future__ import annotations

import copy
import subprocess
from pathlib import Path

import pytest

from emoaugnet.inference import model_dir
from emoaugnet.release import card as card_mod
from emoaugnet.release import provenance

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def shipped() -> dict:
    return card_mod.read(model_dir.SHIPPED)


def section(text: str, heading: str) -> str:
    start = text.index(f"## {heading}\n")
    end = text.find("\n## ", start + 1)
    return text[start:end if end > 0 else None]


def test_model_card_md_is_the_shipped_card_rendered():
    assert (ROOT / "MODEL_CARD.md").read_text() == card_mod.render(card_mod.read(model_dir.SHIPPED))


def test_the_figures_come_before_the_limits_that_refer_to_them(shipped):
    text = card_mod.render(shipped)
    headings = [line for line in text.splitlines() if line.startswith("## ")]
    assert headings.index("## Measured figures") < headings.index("## Known limits")
    if "the figures above" in section(text, "Known limits"):
        assert text.index("## Measured figures") < text.index("the figures above")


def test_the_card_gives_per_class_recall_where_a_figure_pooled_it(shipped):
    recall = {"neutral": 0.4, "surprise": 0.625, "angry": 0.75}
    figures = [{**f, "per_class_recall": recall} if f["what"].startswith("5-fold") else
               {k: v for k, v in f.items() if k != "per_class_recall"} for f in shipped["figures"]]
    text = section(card_mod.render({**shipped, "figures": figures}), "Measured figures")
    assert ("Per-class recall (5-fold speaker cross-validation, pooled over its test recordings): neutral 40.0%, "
            "surprise 62.5%, angry 75.0%.") in text
    bare = [{k: v for k, v in f.items() if k != "per_class_recall"} for f in shipped["figures"]]
    assert "Per-class recall" not in card_mod.render({**shipped, "figures": bare})


def test_the_card_gives_chance_levels_from_its_classes(shipped):
    figures = section(card_mod.render(shipped), "Measured figures")
    n = len(shipped["classes"])
    assert f"scores a UA of {100 / n:.1f}% (1/{n})" in figures
    assert f"{100 / (n - 1):.1f}% with {n - 1}" in figures
    three = {**shipped, "classes": ["neutral", "happy", "sad"]}
    assert "scores a UA of 33.3% (1/3)" in card_mod.render(three)


def test_the_card_says_whether_the_probabilities_are_calibrated(shipped):
    plain = {k: v for k, v in shipped.items() if k not in ("calibration", "models", "classic")}   # one uncalibrated model
    assert "**Probabilities:** not calibrated." in section(card_mod.render(plain), "Measured figures")
    unfitted = {**plain, "calibration": {"temperature": 1.0, "min_probability": 0.0, "min_margin": 0.0,
                                         "fitted": False, "fit": {}}}
    assert "**Probabilities:** not calibrated." in section(card_mod.render(unfitted), "Measured figures")
    fitted = {**plain, "calibration": {"temperature": 1.7, "min_probability": 0.4, "min_margin": 0.1, "fitted": True,
                                       "fit": {"on": "validation speakers", "samples": 50, "ece_before": 0.12,
                                               "ece_after": 0.03}}}
    line = [x for x in card_mod.render(fitted).splitlines() if x.startswith("**Probabilities:**")]
    assert line == ["**Probabilities:** calibrated: temperature 1.7, fitted on validation speakers (50 recordings; "
                    "expected calibration error there 0.120 before, 0.030 after); \"not sure\" with a top "
                    "probability under 0.4 or a lead over the second under 0.1."]
    # several models averaged: calibrated when each is, each named with its own temperature
    models = [{"folder": f"seed{i}", "trained_by": f"dvc exp run -S seed={i} export", "calibration": fitted["calibration"]}
              for i in (1, 2)]
    line = [x for x in card_mod.render({**plain, "models": models}).splitlines() if x.startswith("**Probabilities:**")]
    assert line[0].startswith("**Probabilities:** the average of its 2 models' calibrated probabilities")
    assert "`seed1/`: Its probabilities are calibrated: temperature 1.7" in line[0] and "`seed2/`" in line[0]
    one_plain = models[:1] + [{**models[1], "calibration": None}]
    assert "**Probabilities:** not calibrated." in card_mod.render({**plain, "models": one_plain})
    # with a classic part: those are the networks' alone, and the part's section says how its average is calibrated
    assert "classic" in shipped, "the shipped model has no classic part"
    text = section(card_mod.render({**fitted, "classic": shipped["classic"]}), "Measured figures")
    line = [x for x in text.splitlines() if x.startswith("**Probabilities**")]
    assert line == ["**Probabilities** of the networks alone (`--no-classic`, and the windows and segments of every "
                    "answer; a file's answer is the average with the classic part, calibrated as its section below "
                    "says): calibrated: temperature 1.7, fitted on validation speakers (50 recordings; expected "
                    "calibration error there 0.120 before, 0.030 after); \"not sure\" with a top probability under "
                    "0.4 or a lead over the second under 0.1."]
    part = section(card_mod.render({**fitted, "classic": shipped["classic"]}), "Averaged with the classic tool")
    temperature = shipped["classic"]["calibration"]["temperature"]
    assert f"The averaged answer's probabilities are calibrated: temperature {temperature:.3g}" in part


def test_the_provenance_says_how_a_dirty_tree_was_released(shipped):
    clean = {**shipped, "dirty": False}
    assert [x for x in card_mod.render(clean).splitlines() if x.startswith("- git commit")] == \
        [f"- git commit {shipped['commit']}"]
    old = {**shipped, "dirty": True}
    old.pop("allow_dirty", None)
    assert f"- git commit {shipped['commit']} (the tree had uncommitted changes)" in card_mod.render(old)
    allowed = {**old, "allow_dirty": True, "uncommitted": ["dvc.lock", "params.yaml"]}
    assert (f"- git commit {shipped['commit']} (the tree had uncommitted changes: released with --allow-dirty; "
            "changed: dvc.lock, params.yaml)") in card_mod.render(allowed)


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.email=t@example.invalid", "-c", "user.name=t", *args], cwd=repo, check=True,
                   capture_output=True)


def test_release_refuses_a_tree_with_uncommitted_changes_unless_allowed(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    (repo / "params.yaml").write_text("seed: 42\n")
    (repo / "dvc.lock").write_text("schema: '2.0'\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "one")
    commit, changed = provenance.check_clean(repo)
    assert len(commit) == 40 and changed == []
    (repo / "notes.txt").write_text("untracked files do not count\n")
    assert provenance.check_clean(repo)[1] == []
    (repo / "params.yaml").write_text("seed: 7\n")
    (repo / "dvc.lock").write_text("schema: '2.0'\nstages: {}\n")
    with pytest.raises(provenance.TreeError) as caught:
        provenance.check_clean(repo)
    message = str(caught.value)
    assert message.startswith(f"{repo}: the git tree has uncommitted changes to tracked files (dvc.lock, params.yaml)")
    assert "commit them first" in message and "--allow-dirty" in message
    assert provenance.check_clean(repo, allow_dirty=True) == (commit, ["dvc.lock", "params.yaml"])


def test_release_refuses_a_folder_outside_git_unless_allowed(tmp_path):
    with pytest.raises(provenance.TreeError, match="not a git checkout.*--allow-dirty"):
        provenance.check_clean(tmp_path)
    assert provenance.check_clean(tmp_path, allow_dirty=True) == (provenance.NOT_GIT, [])


def test_the_release_command_takes_allow_dirty():
    from emoaugnet import cli
    args = cli._parser().parse_args(["release", "--allow-dirty"])
    assert args.allow_dirty is True and cli._parser().parse_args(["release"]).allow_dirty is False


def test_a_card_copy_is_not_changed_by_rendering(shipped):
    before = copy.deepcopy(shipped)
    card_mod.render(shipped)
    assert shipped == before
