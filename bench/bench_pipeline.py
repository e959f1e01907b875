"""Wall time of every stage of a full ``dvc repro``, then of a second ``dvc repro`` with nothing to do.

The pipeline runs in a temporary ``git clone`` of this repository's HEAD (commit what you want to
measure first), with params.yaml rewritten so that its ``corpora.ravdess.source`` is the absolute path of a local RAVDESS copy, so the working project
and its cache are never touched. One ``dvc repro`` runs the whole pipeline; each stage's time is read
from the moment DVC prints ``Running stage '<name>'`` to the next stage's start (the last one to the
end of the repro), so DVC's own hashing and cache work is counted in the stage it follows. The second
``dvc repro`` must find every stage up to date (target: under 10 s).

    python bench/bench_pipeline.py --source ../shared/corpora/ravdess                                    # all 20 actors, params.yaml as is
    python bench/bench_pipeline.py --source ../shared/corpora/ravdess -S model.input_layout=frames -S train.epochs=5
    python bench/bench_pipeline.py --source ../shared/corpora/ravdess --actors 2 -S model.input_layout=frames -S train.epochs=1   # smoke run

``--actors N`` copies only actors 1..N and, when N < 20, holds out actor N for test (and N-1 for
validation when N >= 3); ``-S key=value`` (YAML value, dotted key) overrides params.yaml after that.
Not collected by pytest; asserts nothing.
"""

from __future__ import annotations

import argparse
import datetime
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from emoaugnet.params import ParamsError, from_dict, override

ROOT = Path(__file__).resolve().parents[1]

STAGE_LINE = re.compile(r"Running stage '([^']+)'")


def set_dotted(tree: dict[str, Any], dotted: str, value: Any) -> None:
    """:func:`emoaugnet.params.override`, with an unknown key ending the benchmark with its message."""
    try:
        override(tree, dotted, value)
    except ParamsError as exc:
        raise SystemExit(f"-S {exc}") from None


def parse_override(text: str) -> tuple[str, Any]:
    if "=" not in text:
        raise SystemExit(f"-S {text!r}: expected key=value")
    key, value = text.split("=", 1)
    return key.strip(), yaml.safe_load(value)


def actor_subset(source: Path, actors: int, dest: Path) -> Path:
    """Copy ``Actor_01..Actor_<actors>`` of ``source`` into ``dest``."""
    folders = sorted(d for d in source.iterdir() if d.is_dir() and d.name.startswith("Actor_"))
    if len(folders) < actors:
        raise SystemExit(f"{source}: has {len(folders)} actor folders; --actors asks for {actors}")
    for folder in folders[:actors]:
        shutil.copytree(folder, dest / folder.name)
    return dest


def make_project(work: Path, source: Path, actors: int | None, overrides: list[tuple[str, Any]]) -> dict:
    """The temporary project: a ``git clone`` of this repository's HEAD (code, dvc.yaml, DVC config),
    params.yaml with the local source and overrides, one commit (DVCLive needs a commit to compare against)."""
    tree = yaml.safe_load((ROOT / "params.yaml").read_text())
    if actors is not None:
        source = actor_subset(source, actors, work.parent / f"{work.name}-corpus")
        if actors < 20:
            set_dotted(tree, "split.test_speakers", [actors])
            set_dotted(tree, "split.val_speakers", [actors - 1] if actors >= 3 else [])
    set_dotted(tree, "corpora.ravdess.source", str(source.resolve()))
    for key, value in overrides:
        set_dotted(tree, key, value)
    try:
        from_dict(tree)                     # refuses bad overrides before anything runs
    except ParamsError as exc:
        raise SystemExit(str(exc)) from None
    git = ["git", "-c", "user.name=bench", "-c", "user.email=bench@emoaugnet.invalid"]
    subprocess.run(["git", "clone", "-q", str(ROOT), str(work)], check=True)
    (work / "params.yaml").write_text(yaml.safe_dump(tree, sort_keys=False))
    subprocess.run([*git, "commit", "-qam", "bench params"], cwd=work, check=True)
    return tree


def timed_repro(work: Path, env: dict[str, str], log: Path) -> tuple[float, list[tuple[str, float]], int]:
    """Run ``dvc repro``, echoing its output; total seconds, (stage, seconds) in run order, exit code."""
    starts: list[tuple[str, float]] = []
    begin = time.perf_counter()
    with open(log, "a") as out, subprocess.Popen(["dvc", "repro"], cwd=work, env=env, stdout=subprocess.PIPE,
                                                 stderr=subprocess.STDOUT, text=True, bufsize=1) as proc:
        for line in proc.stdout:
            now = time.perf_counter()
            out.write(line)
            if m := STAGE_LINE.search(line):
                starts.append((m.group(1), now))
                print(f"  [{now - begin:7.1f} s] {line.rstrip()}", flush=True)
        code = proc.wait()
    end = time.perf_counter()
    stages = [(name, (starts[i + 1][1] if i + 1 < len(starts) else end) - t) for i, (name, t) in enumerate(starts)]
    if starts:
        stages.insert(0, ("(dvc start-up, before the first stage)", starts[0][1] - begin))
    return end - begin, stages, code


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--source", type=Path, required=True, help="local RAVDESS folder (Actor_NN/*.wav)")
    ap.add_argument("--actors", type=int, help="use only actors 1..N (a quicker run)")
    ap.add_argument("-S", "--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                    help="override a params.yaml value, e.g. -S train.epochs=5 (repeatable)")
    ap.add_argument("--workdir", type=Path, help="where to build the temporary project (default: a new temp dir)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary project afterwards")
    args = ap.parse_args(argv)
    if not args.source.is_dir():
        raise SystemExit(f"{args.source}: local RAVDESS copy not found (pass --source)")
    overrides = [parse_override(o) for o in args.overrides]

    base = Path(tempfile.mkdtemp(prefix="emoaugnet-bench-", dir=args.workdir))
    work = base / "project"
    work.mkdir()
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "DVC_NO_ANALYTICS": "1",
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    try:
        tree = make_project(work, args.source, args.actors, overrides)
        log = base / "repro.log"
        from emoaugnet.model.backend import cpu_model
        print(f"date: {datetime.date.today()}  project copy: {work}  source: {tree['corpora']['ravdess']['source']}")
        print(f"CPU: {cpu_model()}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the start")
        print(f"overrides: {' '.join(args.overrides) or 'none'}; actors: {args.actors or 'all'}; "
              f"split test {tree['split']['test_speakers']} val {tree['split']['val_speakers']}; log: {log}",
              flush=True)
        total, stages, code = timed_repro(work, env, log)
        if code != 0:
            print(f"dvc repro failed (exit {code}); last lines of {log}:")
            print("".join(log.read_text().splitlines(keepends=True)[-30:]))
            return code
        again, rerun, code2 = timed_repro(work, env, log)
        print("\n| stage | wall time (s) |\n|---|---|")
        for name, seconds in stages:
            print(f"| {name} | {seconds:.1f} |")
        print(f"| **full `dvc repro`** | **{total:.1f}** |")
        print(f"| second `dvc repro` (nothing to do{'' if not rerun else ', but it reran ' + ', '.join(n for n, _ in rerun[1:])}) "
              f"| {again:.1f} |")
        if code2 != 0:
            print(f"second dvc repro failed (exit {code2}); see {log}")
            return code2
        metrics = work / "reports" / "metrics.json"
        if metrics.is_file():
            print(f"\n{metrics.relative_to(work)}: {metrics.read_text().strip()[:600]}")
        return 0
    finally:
        if args.keep:
            print(f"kept {base}")
        else:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
