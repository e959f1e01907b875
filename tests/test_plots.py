"""DVC plots of a real tiny pipeline run: the PNG figures as image plots, the plots page in a real offline
browser, and ``dvc plots diff`` between two experiments.

The project is ``tests/helpers/tiny_project.py`` (the RAVDESS fixtures, frames layout, 1 epoch) after one
``dvc repro``, committed, with this project's ``plots.html_template`` setting (``.dvc/config``) and page.
The two experiments are docs/pipeline.md's relu / elu pair (``dvc exp run -n conv-relu ...``, ``-n conv-elu``),
compared as that page says (``dvc plots diff conv-relu conv-elu``) in the project the pair left (conftest's
``documented_runs``, which runs each documented line once).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from dvc_render.html import PAGE_HTML

from emoaugnet.model import bundle
from emoaugnet.evaluation import figures
from helpers import browser, doc_commands, doc_runs, tiny_project
from helpers.tiny_project import ROOT, run

pytestmark = pytest.mark.slow      # runs dvc repro and dvc exp run, then headless Chromium

PNGS = (figures.CONFUSION_FILE, figures.RECALL_FILE, figures.CURVES_FILE)
IMAGES = [f"reports/{name}" for name in PNGS]
VEGA = ["reports/confusion.csv", "reports/per_class.csv", "dvclive/plots/metrics"]


@pytest.fixture(scope="module")
def project(tmp_path_factory, reproduced_project) -> Path:
    repo = tiny_project.copy(reproduced_project, tmp_path_factory.mktemp("plots") / "repo")
    template = run(["dvc", "config", "plots.html_template"], ROOT).strip()     # what this project's config says
    shutil.copy(ROOT / ".dvc" / template, repo / ".dvc" / template)
    run(["dvc", "config", "plots.html_template", template], repo)
    run(["git", "add", "-A"], repo)
    run(["git", "commit", "-q", "-m", "pipeline run, offline plots page"], repo)
    return repo


def test_evaluate_draws_the_figures_as_image_plots(project):
    for path in IMAGES:
        assert (project / path).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", path
    assert run(["git", "check-ignore", *IMAGES], project).split() == IMAGES     # in DVC's cache, not in git
    shown = json.loads(run(["dvc", "plots", "show", "--json"], project))["data"]
    for path in IMAGES:                             # cached outputs (pushed and pulled), shown as images
        assert [p["type"] for p in shown[path]] == ["image"], path
    assert all(shown[p][0]["type"] == "vega" for p in ("reports/confusion.csv", "reports/per_class.csv"))
    # the curves come from the history the bundle records: one value per epoch and curve
    history = bundle.read_config(project / "models")["training"]["history"]
    assert {"loss", "accuracy", "val_loss", "val_accuracy"} <= set(history)
    assert all(len(v) == 1 for v in history.values())
    assert "Data and pipelines are up to date" in run(["dvc", "status"], project)


@pytest.mark.browser
def test_plots_page_renders_offline_in_headless_chromium(project, tmp_path):
    browser.chromium()                              # fails under CI=true when missing, skips elsewhere
    # DVC's own page loads vega from a CDN: offline, its vega plots stay blank (the network really is off)
    default = tmp_path / "default.html"
    default.write_text(PAGE_HTML)
    run(["dvc", "plots", "show", *VEGA, "--html-template", str(default), "-o", str(tmp_path / "cdn")], project)
    assert "cdn.jsdelivr.net" in (tmp_path / "cdn" / "index.html").read_text()
    blank = browser.screenshot(tmp_path / "cdn" / "index.html", tmp_path / "cdn.png")
    assert browser.inked(blank) < 0.002, "the CDN page drew something: is the network really off?"

    # this project's page (plots.html_template) inlines vega: the same plots are drawn offline
    run(["dvc", "plots", "show", *VEGA, "-o", str(tmp_path / "vega")], project)
    html = (tmp_path / "vega" / "index.html").read_text()
    assert "<script src=" not in html and html.count("vegaEmbed(") >= 7
    drawn = browser.screenshot(tmp_path / "vega" / "index.html", tmp_path / "vega.png")
    assert browser.inked(drawn) > 0.02 and browser.colourful(drawn) > 0.01

    # the PNG figures, as image plots
    run(["dvc", "plots", "show", *IMAGES, "-o", str(tmp_path / "images")], project)
    images = browser.screenshot(tmp_path / "images" / "index.html", tmp_path / "images.png")
    assert browser.inked(images) > 0.02 and browser.colourful(images) > 0.01
    assert browser.dark_blue(images) > 5000        # each test class's row has a full cell (one sample each)

    # the whole page, as `dvc plots show` writes it by default, shows both
    run(["dvc", "plots", "show", "-o", str(tmp_path / "all")], project)
    whole = browser.screenshot(tmp_path / "all" / "index.html", tmp_path / "all.png", height=4000)
    assert browser.inked(whole) > 0.03
    assert all((tmp_path / "all" / "static" / f"workspace_reports_{name}").is_file() for name in PNGS)


def test_plots_diff_compares_two_experiments(documented_runs):
    pair = [line for line in doc_commands.runnable() if doc_runs.is_pair(line)]
    assert [documented_runs[line].problem for line in pair] == [None, None]
    relu, elu = (documented_runs[line] for line in pair)
    assert "Running stage 'train'" in relu.output                  # a model of its own: conv-relu
    project = elu.project                                          # both experiments in its git refs
    diff = json.loads(run(["dvc", "plots", "diff", "conv-relu", "conv-elu", "--json"], project))["data"]
    for path in VEGA[:2] + ["dvclive/plots/metrics/eval/accuracy.tsv"]:
        assert diff[path][0]["revisions"] == ["conv-relu", "conv-elu"], path
    for path in IMAGES:
        revs = {p["revisions"][0]: Path(p["url"]) for p in diff[path]}
        assert sorted(revs) == ["conv-elu", "conv-relu"], path
        assert revs["conv-elu"].read_bytes() == (project / path).read_bytes()   # the workspace: the last run
        assert revs["conv-elu"].read_bytes() != revs["conv-relu"].read_bytes(), path   # titled conv-relu, other numbers
