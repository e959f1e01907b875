"""Regenerate README's figures (``docs/figures/*.png``) from a real pipeline run on a local RAVDESS copy.

The run is a full ``dvc repro`` in a temporary ``git clone`` of this repository's HEAD (commit first), with
params.yaml pointed at the local corpus and the overrides below (the machinery of
``bench/bench_pipeline.py``); the evaluate stage's PNGs are copied to ``docs/figures/`` and
``emoaugnet show-augment`` draws the first utterance of the first test speaker's augment shard. It
prints the stage times, the params it changed, the headline metrics, the date and the CPU, for README.

    python tools/readme_figures.py --source ../shared/corpora/ravdess    # actors 1-8, test 7-8, val 6, frames, 6 epochs
    python tools/readme_figures.py --source ../shared/corpora/ravdess --actors 20 -S split.test_speakers=[17,18,19,20] -S split.val_speakers=[15,16]
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "bench"), str(ROOT)]

from bench_pipeline import make_project, parse_override, timed_repro  # noqa: E402

from emoaugnet.model import backend  # noqa: E402
from emoaugnet.evaluation import figures  # noqa: E402

OUT = ROOT / "docs" / "figures"
DEFAULTS = ["model.input_layout=frames", "train.epochs=6", "split.test_speakers=[7,8]", "split.val_speakers=[6]",
            "augment.workers=1", "features.workers=1"]
MAX_BYTES = 200_000



def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--source", type=Path, required=True, help="local RAVDESS folder (Actor_NN/*.wav)")
    ap.add_argument("--actors", type=int, default=8, help="use actors 1..N (default 8)")
    ap.add_argument("-S", "--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                    help=f"params.yaml override, after the defaults {' '.join(DEFAULTS)}")
    ap.add_argument("--out", type=Path, default=OUT, help=f"where the PNGs go (default {OUT.relative_to(ROOT)})")
    args = ap.parse_args(argv)
    if not args.source.is_dir():
        raise SystemExit(f"{args.source}: local RAVDESS copy not found (pass --source)")
    overrides = [parse_override(o) for o in DEFAULTS + args.overrides]
    base = Path(tempfile.mkdtemp(prefix="emoaugnet-figures-"))
    work = base / "project"
    work.mkdir()
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "DVC_NO_ANALYTICS": "1", "PYTHONPATH": "",
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                                text=True, check=True).stdout.strip()
        tree = make_project(work, args.source, args.actors, overrides)
        print(f"date {datetime.date.today()}, CPU {backend.cpu_model()}, {os.cpu_count()} cores, commit {commit}, actors 1-{args.actors}, "
              f"overrides {' '.join(DEFAULTS + args.overrides)}", flush=True)
        total, stages, code = timed_repro(work, env, base / "repro.log")
        if code != 0:
            print("".join((base / "repro.log").read_text().splitlines(keepends=True)[-30:]))
            return code
        args.out.mkdir(parents=True, exist_ok=True)
        for name in (figures.CONFUSION_FILE, figures.RECALL_FILE, figures.CURVES_FILE):
            shutil.copyfile(work / tree["paths"]["reports"] / name, args.out / name)
        speaker = str(tree["split"]["test_speakers"][0])
        shard = work / tree["paths"]["augmented"] / "ravdess" / f"speaker_{speaker}.h5"
        subprocess.run([sys.executable, "-m", "emoaugnet", "show-augment", "--shard", str(shard),
                        "-o", str(args.out / "augment.png")], cwd=ROOT, check=True,
                       env={**env, "PYTHONPATH": str(ROOT)})
        print("\n| stage | wall time (s) |\n|---|---|")
        for name, seconds in stages:
            print(f"| {name} | {seconds:.1f} |")
        print(f"| full `dvc repro` | {total:.1f} |")
        metrics = json.loads((work / tree["paths"]["reports"] / "metrics.json").read_text())
        print(f"\nmetrics: {json.dumps(metrics, sort_keys=True)}")
        too_big = []
        for png in sorted(args.out.glob("*.png")):
            size = png.stat().st_size
            print(f"{png.relative_to(ROOT) if png.is_relative_to(ROOT) else png}: {size:,} bytes")
            too_big += [png.name] if size > MAX_BYTES else []
        if too_big:
            print(f"over {MAX_BYTES:,} bytes: {', '.join(too_big)}")
            return 1
        return 0
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
