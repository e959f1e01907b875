"""The layout is what dvc.yaml says: each stage's code deps are exactly the files it runs, and a setting
that changes no output (a worker count, `store.scheduler`) is not a params dep, so changing it reruns nothing."""

from __future__ import annotations


import pytest
import yaml

from emoaugnet.params import load
from helpers.imports import ROOT, code_deps, layout_problems

PIPELINES = {"dvc.yaml": "."}
DVC_STAGES = {name: (file, stage) for file in PIPELINES
              for name, stage in yaml.safe_load((ROOT / file).read_text())["stages"].items()}
STAGES = sorted(DVC_STAGES)


def stage_body(name: str) -> dict:
    stage = DVC_STAGES[name][1]
    return stage.get("do", stage)


def test_a_plain_dvc_repro_trains_no_fold():
    """The cross-validation stages exist only when params.yaml lists folds (`cv.folds`, empty by default)."""
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    assert params["cv"] == {"folds": [], "summary": []}
    for name in ("train_fold", "evaluate_fold", "cv_summary"):
        assert stage_body(name) is not DVC_STAGES[name][1] and DVC_STAGES[name][1]["foreach"].startswith("${cv.")


def test_a_plain_dvc_repro_runs_no_leave_one_corpus_out_and_no_baseline():
    """LOCO and the eGeMAPS baseline are opt-in: their stages iterate over lists that are empty by default."""
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    assert params["loco"] == {"corpora": [], "summary": []}
    for key in ("corpora", "cross_corpora", "cv", "loco"):
        assert params["baseline"][key] == [], key
    lists = {"train_loco": "${loco.corpora}", "evaluate_loco": "${loco.corpora}", "loco_summary": "${loco.summary}",
             "egemaps": "${baseline.corpora}", "baseline_cv": "${baseline.cv}", "baseline_loco": "${baseline.loco}",
             "baseline_cross": "${baseline.cross_corpora}"}
    for name, foreach in lists.items():
        assert DVC_STAGES[name][1]["foreach"] == foreach, name


@pytest.mark.parametrize("name", STAGES)
def test_each_stage_runs_from_the_project_root(name):
    assert stage_body(name).get("wdir", ".") == PIPELINES[DVC_STAGES[name][0]]


def listed_code(name: str) -> set[str]:
    return {d for d in stage_body(name)["deps"] if d.endswith(".py") or d.startswith(("emoaugnet", "stages"))}


@pytest.mark.parametrize("name", STAGES)
def test_each_stage_lists_exactly_the_code_it_imports(name):
    script = f"stages/{name}.py"
    assert stage_body(name)["cmd"].startswith(f"python -m stages.{name}")
    derived = code_deps(script)
    listed = listed_code(name)
    assert listed == derived, (f"dvc.yaml stage {name}: missing {sorted(derived - listed)}, "
                               f"not imported {sorted(listed - derived)}")


def test_stages_folder_holds_only_stage_scripts():
    scripts = {p.stem for p in (ROOT / "stages").glob("*.py")} - {"__init__"}
    assert scripts == set(STAGES)
    for path in (ROOT / "stages").glob("*.py"):
        assert len(path.read_text().splitlines()) <= 80, f"{path.name}: a stage script should stay short"


@pytest.mark.parametrize("name", STAGES)
def test_worker_counts_and_the_scheduler_are_not_params_deps(name):
    params = [p if isinstance(p, str) else next(iter(p)) for p in stage_body(name).get("params", [])]
    assert not any(p.endswith("workers") or p in ("augment", "features", "store") or p.startswith("store.")
                   for p in params), params


def test_paths_in_dvc_yaml_come_from_params():
    text = (ROOT / "dvc.yaml").read_text()
    paths = load(ROOT / "params.yaml").paths
    for key in ("raw", "manifests", "augmented", "features", "stage_reports", "models", "export", "live", "reports"):
        assert f"${{paths.{key}}}" in text, key
    for literal in ("data/raw", "data/features", "data/augmented", "data/manifests"):
        assert literal not in text.split("stages:", 1)[1], f"{literal} typed in dvc.yaml instead of ${{paths.*}}"
    assert paths.features == "data/features"


#: Modules allowed past MAX_LINES, each with the reason it stays whole.
LONG_MODULES = {
    "emoaugnet/params.py": "declares every section of params.yaml in one place, the typed twin of the file",
    "emoaugnet/cli.py": "holds every subcommand's arguments and output; the work is in the modules it calls",
    "emoaugnet/inference/predictor.py": "the window rule, the file and array readers and the result records are one contract",
    "emoaugnet/evaluation/cv_sweep.py": "run, resume, ensemble, cross-corpus scoring and the table of many CV configurations",
}
MAX_LINES = 260


def test_no_module_is_long_unless_listed_with_its_reason():
    long = {str(path.relative_to(ROOT)): len(path.read_text().splitlines())
            for path in sorted((ROOT / "emoaugnet").rglob("*.py"))}
    long = {path: n for path, n in long.items() if n > MAX_LINES}
    unlisted = {path: n for path, n in long.items() if path not in LONG_MODULES}
    assert not unlisted, f"modules over {MAX_LINES} lines: {unlisted}: split them, or list them with a reason"
    assert set(LONG_MODULES) <= set(long), f"listed but no longer long: {set(LONG_MODULES) - set(long)}"


