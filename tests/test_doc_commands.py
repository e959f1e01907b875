"""Every ``dvc repro`` / ``dvc exp run`` line of README.md and docs/ runs as written, and writes what it says.

Two tiny copies of the project (``helpers.tiny_project.make_repo``), run side by side on one DVC cache
(:func:`lanes`), stand beside a ``../shared/corpora/``
folder of fixture recordings, as README's "local corpus" does: RAVDESS actors 01-05 (statement 01), the
TESS and EmoDB fixtures. The commit before the commands holds the only edits: sources on that folder,
actor 05 as the test speaker and 04 for validation (the defaults name actors 15-20), one augment variant
(trained on), one epoch and one worker, and a local DVC remote. Each line then runs in bash exactly as the page writes it,
from a clean workspace, with one shrinking override appended to each ``dvc exp run`` (``-S train.epochs=1``,
for the lines that ask for 15 or 60); the DVC run-cache makes a stage that an earlier line ran a restore.
A line exits 0 and leaves the files it is documented to write.
"""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from helpers import doc_commands
from helpers.featurestore import params_tree
from helpers.tiny_project import FIXTURE, env, make_repo, run

pytestmark = pytest.mark.slow

FIXTURES = FIXTURE.parent
SHRINK = "-S train.epochs=1"
EDITS = {
    "corpora.ravdess.source": "../shared/corpora/ravdess",
    "corpora.tess.source": "../shared/corpora/tess-sample",
    "corpora.emodb.source": "../shared/corpora/emodb-sample",
    "split.test_speakers": [5], "split.val_speakers": [4],
    "augment.variants": [["noise"]], "split.train_variants": [], "augment.workers": 1, "features.workers": 1,
    "train.epochs": 1, "train.batch_size": 16,
}
# `dvc` in the lines: this environment's DVC, with SHRINK after each `dvc exp run`.
WRAPPER = f"""
dvc() {{
  if [ "$1" = exp ] && [ "$2" = run ]; then
    python -m dvc "$@" {SHRINK}
  else
    python -m dvc "$@"
  fi
}}
set -e
"""


def expected_outputs(line: str) -> list[str]:
    """The files a line is documented to write (README's stage table, docs/evaluation.md)."""
    targets = [t for piece in doc_commands.pieces(line) if doc_commands.is_run(piece)
               for t in doc_commands.targets(piece)]
    whole = not targets
    out = []
    if whole:
        out += ["reports/metrics.json", "export/model.onnx", "models/model.json"]
    if whole and "cv.summary=[all]" in line:
        out.append("reports/cv/metrics.json")
    if whole and "loco.summary=[all]" in line:
        out.append("reports/loco/metrics.json")
    if whole and "evaluate.cross_corpora=[tess,emodb]" in line:
        out += ["reports/cross/tess/metrics.json", "reports/cross/emodb/metrics.json"]
    if "baseline_cv@all" in targets or whole and "baseline.cv=[all]" in line:
        out.append("reports/cv/baseline/metrics.json")
    if "baseline_loco@all" in targets or whole and "baseline.loco=[all]" in line:
        out.append("reports/loco/baseline/metrics.json")
    out += [f"reports/cross/baseline/{t.split('@')[1]}/metrics.json" for t in targets if t.startswith("baseline_cross@")]
    if "export" in targets:
        out.append("export/model.onnx")
    if "baseline_export@all" in targets or whole and "baseline.export=[all]" in line:
        out += ["classic/classic.onnx", "classic/classic.json"]
    return out


def script(line: str) -> str:
    """The line as written; of README's set-up line (venv, pip, then `dvc repro`), the dvc part only."""
    if line.startswith("dvc "):
        return line
    return " && ".join(shlex.join(piece) for piece in doc_commands.pieces(line) if piece[0] == "dvc")


def experiments_compared(project: Path) -> None:
    """docs/pipeline.md's relu / elu pair: both experiments, with their params and metrics, in `dvc exp show`."""
    shown = json.loads(run(["dvc", "exp", "show", "--json"], project))
    records = [exp for commit in shown for branch in commit.get("experiments") or [] for exp in branch.get("revs") or []]
    by_name = {r["name"]: r["data"] for r in records}
    assert {"conv-relu", "conv-elu"} <= set(by_name), sorted(by_name)
    for activation in ("relu", "elu"):
        data = by_name[f"conv-{activation}"]
        assert data["params"]["params.yaml"]["data"]["model"]["conv_activation"] == activation
        metrics = data["metrics"]["reports/metrics.json"]["data"]
        assert f"conv-{activation}" in metrics["model"]
        assert 0 <= metrics["weighted_accuracy"] <= 1 and 0 <= metrics["unweighted_accuracy"] <= 1
        assert metrics["samples"] == {"train": 3 * 7 * 2, "val": 7, "test": 7}


