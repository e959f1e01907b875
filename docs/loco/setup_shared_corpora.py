"""Throwaway copy of wt-loco's project on ../shared/corpora (outside git of the worktree)."""
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]      # the project this script is in
sys.path[:0] = [str(ROOT / "tests"), str(ROOT)]
from helpers.featurestore import params_tree  # noqa: E402  (tests/ on the path first)
from helpers.tiny_project import make_repo  # noqa: E402

S = "/work/shared/corpora"
tree = params_tree(**{
    "corpora.ravdess.source": f"{S}/ravdess", "corpora.tess.source": f"{S}/tess-yaf",
    "corpora.emodb.source": f"{S}/emodb-dev",
    "data.corpora": ["ravdess", "tess", "emodb"], "run.corpora": ["ravdess"],
    "baseline.corpora": ["ravdess", "tess", "emodb"], "baseline.cross_corpora": ["tess", "emodb"],
    "loco.corpora": ["ravdess", "tess", "emodb"], "loco.summary": ["all"],
    "cv.folds": [0, 1, 2, 3, 4], "cv.summary": ["all"],
})
repo = Path("/tmp/loco-work/repo")
if repo.exists():
    shutil.rmtree(repo)
make_repo(repo, tree)
