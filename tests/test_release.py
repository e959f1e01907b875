"""`emoaugnet release` and the model it ships (emoaugnet/release/release.py, card.py, licences.py, model_dir's rule).

One real tiny project (helpers.tiny_project: the RAVDESS fixtures, statement 01, 1 epoch, frames layout)
is trained, exported and evaluated by `dvc repro`, then released with the real command into a temporary
``shipped`` folder, the way `emoaugnet release` fills emoaugnet/shipped/. The tests that need the model in
the package itself are in tests/test_shipped.py.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from emoaugnet.release import card as card_mod
from emoaugnet import cli
from emoaugnet.data import licences
from emoaugnet.inference import model_dir
from emoaugnet.inference.api import Classifier
from helpers import tiny_project
from helpers.answers import answered

CLIP = tiny_project.FIXTURE / "Actor_01" / "03-01-05-01-01-01-01.flac"

pytestmark = pytest.mark.slow


def release(repo: Path, to: Path, *extra: str) -> subprocess.CompletedProcess:
    """The real `emoaugnet release` of the tiny project (its own copy of the code), into ``to``."""
    return subprocess.run([sys.executable, "-m", "emoaugnet", "release", "--to", str(to), "--card",
                           str(to.parent / "MODEL_CARD.md"), *extra], cwd=repo, env=tiny_project.env(),
                          capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def project(tmp_path_factory, reproduced_project) -> Path:
    """A tiny project after `dvc repro` (export and evaluate among its stages): models/, export/,
    reports/metrics.json, manifests."""
    return tiny_project.copy(reproduced_project, tmp_path_factory.mktemp("tiny") / "repo")


@pytest.fixture(scope="module")
def shipped(project, tmp_path_factory) -> Path:
    to = tmp_path_factory.mktemp("package") / "shipped"
    done = release(project, to)
    assert done.returncode == 0, done.stderr
    assert "release: emoaugnet-ravdess-" in done.stdout and "1 measured figures" in done.stdout
    return to


def test_release_copies_the_export_and_writes_its_card(project, shipped):
    for name in ("model.onnx", "features.npz", "model.json"):
        assert (shipped / name).read_bytes() == (project / "export" / name).read_bytes(), name
    card = card_mod.read(shipped)
    tree = yaml.safe_load((project / "params.yaml").read_text())
    assert card["params"] == card_mod.model_sections(tree)
    assert card["params"]["train"]["epochs"] == 1 and card["params"]["model"]["input_layout"] == "frames"
    assert card["params"]["augment"] == {"variants": [["noise"]], "transforms": {"noise": tree["augment"]["transforms"]["noise"]}}
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=project, capture_output=True, text=True).stdout.strip()
    assert card["commit"] == head and card["name"] == f"emoaugnet-ravdess-{head[:7]}"
    assert card["classes"] == tree["classes"]
    [corpus] = card["corpora"]
    assert corpus["name"] == "ravdess" and corpus["licence"] == "CC BY-NC-SA 4.0"
    assert corpus["speakers"] == {"train": ["1", "2"], "val": ["3"], "test": ["4"]}
    assert card["weights_licence"].startswith("CC BY-NC-SA 4.0")
    metrics = json.loads((project / "reports" / "metrics.json").read_text())
    [figure] = card["figures"]
    assert figure["file"] == "reports/metrics.json" and figure["command"] == "dvc repro evaluate"
    assert figure["unweighted_accuracy"] == metrics["unweighted_accuracy"]
    assert card["input"] == {"sample_rate": 22050, "window_seconds": 2.5, "layout": "frames", "feature_norm": "utterance"}
    assert any("spontaneous" in limit for limit in card["limits"]) and "English" in " ".join(card["limits"])
    assert any("Not for decisions about people" in limit for limit in card["limits"])
    md = (shipped.parent / "MODEL_CARD.md").read_text()
    assert md == card_mod.render(card)       # one renderer: the markdown cannot disagree with card.json
    assert "| ravdess | English (North American) | CC BY-NC-SA 4.0 | 1, 2 | 3 | 4 |" in md


def test_no_model_named_and_no_project_here_means_the_shipped_model(shipped, project, tmp_path, capsys,
                                                                     monkeypatch):
    monkeypatch.setattr(model_dir, "SHIPPED", shipped)
    monkeypatch.chdir(tmp_path)                          # an empty folder: no export/, no models/
    assert cli.main(["predict", str(CLIP)]) == 0
    out = capsys.readouterr()
    result = json.loads(out.out)
    name = card_mod.read(shipped)["name"]
    assert f"predict: model: the shipped model {name} (see `emoaugnet info`)" in out.err
    assert result["result"] != "error" and result["emotion"] in card_mod.read(shipped)["classes"]
    assert cli.main(["predict", "--model", str(project / "export"), str(CLIP)]) == 0
    assert json.loads(capsys.readouterr().out) == result          # the same model as the export it came from
    assert Classifier().predict_file(CLIP) == result
    clf = Classifier.from_dir()
    assert clf.path == shipped and clf.label.startswith("the shipped model") and clf.predict_file(CLIP) == result
    monkeypatch.setattr(model_dir, "SHIPPED", tmp_path / "none")  # nothing shipped: the old answer
    with pytest.raises(model_dir.NoModel, match="no model is shipped"):
        Classifier()


HEAVY = """
import sys
from emoaugnet import cli
code = cli.main(["info", "--model", sys.argv[1]] + sys.argv[2:])
print(sorted(m for m in sys.modules if m.split(".")[0] in ("keras", "tensorflow", "onnxruntime", "numpy")),
      file=sys.stderr)
