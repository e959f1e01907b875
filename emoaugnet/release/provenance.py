"""Where a released model comes from and what it scored: what its card records besides its params.

The git state of the tree it was released from (a tree with uncommitted changes, or a folder outside git,
is refused unless told ``--allow-dirty``: the commit would not be the code and params the model was made
from; :func:`check_clean`), the digests of its files, the corpora's speakers it trained on and the ``dvc
exp run`` line that trains it there (:func:`training_command`), and the measured figures found under
``--reports`` with the command of each (:data:`FIGURES`). :mod:`emoaugnet.release.release` writes them
into the card; :class:`ReleaseError` is every refusal of a release.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path
from typing import Any

from emoaugnet.inference.onnx_model import FEATURES_FILE, ONNX_FILE

CV = "dvc exp run -S 'cv.folds=[0,1,2,3,4]' -S 'cv.summary=[all]'"
LOCO = ("dvc exp run -S 'data.corpora=[ravdess,tess,emodb]' -S 'loco.corpora=[ravdess,tess,emodb]' "
        "-S 'loco.summary=[all]'")
#: Figures a card carries when their file is under --reports: (path, what it measures, the command).
FIGURES = (
    ("metrics.json", "held-out test speakers (split.test_speakers), this model", "dvc repro evaluate"),
    ("cv/metrics.json", "5-fold speaker cross-validation, this configuration (mean +- sd over folds)", CV),
    ("cv/baseline/metrics.json", "eGeMAPS + SVM baseline, the same folds",
     CV + " -S 'baseline.corpora=[ravdess]' -S 'baseline.cv=[all]'"),
    ("loco/metrics.json", "leave-one-corpus-out (mean +- sd over held-out corpora)", LOCO),
    ("loco/baseline/metrics.json", "eGeMAPS + SVM baseline, leave-one-corpus-out",
     LOCO + " -S 'baseline.corpora=[ravdess,tess,emodb]' -S 'baseline.loco=[all]'"),
)


class ReleaseError(ValueError):
    """A model that cannot be released; ``str()`` names the folder and the reason."""


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def files(export: Path) -> dict[str, Any]:
    return {name: {"bytes": (export / name).stat().st_size, "sha256": sha256(export / name)}
            for name in (ONNX_FILE, FEATURES_FILE)}


def training_command(split: dict[str, Any], extra: str = "", target: str = "export") -> str:
    """The ``dvc exp run`` line that trains and exports a model (the stage ``target``) on the data its split
    record names: params.yaml's configuration (plus ``extra``) on those corpora, holding out those speakers."""
    corpora = ",".join(split.get("corpora", []))

    def listed(key: str) -> str:
        return "[" + ",".join(map(str, split.get(key) or [])) + "]"
    return (f"dvc exp run -S 'data.corpora=[{corpora}]' -S 'run.corpora=[{corpora}]' -S "
            f"'split.test_speakers={listed('test_speakers')}' -S 'split.val_speakers={listed('val_speakers')}'"
            f"{extra} {target}")


def speakers(split: dict[str, Any], corpus: str, manifests: Path) -> dict[str, list[str] | None]:
    """Training, validation and test speakers of ``corpus`` (training: from its manifest, when present)."""
    single = len(split.get("corpora", [])) == 1

    def mine(ids: list[str]) -> list[str]:
        return [s if single else s.split(":", 1)[1] for s in map(str, ids) if single or s.startswith(corpus + ":")]
    test, val = mine(split.get("test_speakers", [])), mine(split.get("val_speakers", []))
    train = None
    manifest = manifests / f"{corpus}.csv"
    if manifest.is_file():
        from emoaugnet.data import manifest as manifest_mod
        present = {u.speaker for u in manifest_mod.read(manifest, kept_only=True)}
        held = set(test) | set(val) if split.get("protocol") == "speaker" else set()
        train = sorted(present - held, key=lambda s: (len(s), s))
    return {"train": train, "val": val, "test": test}


