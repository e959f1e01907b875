"""Throwaway copy of wt-loco's project on ../shared/corpora (outside git of the worktree)."""
import sys, shutil
from pathlib import Path
sys.path[:0] = ["/work/wt-loco/tests", "/work/wt-loco"]
from helpers.featurestore import params_tree
from helpers.tiny_project import make_repo
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
