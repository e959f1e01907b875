"""Every ``dvc repro`` / ``dvc exp run`` line of README.md and docs/ run once, as written (conftest's
``documented_runs``), for tests/test_doc_commands.py and the tests that check what a line wrote.

Two tiny copies of the project (``helpers.tiny_project.make_repo``), run side by side on one DVC cache
(:func:`run_all`), stand beside a ``../shared/corpora/`` folder of fixture recordings, as README's "local
corpus" does: RAVDESS actors 01-05 (statement 01), the TESS and EmoDB fixtures. The commit before the
commands holds the only edits (:data:`EDITS`): sources on that folder, actor 05 as the test speaker and 04
for validation (the defaults name actors 15-20), one validation speaker per fold or training corpus, one
augment variant (trained on), one epoch and one worker, and a local DVC remote. Each line then runs in bash
exactly as the page writes it, from a clean workspace, with one shrinking override appended to each
``dvc exp run`` (``-S train.epochs=1``, for the lines that ask for 15 or 60); the DVC run-cache makes a
stage that an earlier line ran a restore. A line passes when it exits 0 and leaves the files it is
documented to write (:func:`expected_outputs`).

Right after the lines :func:`kept` names, the copy is kept as it stands (:attr:`Run.project`: its git
history and experiments, outputs and dvc.lock; the DVC cache stays shared), with the line's own output
(:attr:`Run.output`): tests/test_loco.py, test_cross_corpus.py, test_plots.py and test_doc_commands.py check
there what those lines wrote instead of running the same pipeline again in a project of their own.
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path

from helpers import doc_commands
from helpers.featurestore import params_tree
from helpers.tiny_project import FIXTURE, env, make_repo, run

FIXTURES = FIXTURE.parent
SHRINK = "-S train.epochs=1"
EDITS = {
    "corpora.ravdess.source": "../shared/corpora/ravdess",
    "corpora.tess.source": "../shared/corpora/tess-sample",
    "corpora.emodb.source": "../shared/corpora/emodb-sample",
    "split.test_speakers": [5], "split.val_speakers": [4], "split.val_per_fold": 1,
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
#: What a line's stages write, removed before each line (DVC's cache stays: a stage an earlier line ran is
#: restored from it), so a file a line is checked for is one that line wrote or restored.
OUTPUTS = ("reports", "models", "export", "dvclive", "cv", "loco", "data/features", "data/egemaps", "classic")
#: Two copies of the project run the lines side by side (one core each) on one DVC cache, so a stage one copy
#: ran is restored in the other; a line and the checks after it stay in one copy.
LANES = 2


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


# The lines by what they run.
def is_both(line: str) -> bool:
    """The baseline line that needs the folds and leave-one-corpus-out (docs/evaluation.md)."""
    return "cv.folds" in line and "loco.corpora" in line


def is_cv(line: str) -> bool:
    return "cv.folds" in line and not is_both(line)


def is_loco(line: str) -> bool:
    return "loco.corpora" in line and not is_both(line)


def is_pair(line: str) -> bool:
    """docs/pipeline.md's relu / elu pair, compared with `dvc exp show` and `dvc plots diff`."""
    return " -n conv-" in line


def is_cross(line: str) -> bool:
    return "evaluate.cross_corpora=[tess,emodb]" in line


def kept(line: str) -> bool:
    """The lines whose project is kept for the checks of other tests."""
    return is_loco(line) or is_cross(line) or is_both(line) or is_pair(line)


def the_line(test, lines: list[str] | None = None) -> str:
    """The one documented line ``test`` (one of the ``is_*`` above) picks; fails unless exactly one does."""
    found = [line for line in (doc_commands.runnable() if lines is None else lines) if test(line)]
    assert len(found) == 1, f"{test.__name__}: {len(found)} documented lines, not one: {found}"
    return found[0]