raise SystemExit(code)
"""


def test_info_prints_the_card_without_numpy_onnxruntime_or_keras(shipped):
    env = {**os.environ, "PYTHONPATH": str(tiny_project.ROOT)}
    text = subprocess.run([sys.executable, "-c", HEAVY, str(shipped)], capture_output=True, text=True, env=env,
                          timeout=60)
    assert text.returncode == 0 and text.stderr.strip().endswith("[]"), text.stderr
    card = card_mod.read(shipped)
    assert text.stdout.strip() == card_mod.render(card).strip()
    as_json = subprocess.run([sys.executable, "-c", HEAVY, str(shipped), "--json"], capture_output=True, text=True,
                             env=env, timeout=60)
    assert json.loads(as_json.stdout) == card
    missing = subprocess.run([sys.executable, "-c", HEAVY, str(shipped.parent)], capture_output=True, text=True,
                             env=env, timeout=60)
    assert missing.returncode == 2 and f"{shipped.parent / 'card.json'}: no model card" in missing.stderr


def copy_of(project: Path, tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    shutil.copytree(project, repo, symlinks=True)
    return repo


def test_a_stale_export_is_refused_and_nothing_is_written(project, tmp_path):
    repo = copy_of(project, tmp_path)
    config = repo / "models" / "model.json"
    config.write_text(config.read_text() + " ")          # the bundle changed after the export was made
    done = release(repo, tmp_path / "shipped")
    assert done.returncode == 2
    assert "release: export was exported from another bundle than the one now in models (stale export)" in done.stderr
    assert not (tmp_path / "shipped").exists() and not (tmp_path / "MODEL_CARD.md").exists()


def test_a_model_that_needs_a_speakers_statistics_is_refused(project, tmp_path):
    repo = copy_of(project, tmp_path)
    config = repo / "export" / "model.json"
    described = json.loads(config.read_text())
    described["model"]["feature_norm"] = "speaker"
    config.write_text(json.dumps(described))
    done = release(repo, tmp_path / "shipped")
    assert done.returncode == 2 and "model.feature_norm: speaker" in done.stderr
    assert "cannot classify a single file of an unknown speaker" in done.stderr
    assert not (tmp_path / "shipped").exists()


def test_params_yaml_that_no_longer_describes_the_model_is_refused(project, tmp_path, shipped):
    repo = copy_of(project, tmp_path)
    tree = yaml.safe_load((repo / "params.yaml").read_text())
    tree["model"]["conv_activation"] = "relu"
    (repo / "params.yaml").write_text(yaml.safe_dump(tree, sort_keys=False))
    before = {p.name: p.read_bytes() for p in shipped.iterdir()}
    done = release(repo, shipped)                          # over an earlier release: it must stay whole
    assert done.returncode == 2
    assert 'model.conv_activation: model "elu", params.yaml "relu"' in done.stderr
    assert {p.name: p.read_bytes() for p in shipped.iterdir()} == before


def test_drift_names_each_key_where_params_and_the_card_differ(shipped, project):
    card = card_mod.read(shipped)
    tree = yaml.safe_load((project / "params.yaml").read_text())
    assert card_mod.drift(card["params"], tree) == []
    changed = yaml.safe_load((project / "params.yaml").read_text())
    changed["train"]["epochs"] = 60
    changed["augment"]["variants"] = [["noise"], ["pitch"]]
    changed["augment"]["workers"] = 7                       # never changes the model: not drift
    assert card_mod.drift(card["params"], changed) == [
        "augment.transforms.pitch.max_semitones: card null, params.yaml 1.0",
        "augment.transforms.pitch.min_semitones: card null, params.yaml -1.0",
        'augment.variants: card [["noise"]], params.yaml [["noise"], ["pitch"]]',
        "train.epochs: card 1, params.yaml 60"]
    # a key newer than the card reads as its off value there: drift only when params.yaml turns it on
    newer = {**card["params"], "features": {k: v for k, v in card["params"]["features"].items() if k != "deltas"}}
    assert card_mod.drift(newer, tree) == []
    changed = yaml.safe_load((project / "params.yaml").read_text())
    changed["features"]["deltas"] = 1
    assert card_mod.drift(newer, changed) == ["features.deltas: card 0, params.yaml 1"]


def test_a_corpus_whose_licence_forbids_derived_works_is_never_released():
    licences.check_releasable(["ravdess", "emodb"])
    with pytest.raises(licences.LicenceError, match=r"tess \(CC BY-NC-ND 4.0\), whose licence forbids derived"):
        licences.check_releasable(["ravdess", "tess"])
    with pytest.raises(licences.LicenceError, match="no licence recorded"):
        licences.check_releasable(["mycorpus"])
    assert licences.weights_licence(["ravdess", "emodb"]) == \
        "CC BY-NC-SA 4.0 (ShareAlike, from RAVDESS); also subject to the terms of emodb: free for research use"


def test_a_tree_with_uncommitted_changes_is_refused_unless_allowed_and_the_card_says_so(project, tmp_path):
    repo = copy_of(project, tmp_path)
    (repo / ".dvcignore").write_text((repo / ".dvcignore").read_text() + "# an uncommitted edit\n")
    done = release(repo, tmp_path / "shipped")
    assert done.returncode == 2, done.stdout
    assert "the git tree has uncommitted changes to tracked files (.dvcignore)" in done.stderr
    assert "--allow-dirty" in done.stderr and done.stderr.count("\n") == 1
    assert not (tmp_path / "shipped").exists() and not (tmp_path / "MODEL_CARD.md").exists()
    allowed = release(repo, tmp_path / "shipped", "--allow-dirty")
    assert allowed.returncode == 0, allowed.stderr
    assert "warning: the git tree had uncommitted changes (--allow-dirty" in allowed.stdout
    card = card_mod.read(tmp_path / "shipped")
    assert card["dirty"] is True and card["allow_dirty"] is True and card["uncommitted"] == [".dvcignore"]
    assert "(the tree had uncommitted changes: released with --allow-dirty; changed: .dvcignore)" in \
        (tmp_path / "MODEL_CARD.md").read_text()


@pytest.fixture(scope="module")
def speaker_project(tmp_path_factory) -> Path:
    """The tiny project's configuration with per-speaker normalisation, trained on every speaker but the
    validation one (the release split: ``split.test_speakers: []``) and exported."""
    repo = tiny_project.build(tmp_path_factory.mktemp("tiny-speaker"),
                              **{"model.feature_norm": "speaker", "split.test_speakers": [],
                                 "baseline.corpora": ["ravdess"], "baseline.export": ["all"],
                                 "baseline.C": [1.0], "baseline.gamma": [0.01]})
    tiny_project.run(["dvc", "repro", "export", "baseline_export@all"], repo)
    return repo


def test_the_release_split_trains_on_every_speaker_and_evaluate_refuses_to_score_it(speaker_project):
    split = json.loads((speaker_project / "models" / "model.json").read_text())["split"]
    assert split["test_speakers"] == [] and split["val_speakers"] == ["3"]
    assert set(split["counts"]) == {"train", "val"} and split["test_fingerprint"] is None
    trained = json.loads((speaker_project / "export" / "model.json").read_text())
    assert trained["model"]["feature_norm"] == "speaker"
    done = subprocess.run([*tiny_project.DVC, "repro", "evaluate"], cwd=speaker_project, env=tiny_project.env(),
                          capture_output=True, text=True, timeout=300)
    assert done.returncode != 0
    assert "(split.test_speakers: [], the release split), so it has no test set to score" in done.stdout + done.stderr


def curve(tmp_path: Path, averaged: bool = False) -> tuple[Path, Path]:
    """An adaptation curve (tools/adaptation_curve.py's format; ``averaged``: with --classic, the member's SVM
    averaged in from 5 recordings at weight 0.5) and a cross-validation summary for the rule that picks
    min_recordings: the fewest recordings whose mean UA beats the single-file model's (0.5)."""
    adaptation = tmp_path / f"adaptation{'-averaged' if averaged else ''}.json"
    adaptation.write_text(json.dumps({"recordings_per_speaker": {
        "1": [0.30, 0.40], "3": [0.48, 0.50], "5": [0.50, 0.54], "10": [0.58, 0.60], "all": [0.60, 0.62]},
        **({"classic": {"weight": 0.5, "min_recordings": 5}} if averaged else {})}))
    cv = tmp_path / "cv.json"
    cv.write_text(json.dumps({"mean": {"unweighted_accuracy": 0.5, "weighted_accuracy": 0.5},
                              "sd": {"unweighted_accuracy": 0.05}, "folds_run": 5}))
    return adaptation, cv