def _headline(metrics: dict[str, Any]) -> dict[str, Any]:
    if isinstance(metrics.get("mean"), dict):            # a summary over folds or corpora
        return {"unweighted_accuracy": metrics["mean"].get("unweighted_accuracy"),
                "weighted_accuracy": metrics["mean"].get("weighted_accuracy"),
                "sd": (metrics.get("sd") or {}).get("unweighted_accuracy"), "runs": metrics.get("folds_run"),
                **({"calibration": metrics["calibration"]} if metrics.get("calibration") else {}),
                **({"per_class_recall": metrics["per_class_recall"]} if metrics.get("per_class_recall") else {})}
    return {"unweighted_accuracy": metrics.get("unweighted_accuracy"),
            "weighted_accuracy": metrics.get("weighted_accuracy"), "protocol": metrics.get("protocol")}


def _speakers_scored(metrics: Path) -> str:
    """`` (speakers A, B)``: the speakers in the ``predictions.csv`` beside ``metrics``, so a figure on a
    corpus says which of its speakers it measured ("" when the file is not there)."""
    import csv
    predictions = metrics.parent / "predictions.csv"
    if not predictions.is_file():
        return ""
    with open(predictions, newline="") as f:
        speakers = sorted({row["speaker"] for row in csv.DictReader(f) if row.get("speaker")},
                          key=lambda s: (len(s), s))
    return f" (speaker{'s' if len(speakers) > 1 else ''} {', '.join(speakers)})" if speakers else ""


def figures(reports: Path, cv: Path | None = None) -> list[dict[str, Any]]:
    """The measured figures found under ``reports`` (``cv``: the cross-validation summary, if elsewhere)."""
    found: list[tuple[Path, str, str]] = [((cv if cv is not None and rel == "cv/metrics.json" else reports / rel),
                                           what, command) for rel, what, command in FIGURES]
    for path in sorted(reports.glob("cross/*/metrics.json")):
        corpus = path.parent.name
        found.append((path, f"cross-corpus: every recording of {corpus}{_speakers_scored(path)}, never seen in "
                            "training", f"dvc repro cross_evaluate@{corpus} (with evaluate.cross_corpora=[{corpus}])"))
    for path in sorted(reports.glob("cross/baseline/*/metrics.json")):
        corpus = path.parent.name
        found.append((path, f"eGeMAPS + SVM baseline, cross-corpus on {corpus}{_speakers_scored(path)}",
                      f"dvc repro baseline_cross@{corpus} (with baseline.cross_corpora=[{corpus}])"))
    out = []
    for path, what, command in found:
        if not path.is_file():
            continue
        try:
            metrics = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise ReleaseError(f"{path}: not a readable metrics file ({exc})") from None
        # a summary that records its own command (tools/cv_sweep.py's, e.g. an average of models) keeps it
        out.append({"what": what, "file": str(path), "command": metrics.get("command") or command,
                    **_headline(metrics)})
    return out


class TreeError(ValueError):
    """A tree a model must not be released from; ``str()`` names the folder, the files and the way out."""


NOT_GIT = "unknown (not a git checkout)"


def git_state(root: Path) -> tuple[str, list[str]]:
    """The commit checked out at ``root`` and the tracked files that differ from it (``git status``)."""
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=True).stdout
    try:
        commit = git("rev-parse", "HEAD").strip()
        status = git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.CalledProcessError):
        return NOT_GIT, []
    return commit, [line[3:] for line in status.splitlines() if line.strip()]


def check_clean(root: Path, allow_dirty: bool = False) -> tuple[str, list[str]]:
    """``git_state(root)``, or TreeError when the tree has uncommitted changes (or is no git checkout) and
    ``allow_dirty`` is not given: the card's commit would not be what the model was made from."""
    commit, changed = git_state(root)
    if allow_dirty:
        return commit, changed
    if commit == NOT_GIT:
        raise TreeError(f"{root}: not a git checkout, so the card cannot name the commit the model was made "
                        "from; release from the project's git checkout, or pass --allow-dirty (the card then "
                        "says so)")
    if changed:
        shown = ", ".join(changed[:5]) + (f" and {len(changed) - 5} more" if len(changed) > 5 else "")
        raise TreeError(f"{root}: the git tree has uncommitted changes to tracked files ({shown}); commit them "
                        f"first, so that the card's commit is the code and params the model was made from, or "
                        f"pass --allow-dirty (the card then records it and these files)")
    return commit, changed