def units(lines: list[str]) -> list[list[str]]:
    """The lines in the order the copies take them, a unit at a time, each unit in one copy: the
    cross-validation lines (the longest: five folds, then their baseline on the same folds) and the relu /
    elu pair (relu first, as its check lists both) start, so the copies never train the same model at once;
    leave-one-corpus-out next (the plain model restored from the other copy by then), the other lines in page
    order, the line that needs both the folds and LOCO last. Lines with the same script share a unit."""
    first = [[line for line in lines if is_cv(line)], [line for line in lines if is_pair(line)],
             [line for line in lines if is_loco(line)]]
    last = [line for line in lines if is_both(line)]
    placed = {line for unit in first for line in unit} | set(last)
    out = [unit for unit in first if unit]
    for line in lines:
        if line in placed:
            continue
        same = next((unit for unit in out if script(unit[0]) == script(line)), None)
        if same is not None:
            same.append(line)
        else:
            out.append([line])
    return out + ([last] if last else [])


@dataclass
class Run:
    """A documented line's run: what went wrong (None: it ran and wrote what it says), its stdout and
    stderr, and for the lines :func:`kept` names, a copy of the project right after it."""
    problem: str | None
    output: str
    project: Path | None = None


def make_project(tmp: Path, lane: int) -> Path:
    """A committed copy of the project beside ``tmp/shared/corpora``, with :data:`EDITS`, a local remote and
    the DVC cache ``tmp/cache``, which every copy shares."""
    repo = make_repo(tmp / f"repo{lane}", params_tree(**EDITS))
    run(["dvc", "remote", "add", "-d", "local", str(tmp / f"remote{lane}")], repo)
    run(["dvc", "cache", "dir", str(tmp / "cache")], repo)
    run(["git", "commit", "-qam", "a local remote and the cache the copies share"], repo)
    return repo


def run_line(project: Path, line: str) -> Run:
    """Run ``line`` in ``project`` from a clean workspace."""
    run(["git", "checkout", "-q", "--", "."], project)
    run(["git", "clean", "-fdq"], project)                 # untracked only: dvc.lock; outputs are git-ignored
    for name in OUTPUTS:
        shutil.rmtree(project / name, ignore_errors=True)
    done = subprocess.run(["bash", "-c", WRAPPER + script(line)], cwd=project, env=env(), capture_output=True, text=True)
    output = done.stdout + done.stderr
    if done.returncode != 0:
        return Run(f"exited {done.returncode}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}", output)
    missing = [path for path in expected_outputs(line) if not (project / path).exists()]
    if missing:
        return Run(f"ran, but wrote none of {missing}", output)
    return Run(None, output)


def corpora(tmp: Path) -> Path:
    """``tmp/shared/corpora``: RAVDESS actors 01-05 (statement 01), the TESS and EmoDB fixtures."""
    folder = tmp / "shared" / "corpora"
    for actor in sorted([*FIXTURE.glob("Actor_*"), *(FIXTURES / "ravdess-actor05").glob("Actor_*")]):
        for path in sorted(actor.glob("03-01-*-*-01-*-*.flac")):
            (folder / "ravdess" / actor.name).mkdir(parents=True, exist_ok=True)
            shutil.copy(path, folder / "ravdess" / actor.name / path.name)
    shutil.copytree(FIXTURES / "tess", folder / "tess-sample")
    shutil.copytree(FIXTURES / "emodb", folder / "emodb-sample")
    return folder


def run_all(tmp: Path, lines: list[str] | None = None) -> dict[str, Run]:
    """Every line (default: every documented one) run once in :data:`LANES` copies of the project, each
    copy taking the next of :func:`units` when it is free; line -> its :class:`Run`."""
    from concurrent.futures import ThreadPoolExecutor
    lines = doc_commands.runnable() if lines is None else lines
    corpora(tmp)
    queue, lock, runs = units(lines), threading.Lock(), {}

    def lane(index: int) -> None:
        project = make_project(tmp, index)
        while True:
            with lock:
                if not queue:
                    return
                unit = queue.pop(0)
            done: dict[str, Run] = {}
            for line in unit:
                if script(line) not in done:
                    done[script(line)] = result = run_line(project, line)
                    if kept(line):
                        result.project = tmp / "kept" / f"line{lines.index(line)}"
                        shutil.copytree(project, result.project, symlinks=True)
                runs[line] = done[script(line)]
    with ThreadPoolExecutor(LANES) as pool:
        for future in [pool.submit(lane, index) for index in range(LANES)]:
            future.result()
    return runs