def test_a_speaker_adapted_member_is_released_beside_the_model_and_answers_for_enough_recordings(
        project, speaker_project, tmp_path, capsys, monkeypatch):
    adaptation, cv = curve(tmp_path)
    to = tmp_path / "package" / "shipped"
    member = ["--speaker-export", str(speaker_project / "export"), "--speaker-models",
              str(speaker_project / "models"), "--adaptation", str(adaptation), "--cv", str(cv)]
    done = release(project, to, *member)
    assert done.returncode == 0, done.stderr
    assert "speaker-adapted member from" in done.stdout and "(from 5 recordings of a speaker)" in done.stdout
    for name in ("model.onnx", "features.npz", "model.json"):
        assert (to / "speaker" / name).read_bytes() == (speaker_project / "export" / name).read_bytes(), name
    card = card_mod.read(to)
    section = card["speaker_model"]
    assert section["min_recordings"] == 5 and section["feature_norm"] == "speaker"   # 3: 0.49 does not beat 0.5
    assert section["adaptation"]["recordings"]["5"]["unweighted_accuracy"] == 0.52
    assert [m["folder"] for m in section["models"]] == ["speaker"]
    assert section["models"][0]["trained_by"] == ("dvc exp run -S 'data.corpora=[ravdess]' -S 'run.corpora=[ravdess]' -S "
                                                  "'split.test_speakers=[]' -S 'split.val_speakers=[3]' -S "
                                                  "model.feature_norm=speaker export")
    assert section["corpora"] == [{"name": "ravdess", "speakers": {"train": ["1", "2", "4"], "val": ["3"], "test": []}}]
    md = (to.parent / "MODEL_CARD.md").read_text()
    assert md == card_mod.render(card) and "## Speaker adaptation" in md and "Given at least 5 recordings" in md

    monkeypatch.setattr(model_dir, "SHIPPED", to)
    monkeypatch.chdir(tmp_path)                                # no export/ or models/ here: the shipped model
    five = sorted((tiny_project.FIXTURE / "Actor_02").glob("*.flac"))[:5]
    adapted = Classifier.open(speaker=five)
    assert adapted.path == to / "speaker" and "its speaker-adapted member" in adapted.label and not adapted.warning
    assert adapted.predictor.speaker_stats is not None
    results = adapted.predict_files(five)
    assert all(answered(r, card["classes"]) for r in results)
    assert results != Classifier.open().predict_files(five)     # the member, not the single-file model
    two = Classifier.open(speaker=five[:2])
    assert two.path == to and "2 recordings of the speaker" in two.warning and "needs at least 5" in two.warning
    assert two.predict_files(five[:2]) == Classifier.open().predict_files(five[:2])
    assert cli.main(["predict", "--speaker-norm", *map(str, five)]) == 0
    err = capsys.readouterr().err
    assert "its speaker-adapted member" in err

    plain = release(project, to, "--cv", str(cv))                # released again without it: the member goes
    assert plain.returncode == 0 and not (to / "speaker").exists() and "speaker_model" not in card_mod.read(to)