def test_library_never_reads_a_hard_coded_data_path():
    for path in sorted((ROOT / "emoaugnet").rglob("*.py")):
        code = path.read_text()
        for literal in ('"data/', "'data/", 'Path("models")', 'Path("reports")', 'Path("dvclive")'):
            assert literal not in code, f"{path.relative_to(ROOT)} hard-codes {literal}"


def test_no_tool_defaults_to_a_development_machines_path():
    """tools/ and bench/ take the corpus folder as an argument; no absolute path of one machine is a default."""
    import ast
    import re
    for path in sorted([*(ROOT / "tools").glob("*.py"), *(ROOT / "bench").glob("*.py")]):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                assert not re.match(r"/(work|home|Users|mnt|data)/", node.value), f"{path.name}: {node.value}"
    import subprocess
    import sys
    done = subprocess.run([sys.executable, "tools/readme_figures.py"], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 2 and "the following arguments are required: --source" in done.stderr


@pytest.mark.parametrize("name", sorted(set(STAGES) - {"check_params"}))
def test_each_stage_waits_for_the_params_check(name):
    """A bad params.yaml stops `dvc repro` at check_params, before DVC deletes any other stage's outputs."""
    assert "${paths.stage_reports}/params.ok" in stage_body(name)["deps"], name


#: The parts of emoaugnet/, lowest first: a module may import its own part and the parts in rows before it,
#: never a part in a row after it, nor one beside it in its own row (training and inference stand side by
#: side: neither imports the other). ``""`` is the shared modules at the top of the package (params, errors,
#: atomic, lock, knobs, stage, hints); cli and __main__ are the top-level modules that stand above it all.
ORDER = [("", "shipped"), ("data",), ("store",), ("model",), ("training", "inference"), ("evaluation",),
         ("release",), ("serve",), ("cli",), ("__main__",)]


def test_imports_run_downwards_without_a_circle():
    problems = layout_problems(ROOT / "emoaugnet", ORDER)
    assert not problems, "\n".join(problems)


def test_every_subpackage_is_a_part_and_says_what_it_may_import():
    parts = {part for row in ORDER for part in row}
    for init in sorted((ROOT / "emoaugnet").glob("*/__init__.py")):
        assert init.parent.name in parts, f"{init.parent.name}: add it to ORDER"
        assert "import" in init.read_text().lower() or init.parent.name == "shipped", f"{init}: say what it may import"
    top = {p.stem for p in (ROOT / "emoaugnet").glob("*.py")}
    assert top == {"__init__", "__main__", "cli", "params", "knobs", "errors", "atomic", "lock", "stage", "hints"}


def test_the_layout_check_finds_a_circle_and_an_upward_or_sideways_import(tmp_path):
    """The check above on a tiny package: ``low`` imports ``high`` (upward), ``high.b`` and ``high.c``
    import each other (a circle), ``left`` imports ``right`` (beside it); ``high.a`` imports ``low``
    (downward) and is fine."""
    files = {"__init__.py": "", "shared.py": "",
             "low/__init__.py": "", "low/x.py": "from pkg.high import a\nfrom pkg import shared\n",
             "left/__init__.py": "", "left/y.py": "def f():\n    from pkg.right import z\n",
             "right/__init__.py": "", "right/z.py": "",
             "high/__init__.py": "", "high/a.py": "from pkg.low import x\n",
             "high/b.py": "from pkg.high import c\n", "high/c.py": "from . import b\n"}
    for name, text in files.items():
        (tmp_path / "pkg" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "pkg" / name).write_text(text)
    problems = layout_problems(tmp_path / "pkg", [("",), ("low",), ("left", "right"), ("high",)])
    assert problems == [
        "import circle: pkg.high.a -> pkg.low.x",
        "import circle: pkg.high.b -> pkg.high.c",
        "pkg.left.y imports pkg.right.z: part 'right' stands beside 'left'",
        "pkg.low.x imports pkg.high.a: part 'high' stands above 'low'",
    ], problems
    unplaced = layout_problems(tmp_path / "pkg", [("low",), ("left", "right"), ("high",)])
    assert "pkg.shared: part '' is not in the order of parts" in unplaced


@pytest.mark.parametrize("name", STAGES)
def test_a_stage_that_reads_the_features_params_lists_every_one(name):
    """A stage that computes or trains on features depends on every feature param but the worker count, so
    changing one reruns it and DVC's run-cache never hands back outputs made with another value."""
    from dataclasses import fields

    from emoaugnet.params import FeatureParams
    listed = {p if isinstance(p, str) else next(iter(p)) for p in stage_body(name).get("params", [])}
    if "features.n_mfcc" in listed:
        wanted = {f"features.{f.name}" for f in fields(FeatureParams)} - {"features.workers"}
        assert wanted <= listed, f"{name}: missing {sorted(wanted - listed)}"
