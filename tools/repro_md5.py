"""Run ``dvc repro`` on a tiny project and print the md5 of every file it computed.

The tiny project is tests/helpers/tiny_project.py's (the RAVDESS fixtures, statement 01, one epoch): a
change that must not change what the pipeline computes (a move of modules, say) prints the same listing
before and after. Usage: ``python tools/repro_md5.py --workdir DIR`` (DIR is created, and must not exist).
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: What the stages compute: feature shards, augmented audio, model weights, the ONNX export, reports.
OUTPUTS = ("data/augmented", "data/features", "data/manifests", "models", "export", "reports")


def md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", required=True, type=Path, help="an empty folder to build the project in")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT / "tests"))
    from helpers import tiny_project
    args.workdir.mkdir(parents=True)
    repo = tiny_project.build(args.workdir)
    tiny_project.run(["dvc", "repro", "-q"], repo)
    for top in OUTPUTS:
        for path in sorted((repo / top).rglob("*")):
            if path.is_file():
                print(f"{md5(path)}  {path.relative_to(repo).as_posix()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