def fusion_figures(tmp_path: Path, weight: float = 0.5, speaker_norm: bool = True) -> Path:
    """tools/fusion_cv.py --out's format: a configuration averaged with the SVM on 5 folds (the member's, or
    the single-file model's with the SVM standardised globally)."""
    path = tmp_path / f"fusion-{'speaker' if speaker_norm else 'global'}-{weight:g}.json"
    folds = [{"fold": k, "network": 0.6, "svm": 0.55, f"fusion_{weight:g}": 0.6 + 0.02 * k} for k in range(5)]
    path.write_text(json.dumps({"network": "cv_sweep/frames", "speaker_norm": speaker_norm, "folds": folds, "summary": {
        "network": {"mean": 0.6, "sd": 0.0}, "svm": {"mean": 0.55, "sd": 0.0},
        f"fusion_{weight:g}": {"mean": 0.64, "sd": 0.0316}}}))
    return path


def test_the_member_ships_with_the_classic_part_it_averages_in(project, speaker_project, tmp_path, monkeypatch):
    plain, cv = curve(tmp_path)
    adaptation, _ = curve(tmp_path, averaged=True)     # the member's curve as it answers, with its part
    to = tmp_path / "package" / "shipped"
    part = speaker_project / "classic"
    member = ["--speaker-export", str(speaker_project / "export"), "--speaker-models",
              str(speaker_project / "models"), "--adaptation", str(adaptation), "--cv", str(cv)]
    alone = release(project, tmp_path / "alone", "--classic", str(part), "--fusion", str(fusion_figures(tmp_path)))
    assert alone.returncode == 2 and "fit per speaker, it needs --speaker-export" in alone.stderr
    for curve_file, said in ((plain, "the member's curve alone, but it answers averaged with its classic part"),
                             (adaptation, "averaged with an eGeMAPS + SVM (tools/adaptation_curve.py --classic), "
                                          "but the member has no classic part")):
        wrong = release(project, tmp_path / "wrong", *member[:5], str(curve_file), "--cv", str(cv),
                        *(["--classic", str(part), "--fusion", str(fusion_figures(tmp_path))] if curve_file == plain
                          else []))
        assert wrong.returncode == 2 and said in wrong.stderr, wrong.stderr
    done = release(project, to, *member, "--classic", str(part), "--fusion", str(fusion_figures(tmp_path)))
    assert done.returncode == 0, done.stderr
    assert f"averaged with the eGeMAPS + SVM from {part}" in done.stdout
    for name in ("classic.onnx", "classic.json"):
        assert (to / "speaker" / "classic" / name).read_bytes() == (part / name).read_bytes(), name
    section = card_mod.read(to)["speaker_model"]["classic"]
    assert section["fusion_weight"] == 0.5 and section["figures"]["unweighted_accuracy"] == 0.64
    assert section["figures"]["per_fold"] == [0.6, 0.62, 0.64, 0.66, 0.68]
    assert section["trained_by"] == ("dvc exp run -S 'data.corpora=[ravdess]' -S 'run.corpora=[ravdess]' -S "
                                     "'split.test_speakers=[]' -S 'split.val_speakers=[3]' -S "
                                     "'baseline.corpora=[ravdess]' -S baseline.speaker_norm=true -S baseline.fusion_weight=0.5 "
                                     "-S 'baseline.export=[all]' baseline_export@all")
    md = (to.parent / "MODEL_CARD.md").read_text()
    assert "### Averaged with the classic tool" in md and "**64.0% +- 3.2** UA (folds 60.0, 62.0, 64.0, 66.0, 68.0)" in md

    monkeypatch.setattr(model_dir, "SHIPPED", to)
    monkeypatch.chdir(tmp_path)
    five = sorted((tiny_project.FIXTURE / "Actor_02").glob("*.flac"))[:5]
    results = Classifier.open(speaker=five).predict_files(five)
    assert all("averaged with the eGeMAPS + SVM's (0.5 x network + 0.5 x SVM" in r["combined"] for r in results)

    config = json.loads((part / "classic.json").read_text())        # trained on other speakers than the member
    other = tmp_path / "other"
    shutil.copytree(part, other)
    (other / "classic.json").write_text(json.dumps({**config, "split": {**config["split"], "val_speakers": ["4"]}}))
    refused = release(project, tmp_path / "refused", *member, "--classic", str(other), "--fusion",
                      str(fusion_figures(tmp_path)))
    assert refused.returncode == 2 and not (tmp_path / "refused").exists()
    assert f'{other}: trained on {{"corpora": ["ravdess"], "test_speakers": [], "val_speakers": ["4"]}}' in refused.stderr
    weight = release(project, tmp_path / "weight", *member, "--classic", str(part), "--fusion",
                     str(fusion_figures(tmp_path, 0.3)))
    assert weight.returncode == 2 and "not tools/fusion_cv.py --out figures with weight 0.5" in weight.stderr


