"""A throwaway copy of this project on local corpora, for the baseline measurements of docs/evaluation.md.

    python docs/loco/setup_shared_corpora.py --corpora ../shared/corpora --out /tmp/loco-work/repo \
        [--set features.n_mfcc=40 --set features.deltas=1 ...]

``--corpora``: a folder holding ``ravdess/``, ``tess-yaf/`` and ``emodb-dev/`` (local copies laid out as
each corpus's archive); ``--out``: the project copy to make (replaced if present). Its params.yaml: those
sources; data.corpora, baseline.corpora and loco.corpora [ravdess, tess, emodb]; run.corpora [ravdess];
baseline.cross_corpora [tess, emodb]; cv.folds [0..4]; cv.summary, loco.summary, baseline.cv and
baseline.loco [all]; then each ``--set KEY=VALUE`` (a YAML value), e.g. the feature params of a store for
``tools/cv_sweep.py``. Then ``docs/loco/measure.sh`` in it, or ``dvc repro features@ravdess ...``.
"""
import argparse
import shutil
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]      # the project this script is in
sys.path[:0] = [str(ROOT / "tests"), str(ROOT)]
from helpers.featurestore import params_tree  # noqa: E402  (tests/ on the path first)
from helpers.tiny_project import make_repo  # noqa: E402

parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
parser.add_argument("--corpora", required=True, type=Path, help="folder with ravdess/, tess-yaf/, emodb-dev/")
parser.add_argument("--out", required=True, type=Path, help="the project copy to make")
parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="a params.yaml override")
args = parser.parse_args()
overrides = {}
for item in args.set:
    key, _, value = item.partition("=")
    overrides[key] = yaml.safe_load(value)
S = args.corpora.resolve()
tree = params_tree(**{
    "corpora.ravdess.source": str(S / "ravdess"), "corpora.tess.source": str(S / "tess-yaf"),
    "corpora.emodb.source": str(S / "emodb-dev"),
    "data.corpora": ["ravdess", "tess", "emodb"], "run.corpora": ["ravdess"],
    "baseline.corpora": ["ravdess", "tess", "emodb"], "baseline.cross_corpora": ["tess", "emodb"],
    "loco.corpora": ["ravdess", "tess", "emodb"], "loco.summary": ["all"],
    "cv.folds": [0, 1, 2, 3, 4], "cv.summary": ["all"], "baseline.cv": ["all"], "baseline.loco": ["all"],
    **overrides,
})
if args.out.exists():
    shutil.rmtree(args.out)
make_repo(args.out, tree)
print(f"project copy: {args.out}")
