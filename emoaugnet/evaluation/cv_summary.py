"""The cross-validation summary over the folds' evaluation reports.

:func:`summarise` reads each fold's ``metrics.json`` and ``predictions.csv`` (``<paths.cv>/reports/fold_K``,
see :mod:`emoaugnet.training.folds`) and gives per-fold weighted / unweighted accuracy and macro F1, their mean and
sample standard deviation (ddof 1) over the folds, and the same figures on all folds' test recordings
pooled; it refuses folds whose test speakers overlap. When every fold's model is calibrated, ``calibration``
adds the pooled ECE before / after and the "not sure" coverage (:mod:`emoaugnet.evaluation.calibration_report`). :func:`write_summary` writes ``metrics.json`` (for
``dvc metrics show``) and the pooled ``confusion.csv`` (``actual,predicted``, a DVC confusion plot).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

from emoaugnet.evaluation import calibration_report, scoring as evaluation
from emoaugnet.training import folds
from emoaugnet.atomic import atomic_path, write_text
from emoaugnet.params import Params
from emoaugnet.errors import EmoAugNetError

HEADLINE = ("weighted_accuracy", "unweighted_accuracy", "macro_f1")


class CVError(EmoAugNetError, ValueError):
    """The fold reports cannot be summarised (missing, or test speakers shared between folds)."""


def describe(summary: dict[str, Any]) -> str:
    """The summary's mean (+- sd) headline figures, as the summary stages print them."""
    return ", ".join(f"{k} {summary['mean'][k]:.4f} +- {summary['sd'][k]:.4f}" for k in HEADLINE)


def _read_predictions(path: Path) -> list[dict[str, str]]:
    if not path.is_file():
        raise CVError(f"{path}: not found (run `dvc repro cv_summary@all` with the folds in `cv.folds`, which evaluates every fold)")
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def summarise_runs(report_dirs: dict[str, Path], classes: Sequence[str], kind: str = "runs") -> dict[str, Any]:
    """Per-run (a fold, or a held-out corpus) figures, their mean / sd and the pooled figures, from the
    runs' report folders (run name -> folder); refuses runs whose test speakers overlap (``kind`` names the
    runs in the message: ``folds``, ``held-out corpora``)."""
    per_run: dict[str, dict[str, Any]] = {}
    pooled_true: list[int] = []
    pooled_pred: list[int] = []
    seen: dict[str, str] = {}
    model = None
    index = {c: i for i, c in enumerate(classes)}
    for name, folder in report_dirs.items():
        rows = _read_predictions(folder / "predictions.csv")
        metrics = json.loads((folder / "metrics.json").read_text())
        model = metrics.get("model")
        speakers = sorted({f"{r['corpus']}/{r['speaker']}" for r in rows})
        for s in speakers:
            if s in seen:
                raise CVError(f"speaker {s} is tested in {kind} {seen[s]} and {name}: {kind} must be disjoint")
            seen[s] = name
        y_true = [index[r["actual"]] for r in rows]
        y_pred = [index[r["predicted"]] for r in rows]
        pooled_true += y_true
        pooled_pred += y_pred
        per_run[str(name)] = {**{k: metrics[k] for k in HEADLINE}, "test": len(rows),
                              "test_speakers": [s.split("/", 1)[1] for s in speakers],
                              **{k: metrics[k] for k in ("corpus", "trained_on") if k in metrics},
                              "epochs_run": metrics.get("epochs_run"), "best_epoch": metrics.get("best_epoch")}
    values = {k: np.array([f[k] for f in per_run.values()], float) for k in HEADLINE}
    pooled = evaluation.scores(np.array(pooled_true), np.array(pooled_pred), classes)
    return {
        "test_recordings": len(pooled_true),
        "mean": {k: round(float(v.mean()), 6) for k, v in values.items()},
        "sd": {k: round(float(v.std(ddof=1)) if len(v) > 1 else 0.0, 6) for k, v in values.items()},
        "pooled": {k: pooled[k] for k in HEADLINE},
        # each class's recall over every run's test recordings together (classes no run's test set has: absent)
        "per_class_recall": {c: v["recall"] for c, v in pooled["per_class"].items() if v["support"]},
        "model": model,
        "per_run": per_run,
    }


def summarise(report_dirs: dict[int, Path], classes: Sequence[str], num_folds: int) -> dict[str, Any]:
    """Per-fold, mean / sd and pooled figures from the folds' report folders (fold number -> folder)."""
    if not report_dirs:
        raise CVError("cv.folds is empty: no fold to summarise")
    runs = summarise_runs({str(k): report_dirs[k] for k in sorted(report_dirs)}, classes, "folds")
    try:
        calibrated = calibration_report.pooled([calibration_report.read_run(str(k), report_dirs[k], classes)
                                                for k in sorted(report_dirs)])["pooled"]
    except calibration_report.CalibrationReportError:     # a fold trained before calibration existed
        calibrated = None
    if calibrated is not None:
        runs["calibration"] = calibrated
    per_fold = runs.pop("per_run")
    for fold in per_fold.values():
        fold.pop("corpus", None), fold.pop("trained_on", None)
    return {"folds_run": len(per_fold), "folds_total": num_folds,
            "complete": sorted(report_dirs) == list(range(num_folds)), **runs, "per_fold": per_fold}


def write_summary(out_dir: str | Path, summary: dict[str, Any], report_dirs: Iterable[Path]) -> None:
    """``metrics.json`` and the pooled ``confusion.csv`` (every fold's test rows, fold by fold)."""
    out_dir = Path(out_dir)
    with atomic_path(out_dir / "confusion.csv") as tmp, open(tmp, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["actual", "predicted"])
        for folder in report_dirs:
            writer.writerows((r["actual"], r["predicted"]) for r in _read_predictions(folder / "predictions.csv"))
    write_text(out_dir / "metrics.json", json.dumps(summary, indent=2, sort_keys=False) + "\n")


def run_summary(p: Params, out_dir: str | Path) -> dict[str, Any]:
    """Summarise the folds ``cv.folds`` lists and write the summary to ``out_dir``."""
    dirs = {k: folds.fold_dirs(p, k)["reports"] for k in p.cv_folds}
    summary = summarise(dirs, p.classes, p.split.folds)
    write_summary(out_dir, summary, [dirs[k] for k in sorted(dirs)])
    return summary