def test_keep_models_adds_the_classic_part_to_a_release_and_keeps_its_models(project, speaker_project, tmp_path):
    adaptation, cv = curve(tmp_path)
    to, part, fusion = tmp_path / "package" / "shipped", speaker_project / "classic", fusion_figures(tmp_path)
    assert release(project, to, "--cv", str(cv)).returncode == 0
    fused = tmp_path / "fused-curve.json"           # tools/adaptation_curve.py --classic: the member as it answers
    fused.write_text(json.dumps({"recordings_per_speaker": {"1": [0.30, 0.40], "3": [0.55, 0.57], "all": [0.6, 0.7]},
                                 "classic": {"weight": 0.5, "min_recordings": 5}}))
    keep = ["--keep-models", "--classic", str(part), "--fusion", str(fusion), "--adaptation", str(fused)]
    none = release(project, to, *keep)
    assert none.returncode == 2 and "its release has no speaker-adapted member" in none.stderr
    done = release(project, to, "--speaker-export", str(speaker_project / "export"), "--speaker-models",
                   str(speaker_project / "models"), "--adaptation", str(adaptation), "--cv", str(cv))
    assert done.returncode == 0, done.stderr
    before = card_mod.read(to)
    assert before["speaker_model"]["min_recordings"] == 5                   # by the member's curve alone
    files = {p.relative_to(to): p.read_bytes() for p in to.rglob("*") if p.is_file() and p.name != "card.json"}
    unmeasured = release(project, to, *keep[:-2])                            # the member's answers change
    assert unmeasured.returncode == 2 and "give --adaptation, the member's curve as it will answer" in unmeasured.stderr
    added = release(project, to, *keep)
    assert added.returncode == 0, added.stderr
    after = card_mod.read(to)
    assert f"the models of {before['name']} in {to}" in added.stdout and after["models_released_as"] == before["name"]
    assert {k: v for k, v in after.items() if k not in ("released", "speaker_model", "models_released_as")} == \
        {k: v for k, v in before.items() if k not in ("released", "speaker_model")}      # the same commit here
    changed = ("classic", "adaptation", "min_recordings")
    assert {k: v for k, v in after["speaker_model"].items() if k not in changed} == \
        {k: v for k, v in before["speaker_model"].items() if k not in changed}
    assert all((to / name).read_bytes() == data for name, data in files.items())   # the models as they were
    assert (to / "speaker" / "classic" / "classic.onnx").read_bytes() == (part / "classic.onnx").read_bytes()
    assert "### Averaged with the classic tool" in (to.parent / "MODEL_CARD.md").read_text()
    member = after["speaker_model"]
    assert member["min_recordings"] == 3 and member["adaptation"]["averaged_with_classic"] is True
    assert member["adaptation"]["single_file_unweighted_accuracy"] == 0.5      # the network's: no part beside it
    assert "from 5 recordings each answer averaged with the fold's eGeMAPS + SVM" in (to.parent / "MODEL_CARD.md").read_text()
    assert member["adaptation"]["averaged_from_recordings"] == 5                # as the curve's JSON says
    stale = tmp_path / "stale-curve.json"                                    # averaged otherwise than it answers
    stale.write_text(json.dumps({**json.loads(fused.read_text()), "classic": {"weight": 0.5, "min_recordings": 3}}))
    why = "on a corpus neither model heard it won from 1 recording (an example)"
    for wrong, said in ((["--adaptation", str(stale)], "averaged from 3 recordings at weight 0.5; the member "
                                                        "averages its part in from 5 at 0.5"),
                        (["--min-recordings", "4", "--why", why], "give a number of recordings the curve"),
                        (["--min-recordings", "1"], "--min-recordings N goes with --why TEXT")):
        refused = release(project, to, *keep, *wrong)
        assert refused.returncode == 2 and said in refused.stderr, refused.stderr
    chosen = release(project, to, *keep, "--min-recordings", "1", "--why", why)
    assert chosen.returncode == 0, chosen.stderr
    member = card_mod.read(to)["speaker_model"]
    assert member["min_recordings"] == 1 and model_dir.speaker_min_recordings(to) == 1
    assert member["adaptation"]["chosen"] == {"min_recordings": 1, "why": why, "by_the_rule": 3}
    assert f"would answer from 3 recordings (the fewest whose mean beats the single-file model's); it answers from " \
           f"1: {why}" in (to.parent / "MODEL_CARD.md").read_text()
    config = json.loads((to / "speaker" / "model.json").read_text())
    (to / "speaker" / "model.json").write_text(json.dumps({**config, "calibration": {"temperature": 9.0}}))
    recalibrated = release(project, to, *keep)
    assert recalibrated.returncode == 2 and "speaker/model.json: not the model its card lists" in recalibrated.stderr
    (to / "speaker" / "model.json").write_text(json.dumps(config))
    (to / "speaker" / "model.onnx").write_bytes(b"changed")
    changed = release(project, to, *keep)
    assert changed.returncode == 2 and f"{to / 'speaker' / 'model.onnx'}: not the file its card lists" in changed.stderr