#: Further checks after a line has run, by the line.
AFTER = {"dvc exp run -n conv-elu -S model.conv_activation=elu": experiments_compared}
#: Code-block lines that run DVC but are not run here, and why.
NOT_RUN = {
    "KERAS_BACKEND=jax dvc repro": "the JAX backend's pipeline is tests/test_backends.py's (JAX, TensorFlow hidden)",
    "(cd ../loco-work/repo && python -m dvc repro egemaps@ravdess egemaps@tess egemaps@emodb)":
        "a measurement on the full local corpora (docs/loco/setup_shared_corpora.py makes that project)",
    "(cd ../sweep/m40d_fixed && python -m dvc repro features@ravdess features@tess features@emodb)":
        "the feature store of a measurement on the full local corpora (setup_shared_corpora.py --set ...)",
    "(cd ../exp/lm && python -m dvc repro features@ravdess features@tess features@emodb)":
        "the log-mel feature store of a measurement on the full local corpora (setup_shared_corpora.py --set ...)",
    "(cd ../exp/lm && python -m dvc repro egemaps@ravdess egemaps@tess egemaps@emodb)":
        "the eGeMAPS store of the late-fusion measurement on the full local corpora (docs/evaluation.md)",
}


def test_each_further_check_follows_a_documented_line():
    assert set(AFTER) <= {" ".join(line.split()) for line in doc_commands.runnable()}


def test_every_documented_dvc_line_is_run_or_listed_with_a_reason():
    assert set(doc_commands.not_run()) == set(NOT_RUN)


def test_expected_outputs_follow_the_line():
    assert expected_outputs("dvc exp run -n paper -S train.epochs=60") == [
        "reports/metrics.json", "export/model.onnx", "models/model.json"]
    assert "reports/cv/baseline/metrics.json" in expected_outputs(
        "dvc exp run -S 'cv.folds=[0,1,2,3,4]' -S 'cv.summary=[all]' -S 'baseline.corpora=[ravdess]' -S 'baseline.cv=[all]'")
    assert expected_outputs("dvc exp run -S 'baseline.cv=[all]' baseline_cv@all") == ["reports/cv/baseline/metrics.json"]
    assert expected_outputs("dvc exp run -S 'baseline.export=[all]' baseline_export@all") == [
        "classic/classic.onnx", "classic/classic.json"]


def test_readmes_cross_validation_and_leave_one_corpus_out_lines_are_among_those_run():
    readme = (FIXTURES.parents[1] / "README.md").read_text()
    lines = doc_commands.runnable()
    for key in ("'cv.summary=[all]'", "'loco.summary=[all]'"):
        found = [line for line in lines if key in line and f"`{line}`" in readme]
        assert found, f"README's {key} line is not run"


def test_the_runner_fails_on_a_stale_line(tmp_path):
    """A line that no longer runs (here: a stage the pipeline does not have) fails the check."""
    page = tmp_path / "page.md"
    page.write_text("Run:\n\n```bash\ndvc repro no_such_stage\n```\n\nand `dvc repro`.\n")
    assert doc_commands.runnable([page]) == ["dvc repro no_such_stage"]
    repo = make_repo(tmp_path / "repo", params_tree())
    done = subprocess.run(["bash", "-c", WRAPPER + "dvc repro no_such_stage"], cwd=repo, env=env(),
                          capture_output=True, text=True)
    assert done.returncode != 0


#: What a line's stages write, removed before each line (DVC's cache stays: a stage an earlier line ran is
#: restored from it), so a file a line is checked for is one that line wrote or restored.
OUTPUTS = ("reports", "models", "export", "dvclive", "cv", "loco", "data/features", "data/egemaps")
#: Two copies of the project run the lines side by side (one core each) on one DVC cache, so a stage one copy
#: ran is restored in the other; a line and the checks after it stay in one copy.
LANES = 2


