"""Every ``dvc repro`` / ``dvc exp run`` line of README.md and docs/ runs as written, and writes what it says.

The lines run once per session (conftest's ``documented_runs``, tests/helpers/doc_runs.py): two tiny copies
of the project, run side by side on one DVC cache, beside a ``../shared/corpora/`` folder of fixture
recordings, as README's "local corpus" does: RAVDESS actors 01-05 (statement 01), the TESS and EmoDB
fixtures. The commit before the commands holds the only edits (``doc_runs.EDITS``). Each line then runs in
bash exactly as the page writes it, from a clean workspace, with one shrinking override appended to each
``dvc exp run`` (``-S train.epochs=1``, for the lines that ask for 15 or 60); the DVC run-cache makes a
stage that an earlier line ran a restore. A line exits 0 and leaves the files it is documented to write.
What some lines wrote is checked further here (the relu / elu pair) and by the tests of their stages
(tests/test_loco.py, test_cross_corpus.py, test_plots.py), on the project as the line left it.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from helpers import doc_commands, doc_runs
from helpers.doc_runs import WRAPPER, expected_outputs, units
from helpers.featurestore import params_tree
from helpers.tiny_project import FIXTURE, env, make_repo, run

pytestmark = pytest.mark.slow

FIXTURES = FIXTURE.parent
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
    "(cd ../exp/un && python -m dvc repro features@ravdess features@tess features@emodb egemaps@ravdess egemaps@tess "
    "egemaps@emodb)": "the stores of the single-file late-fusion measurement on the full local corpora "
                      "(docs/evaluation.md; setup_shared_corpora.py --set ...)",
}


def test_each_kept_project_follows_a_documented_line():
    """The lines other tests check the project of: one documented line each (the relu / elu pair: two)."""
    lines = doc_commands.runnable()
    for test in (doc_runs.is_loco, doc_runs.is_cross, doc_runs.is_both):
        doc_runs.the_line(test, lines)
    assert len([line for line in lines if doc_runs.is_pair(line)]) == 2


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


def test_lines_are_dealt_in_units_keeping_the_relu_elu_pair_in_order():
    lines = doc_commands.runnable()
    dealt = units(lines)
    assert sorted(line for unit in dealt for line in unit) == sorted(lines)
    pair = [line for line in lines if doc_runs.is_pair(line)]
    assert len(pair) == 2 and pair in dealt
    assert [doc_runs.is_cv(line) for line in dealt[0]] == [True, True]
    assert dealt[-1] == [doc_runs.the_line(doc_runs.is_both, lines)]
    # README's set-up line ends in `dvc repro`, the same script as the plain line: one run for both
    setup = next(line for line in lines if line.startswith("python3 -m venv"))
    assert [setup, "dvc repro"] in dealt


@pytest.mark.parametrize("line", doc_commands.runnable())
def test_documented_line_runs(documented_runs, line: str):
    assert documented_runs[line].problem is None, f"{line}\n{documented_runs[line].problem}"


def test_the_relu_elu_pair_is_compared_in_dvc_exp_show(documented_runs):
    """docs/pipeline.md's relu / elu pair: both experiments, with their params and metrics, in `dvc exp show`."""
    project = pair_project(documented_runs)
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


def pair_project(documented_runs) -> Path:
    """The project as the second line of the relu / elu pair left it (both experiments in its git refs)."""
    second = [line for line in doc_commands.runnable() if doc_runs.is_pair(line)][-1]
    assert documented_runs[second].problem is None, documented_runs[second].problem
    return documented_runs[second].project