def test_a_speaker_member_that_is_not_speaker_normalised_is_refused(project, tmp_path):
    adaptation, cv = curve(tmp_path)
    done = release(project, tmp_path / "shipped", "--speaker-export", str(project / "export"), "--speaker-models",
                   str(project / "models"), "--adaptation", str(adaptation))
    assert done.returncode == 2
    assert "the speaker-adapted member is a model trained with model.feature_norm: speaker" in done.stderr
    assert not (tmp_path / "shipped").exists()


def two_models(repo: Path, tmp_path: Path, names: tuple[str, str], network: str | None = None):
    """``repo``'s export and bundle, and a second model: a copy of ``repo`` with the next seed (and
    ``model.network``) trained and exported; as ``exports/<name>``, ``bundles/<name>``, and the copy's params."""
    other = tmp_path / "second-project"
    shutil.copytree(repo, other, symlinks=True)
    tree = yaml.safe_load((other / "params.yaml").read_text())
    tree["seed"] += 1
    if network is not None:
        tree["model"]["network"] = network
    (other / "params.yaml").write_text(yaml.safe_dump(tree, sort_keys=False))
    # what `dvc repro export` runs there (train, export), in this process: the copy's store is already made
    import keras

    from emoaugnet.inference import onnx_export
    from emoaugnet.params import load
    from emoaugnet.training.fit import train_and_save
    p = load(other / "params.yaml")
    keras.utils.set_random_seed(p.seed)
    train_and_save(p, other / p.paths.features, other / "models", verbose=0)
    onnx_export.export(other / "models", other / "export")
    exports, bundles = tmp_path / "exports", tmp_path / "bundles"
    for name, source in zip(names, (repo, other)):
        shutil.copytree(source / "export", exports / name)
        shutil.copytree(source / "models", bundles / name)
    return exports, bundles, tree