def lanes(lines: list[str]) -> list[list[str]]:
    """The lines dealt to two copies: the cross-validation lines to one, the leave-one-corpus-out lines and
    the relu / elu pair (relu first: its check lists both) to the other, the rest to the less loaded; a
    line that needs both the folds and LOCO last, when the other copy has run LOCO."""
    both = [line for line in lines if "cv.folds" in line and "loco.corpora" in line]
    cv = [line for line in lines if "cv.folds" in line and line not in both]
    loco = [line for line in lines if "loco.corpora" in line and line not in both]
    pair = [line for line in lines if " -n conv-" in line]
    out, load = [cv, loco + pair], [5 * len(cv), 3 * len(loco) + len(pair)]
    for line in lines:
        if line not in both + cv + loco + pair:
            lane = min(range(LANES), key=load.__getitem__)
            out[lane].append(line)
            load[lane] += 1
    out[0] += both
    return out


def make_project(tmp: Path, lane: int) -> Path:
    """A committed copy of the project beside ``tmp/shared/corpora``, with :data:`EDITS`, a local remote and
    the DVC cache ``tmp/cache``, which every copy shares."""
    repo = make_repo(tmp / f"repo{lane}", params_tree(**EDITS))
    run(["dvc", "remote", "add", "-d", "local", str(tmp / f"remote{lane}")], repo)
    run(["dvc", "cache", "dir", str(tmp / "cache")], repo)
    run(["git", "commit", "-qam", "a local remote and the cache the copies share"], repo)
    return repo


def run_line(project: Path, line: str) -> str | None:
    """Run ``line`` in ``project`` from a clean workspace; what went wrong, or None."""
    run(["git", "checkout", "-q", "--", "."], project)
    run(["git", "clean", "-fdq"], project)                 # untracked only: dvc.lock; outputs are git-ignored
    for name in OUTPUTS:
        shutil.rmtree(project / name, ignore_errors=True)
    done = subprocess.run(["bash", "-c", WRAPPER + script(line)], cwd=project, env=env(), capture_output=True, text=True)
    if done.returncode != 0:
        return f"exited {done.returncode}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    missing = [path for path in expected_outputs(line) if not (project / path).exists()]
    if missing:
        return f"ran, but wrote none of {missing}"
    try:
        if " ".join(line.split()) in AFTER:
            AFTER[" ".join(line.split())](project)
    except AssertionError as exc:
        return f"ran, but the check after it failed: {exc}"
    return None


@pytest.fixture(scope="module")
def ran(tmp_path_factory) -> dict[str, str | None]:
    """Every documented line run once: line -> what went wrong (None: it ran and wrote what it says)."""
    from concurrent.futures import ThreadPoolExecutor
    tmp = tmp_path_factory.mktemp("doc-commands")
    corpora = tmp / "shared" / "corpora"
    for actor in sorted([*FIXTURE.glob("Actor_*"), *(FIXTURES / "ravdess-actor05").glob("Actor_*")]):
        for path in sorted(actor.glob("03-01-*-*-01-*-*.flac")):
            (corpora / "ravdess" / actor.name).mkdir(parents=True, exist_ok=True)
            shutil.copy(path, corpora / "ravdess" / actor.name / path.name)
    shutil.copytree(FIXTURES / "tess", corpora / "tess-sample")
    shutil.copytree(FIXTURES / "emodb", corpora / "emodb-sample")

    def lane(index: int, lines: list[str]) -> dict[str, str | None]:
        project = make_project(tmp, index)
        return {line: run_line(project, line) for line in lines}
    with ThreadPoolExecutor(LANES) as pool:
        done = list(pool.map(lane, range(LANES), lanes(doc_commands.runnable())))
    return {line: problem for results in done for line, problem in results.items()}


def test_lines_are_dealt_to_lanes_keeping_the_relu_elu_pair_in_order():
    lines = doc_commands.runnable()
    dealt = lanes(lines)
    assert sorted(line for lane in dealt for line in lane) == sorted(lines)
    pair = [line for line in lines if " -n conv-" in line]
    assert len(pair) == 2 and [line for line in dealt[1] if line in pair] == pair
    assert all("cv.folds" in line for line in dealt[0][:2]) and "loco.corpora" in dealt[0][-1]


@pytest.mark.parametrize("line", doc_commands.runnable())
def test_documented_line_runs(ran: dict[str, str | None], line: str):
    assert ran[line] is None, f"{line}\n{ran[line]}"