def test_a_speaker_member_may_be_several_models_averaged(project, speaker_project, tmp_path, monkeypatch):
    """Two speaker-normalised models trained on the same speakers (Table I, and model.network: pooling with
    another seed in a copy of the project) released as one member: each in its subfolder, the card names
    both with the line that trains each, and recordings of one speaker get the average of the two."""
    exports, bundles, tree = two_models(speaker_project, tmp_path, ("table1", "pooling"), network="pooling")
    adaptation, cv = curve(tmp_path)
    to = tmp_path / "package" / "shipped"
    done = release(project, to, "--speaker-export", str(exports), "--speaker-models", str(bundles),
                   "--adaptation", str(adaptation), "--cv", str(cv))
    assert done.returncode == 0, done.stderr
    card = card_mod.read(to)
    section = card["speaker_model"]
    assert [m["folder"] for m in section["models"]] == ["speaker/pooling", "speaker/table1"]
    seed = tree["seed"]
    assert section["models"][0]["trained_by"].endswith(
        f"-S model.feature_norm=speaker -S model.network=pooling -S seed={seed} export")
    assert section["models"][1]["trained_by"].endswith("-S model.feature_norm=speaker export")
    for name in ("pooling", "table1"):
        for file in ("model.onnx", "features.npz", "model.json"):
            assert (to / "speaker" / name / file).read_bytes() == (exports / name / file).read_bytes(), (name, file)
    assert sorted(section["files"]) == [f"{n}/{f}" for n in ("pooling", "table1") for f in ("features.npz", "model.onnx")]
    assert "the average of 2 models" in (to.parent / "MODEL_CARD.md").read_text()

    monkeypatch.setattr(model_dir, "SHIPPED", to)
    monkeypatch.chdir(tmp_path)
    five = sorted((tiny_project.FIXTURE / "Actor_02").glob("*.flac"))[:5]
    adapted = Classifier.open(speaker=five)
    assert adapted.path == to / "speaker" and adapted.members == ["pooling", "table1"]
    got = [r["probabilities"] for r in adapted.predict_files(five)]
    each = [[r["probabilities"] for r in Classifier.from_dir(exports / n, speaker=five).predict_files(five)]
            for n in ("pooling", "table1")]
    for i, probs in enumerate(got):
        for c in card["classes"]:
            assert abs(probs[c] - (each[0][i][c] + each[1][i][c]) / 2) < 2e-4, (i, c)

    mixed = tmp_path / "mixed"                             # a member trained on other speakers is refused
    shutil.copytree(exports, mixed)
    config = json.loads((mixed / "pooling" / "model.json").read_text())
    config["split"]["val_speakers"] = ["4"]
    (mixed / "pooling" / "model.json").write_text(json.dumps(config))
    bad = release(project, tmp_path / "other", "--speaker-export", str(mixed), "--speaker-models", str(bundles),
                  "--adaptation", str(adaptation), "--cv", str(cv))
    assert bad.returncode == 2 and "train on the same speakers" in bad.stderr and not (tmp_path / "other").exists()


def test_the_model_may_be_several_draws_of_the_configuration_averaged(project, tmp_path, monkeypatch):
    """The configuration trained again with another seed (a copy of the project) and released with the first
    as one model: each in its subfolder, the card names the line that trains each, and a file gets the
    average of the two; released again as one model, the subfolders go."""
    exports, bundles, tree = two_models(project, tmp_path, ("draw_a", "draw_b"))
    to = tmp_path / "package" / "shipped"
    done = release(project, to, "--export", str(exports), "--models", str(bundles))
    assert done.returncode == 0, done.stderr
    card = card_mod.read(to)
    assert [m["folder"] for m in card["models"]] == ["draw_a", "draw_b"]
    assert card["models"][1]["trained_by"] == card["models"][0]["trained_by"].replace(
        " export", f" -S seed={tree['seed']} export")
    assert not (to / "model.json").exists() and not (to / "model.onnx").exists()
    for name in ("draw_a", "draw_b"):
        for file in ("model.onnx", "features.npz", "model.json"):
            assert (to / name / file).read_bytes() == (exports / name / file).read_bytes(), (name, file)
    assert sorted(card["files"]) == [f"{n}/{f}" for n in ("draw_a", "draw_b") for f in ("features.npz", "model.onnx")]
    assert "The average of 2 models" in (to.parent / "MODEL_CARD.md").read_text()

    monkeypatch.setattr(model_dir, "SHIPPED", to)
    monkeypatch.chdir(tmp_path)
    clips = sorted((tiny_project.FIXTURE / "Actor_02").glob("*.flac"))[:3]
    shipped = Classifier.open()
    assert shipped.path == to and shipped.members == ["draw_a", "draw_b"]
    got = [r["probabilities"] for r in shipped.predict_files(clips)]
    each = [[r["probabilities"] for r in Classifier.from_dir(exports / n).predict_files(clips)] for n in ("draw_a", "draw_b")]
    for i, probs in enumerate(got):
        for c in card["classes"]:
            assert abs(probs[c] - (each[0][i][c] + each[1][i][c]) / 2) < 2e-4, (i, c)

    mine = to / "mine"                                          # not the release's: left alone
    shutil.copytree(exports / "draw_a", mine)
    again = release(project, to)                                # one model again: the draws' folders go
    assert again.returncode == 0, again.stderr
    assert model_dir.is_export(to) and not (to / "draw_a").exists() and "models" not in card_mod.read(to)
    assert (mine / "model.json").is_file()
    shutil.rmtree(mine)

    one = tmp_path / "one"                                      # a folder of one export: that model
    shutil.copytree(exports / "draw_b", one / "draw_b")
    refused = release(project, to, "--export", str(one), "--models", str(bundles))
    assert refused.returncode == 2 and "split.seed: model" in refused.stderr     # alone, a draw has params.yaml's seed
    shutil.rmtree(one / "draw_b")
    shutil.copytree(exports / "draw_a", one / "draw_a")
    done = release(project, to, "--export", str(one), "--models", str(bundles))
    assert done.returncode == 0, done.stderr
    assert (to / "model.onnx").read_bytes() == (exports / "draw_a" / "model.onnx").read_bytes()
    twice = tmp_path / "twice"                                  # one model twice would not load: refused
    for name in ("a", "b"):
        shutil.copytree(exports / "draw_a", twice / name)
        shutil.copytree(bundles / "draw_a", tmp_path / "twice-bundles" / name)
    bad = release(project, tmp_path / "other", "--export", str(twice), "--models", str(tmp_path / "twice-bundles"))
    assert bad.returncode == 2 and "are the same model" in bad.stderr and not (tmp_path / "other").exists()
    inside = release(project, to, "--export", str(to), "--models", str(bundles / "draw_b"))
    assert inside.returncode == 2 and "which the release rewrites" in inside.stderr and model_dir.is_export(to)


@pytest.fixture(scope="module")
def global_part(project, speaker_project, tmp_path_factory) -> Path:
    """The eGeMAPS + SVM on globally standardised functionals, fit on the single-file model's split (the tiny
    project's params; the speaker project's eGeMAPS store holds the same recordings)."""
    from emoaugnet.evaluation import baseline_export
    from emoaugnet.params import from_dict, override
    tree = yaml.safe_load((project / "params.yaml").read_text())
    for key, value in {"baseline.speaker_norm": False, "baseline.corpora": ["ravdess"], "baseline.C": [1.0],
                       "baseline.gamma": [0.01]}.items():
        override(tree, key, value)
    out = tmp_path_factory.mktemp("global") / "classic"
    baseline_export.export(from_dict(tree), speaker_project / "data" / "egemaps", out)
    return out


def test_the_single_file_model_ships_with_a_globally_standardised_classic_part(project, global_part, tmp_path,
                                                                              monkeypatch, capsys):
    to, figures = tmp_path / "package" / "shipped", fusion_figures(tmp_path, speaker_norm=False)
    wrong = release(project, tmp_path / "wrong", "--classic", str(global_part), "--fusion", str(fusion_figures(tmp_path)))
    assert wrong.returncode == 2 and "measured with the SVM standardised per speaker; the part standardises " \
                                     "globally" in wrong.stderr
    done = release(project, to, "--classic", str(global_part), "--fusion", str(figures))
    assert done.returncode == 0, done.stderr
    assert (to / "classic" / "classic.onnx").read_bytes() == (global_part / "classic.onnx").read_bytes()
    section = card_mod.read(to)["classic"]
    assert (section["folder"], section["standardised"], section["figures"]["unweighted_accuracy"]) == \
        ("classic", "globally", 0.64)
    assert "-S baseline.speaker_norm=false -S baseline.fusion_weight=0.5" in section["trained_by"]
    md = (to.parent / "MODEL_CARD.md").read_text()
    assert "\n## Averaged with the classic tool\n" in md and "Each answer of the single-file model is `0.5 x`" in md

    monkeypatch.setattr(model_dir, "SHIPPED", to)
    monkeypatch.chdir(tmp_path)
    five = sorted((tiny_project.FIXTURE / "Actor_02").glob("*.flac"))[:5]
    results = Classifier.open().predict_files(five)           # each file on its own
    assert all(r["combined"].endswith("averaged with the eGeMAPS + SVM's (0.5 x network + 0.5 x SVM; its training "
                                      "speakers' statistics)") for r in results)
    assert Classifier().predict_files(five) == results        # README's first call binds the part too
    assert cli.main(["predict", "--workers", "1", *map(str, five)]) == 0
    assert [json.loads(line) for line in capsys.readouterr().out.splitlines()] == results

    assert release(project, to).returncode == 0              # released again without it: gone, files and card
    assert not (to / "classic").exists() and "classic" not in card_mod.read(to)
    files = {p.relative_to(to): p.read_bytes() for p in to.rglob("*") if p.is_file() and p.name != "card.json"}
    added = release(project, to, "--keep-models", "--classic", str(global_part), "--fusion", str(figures))
    assert added.returncode == 0, added.stderr
    assert all((to / name).read_bytes() == data for name, data in files.items())   # the model as it was
    assert card_mod.read(to)["classic"] == section and (to / "classic" / "classic.json").is_file()
    nobody = release(project, to, "--keep-models", "--classic", str(global_part), "--fusion", str(figures),
                     "--adaptation", str(figures))
    assert nobody.returncode == 2 and "its release has no speaker-adapted member for --adaptation" in nobody.stderr
