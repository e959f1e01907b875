"""Calibration and "not sure" on test speakers: ECE before / after the temperature, reliability, coverage.

The evaluate stage records each model's calibration (fitted on its validation speakers at training time,
:mod:`emoaugnet.model.calibration`) in its ``metrics.json`` beside ``predictions.csv``, whose probabilities
are the network's own (uncalibrated). :func:`test_figures` gives one test set's figures; :func:`read_runs`
and :func:`pooled` gather them over the cross-validation folds (``<paths.cv>/reports/fold_K``), each fold's
temperature and thresholds applied to that fold's test speakers only. :func:`figure` draws the pooled
reliability diagram (before and after) and the trade-off between the share of recordings answered and
the accuracy on those, as the "not sure" threshold moves; ``tools/calibration_report.py`` writes both.

:class:`Run` also holds one model's test speakers scored with a calibration fitted on its validation
speakers without retraining (``tools/calibration_report.py --model``).
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from emoaugnet.model import calibration as cal
from emoaugnet.errors import EmoAugNetError


class CalibrationReportError(EmoAugNetError, ValueError):
    """Fold reports that cannot be read, or carry no calibration (trained before it existed)."""


def test_figures(probs: np.ndarray, labels: np.ndarray, c: cal.Calibration) -> dict[str, Any]:
    """ECE (10 bins) of the network's and the calibrated probabilities, and what "not sure" leaves."""
    after = c.apply(probs)
    share, acc = cal.coverage(after, labels, c.min_probability, c.min_margin)
    return {"ece_before": round(cal.ece(probs, labels), 6), "ece_after": round(cal.ece(after, labels), 6),
            "nll_before": round(cal.nll(probs, labels), 6), "nll_after": round(cal.nll(after, labels), 6),
            "answered": round(share, 6), "accuracy_answered": None if math.isnan(acc) else round(acc, 6),
            "accuracy_all": round(float(np.mean(np.asarray(probs).argmax(axis=1) == labels)), 6),
            "samples": int(len(labels))}


def record(c: cal.Calibration, probs: np.ndarray, labels: np.ndarray) -> dict[str, Any]:
    """What ``metrics.json`` keeps: the model's calibration and its figures on this test set."""
    return {**c.to_config(), "test": test_figures(probs, labels, c)}


@dataclass
class Run:
    name: str
    probs: np.ndarray              # (n, classes), the network's
    labels: np.ndarray
    calibration: cal.Calibration


def read_run(name: str, folder: Path, classes: Sequence[str] | None = None) -> Run:
    """One evaluated model's test predictions and calibration from its report folder."""
    metrics_path = folder / "metrics.json"
    if not metrics_path.is_file():
        raise CalibrationReportError(f"{metrics_path}: not found (evaluate the fold first: `dvc repro cv_summary@all`)")
    entry = json.loads(metrics_path.read_text()).get("calibration")
    if not entry:
        raise CalibrationReportError(f"{metrics_path}: no calibration recorded: the model was trained before "
                                     "calibration existed; retrain it (`dvc repro`) to fit one")
    probs, labels = read_predictions(folder, classes)
    return Run(name, probs, labels, cal.Calibration.from_config(entry))


def read_predictions(folder: Path, classes: Sequence[str] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """A report folder's test probabilities (the network's) and labels, from its ``predictions.csv``."""
    _, probs, labels = read_keyed(folder, classes)
    return probs, labels


def read_keyed(folder: Path, classes: Sequence[str] | None = None,
               originals: bool = False) -> tuple[list[str], np.ndarray, np.ndarray]:
    """:func:`read_predictions` with each row's recording, ``corpus/utterance`` (the key late fusion aligns
    on); ``originals``: the unaugmented recordings' rows only (variant 0)."""
    pred_path = folder / "predictions.csv"
    if not pred_path.is_file():
        raise CalibrationReportError(f"{pred_path}: not found (evaluate the fold first: `dvc repro cv_summary@all`)")
    with open(pred_path, newline="") as f:
        rows = [r for r in csv.DictReader(f) if not originals or int(r["variant"]) == 0]
    if not rows:
        raise CalibrationReportError(f"{pred_path}: no test predictions" + (" of an original" if originals else ""))
    names = list(classes) if classes else [k for k in rows[0] if k not in
                                           ("corpus", "utterance", "speaker", "variant", "actual", "predicted")]
    index = {c: i for i, c in enumerate(names)}
    probs = np.array([[float(r[c]) for c in names] for r in rows])
    labels = np.array([index[r["actual"]] for r in rows])
    return [f"{r['corpus']}/{r['utterance']}" for r in rows], probs, labels


def fold_folders(cv_dir: str | Path) -> list[Path]:
    """``<cv_dir>/reports/fold_K``, in fold order (refused when there are none)."""
    root = Path(cv_dir) / "reports"
    folders = sorted(root.glob("fold_*"), key=lambda d: int(d.name.split("_")[1]) if d.name[5:].isdigit() else 0)
    if not folders:
        raise CalibrationReportError(f"{root}: no fold reports (run the cross-validation first: "
                                     "dvc exp run -S 'cv.folds=[0,1,2,3,4]' -S 'cv.summary=[all]')")
    return folders


#: How :func:`cross_fitted` calibrations were fitted (the card's calibration paragraph says it).
CROSS_FITTED = "each fold's temperature and \"not sure\" thresholds fitted on the other folds' test speakers"


def cross_fitted(cv_dir: str | Path) -> list[Run]:
    """Each fold's test predictions with a calibration fitted on the other folds' test predictions (speakers
    the fold's model never heard, as a released model meets its users), so every fold is scored by a
    calibration that never saw its speakers. Needs no calibration in the folds (any version's reports)."""
    folds = [(d.name, *read_predictions(d)) for d in fold_folders(cv_dir)]
    if len(folds) < 2:
        raise CalibrationReportError(f"{cv_dir}: cross-fitting needs two folds or more, found {len(folds)}")
    runs = []
    for name, probs, labels in folds:
        rest = [f for f in folds if f[0] != name]
        c = cal.fit(np.concatenate([f[1] for f in rest]), np.concatenate([f[2] for f in rest]))
        runs.append(Run(name, probs, labels, replace(c, fit={**c.fit, "on": "the other folds' test speakers"})))
    return runs


def fit_on_folds(cv_dir: str | Path) -> cal.Calibration:
    """One calibration fitted on every fold's test predictions pooled: for a model of the same configuration
    trained on all those speakers (a release), whose users' speakers it never heard."""
    folds = [read_predictions(d) for d in fold_folders(cv_dir)]
    c = cal.fit(np.concatenate([f[0] for f in folds]), np.concatenate([f[1] for f in folds]))
    return replace(c, fit={**c.fit, "on": f"the {len(folds)} cross-validation test folds of its configuration "
                                          "(speakers each fold's model never heard)"})


def read_runs(cv_dir: str | Path) -> list[Run]:
    """Every evaluated fold under ``<cv_dir>/reports/fold_K``, in fold order."""
    return [read_run(d.name, d) for d in fold_folders(cv_dir)]


def pooled(runs: Sequence[Run]) -> dict[str, Any]:
    """Per run and pooled figures (each run's own temperature and thresholds on its own test set)."""
    per_run = {r.name: {"temperature": r.calibration.temperature, "min_probability": r.calibration.min_probability,
                        "min_margin": r.calibration.min_margin, **test_figures(r.probs, r.labels, r.calibration)}
               for r in runs}
    before = np.concatenate([r.probs for r in runs])
    after = np.concatenate([r.calibration.apply(r.probs) for r in runs])
    labels = np.concatenate([r.labels for r in runs])
    keep = np.concatenate([cal.answered(r.calibration.apply(r.probs), r.calibration.min_probability,
                                        r.calibration.min_margin) for r in runs])
    right = after.argmax(axis=1) == labels
    return {"runs": per_run, "pooled": {
        "samples": int(len(labels)), "ece_before": round(cal.ece(before, labels), 6),
        "ece_after": round(cal.ece(after, labels), 6), "answered": round(float(keep.mean()), 6),
        "accuracy_answered": round(float(right[keep].mean()), 6) if keep.any() else None,
        "accuracy_all": round(float(right.mean()), 6)}}


def tradeoff(runs: Sequence[Run], thresholds: Sequence[float] = tuple(np.round(np.arange(0, 0.951, 0.05), 2))
             ) -> list[dict[str, float]]:
    """Share answered and accuracy on those (pooled over runs, calibrated) as one top-probability threshold
    moves: the curve the chosen "not sure" point sits on."""
    after = np.concatenate([r.calibration.apply(r.probs) for r in runs])
    labels = np.concatenate([r.labels for r in runs])
    out = []
    for t in thresholds:
        share, acc = cal.coverage(after, labels, float(t), 0.0)
        out.append({"min_probability": float(t), "answered": round(share, 6),
                    "accuracy_answered": None if math.isnan(acc) else round(acc, 6)})
    return out


def table(report: Mapping[str, Any]) -> list[str]:
    """Markdown rows: per fold and pooled, T, ECE before / after, answered, accuracy on those and on all."""
    lines = ["| test set | T | thresholds (top, lead) | ECE before | ECE after | answered | accuracy answered | accuracy all |",
             "|---|---|---|---|---|---|---|---|"]

    def pct(v: Any) -> str:
        return "-" if v is None else f"{100 * v:.1f}%"
    for name, r in report["runs"].items():
        lines.append(f"| {name} | {r['temperature']:.3g} | {r['min_probability']:g}, {r['min_margin']:g} | "
                     f"{r['ece_before']:.3f} | {r['ece_after']:.3f} | {pct(r['answered'])} | "
                     f"{pct(r['accuracy_answered'])} | {pct(r['accuracy_all'])} |")
    p = report["pooled"]
    if len(report["runs"]) < 2:
        return lines
    lines.append(f"| all folds pooled ({p['samples']} recordings) | each fold's | each fold's | {p['ece_before']:.3f} | "
                 f"{p['ece_after']:.3f} | {pct(p['answered'])} | {pct(p['accuracy_answered'])} | {pct(p['accuracy_all'])} |")
    return lines


def figure(runs: Sequence[Run], title: str = "") -> Any:
    """Reliability diagram (pooled test folds, before and after the temperature) beside the trade-off
    between the share answered and the accuracy on those."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    before = np.concatenate([r.probs for r in runs])
    after = np.concatenate([r.calibration.apply(r.probs) for r in runs])
    labels = np.concatenate([r.labels for r in runs])
    fig, (rel, trade) = plt.subplots(1, 2, figsize=(11, 4.6))
    rel.plot([0, 1], [0, 1], color="0.6", linestyle="--", linewidth=1, label="perfectly calibrated")
    for probs, name, colour, dx in ((before, "network", "#d62728", -0.018), (after, "with temperature", "#1f77b4", 0.018)):
        bins = [b for b in cal.reliability(probs, labels) if b["count"]]
        rel.bar([(b["low"] + b["high"]) / 2 + dx for b in bins], [b["accuracy"] for b in bins], width=0.036,
                color=colour, alpha=0.8, label=f"{name}: ECE {cal.ece(probs, labels):.3f}")
        rel.plot([b["confidence"] for b in bins], [b["accuracy"] for b in bins], "o-", color=colour, markersize=3,
                 linewidth=1)
    rel.set(xlim=(0, 1), ylim=(0, 1), xlabel="confidence (top probability), 10 bins", ylabel="accuracy in the bin",
            title=f"reliability, {len(labels)} test recordings")
    rel.legend(fontsize=8, loc="upper left")
    curve = tradeoff(runs)
    trade.plot([c["answered"] for c in curve], [c["accuracy_answered"] for c in curve], "o-", color="#1f77b4",
               markersize=3, label="top-probability threshold 0 to 0.95")
    p = pooled(runs)["pooled"]
    trade.plot([p["answered"]], [p["accuracy_answered"]], "s", color="#d62728", markersize=8,
               label="each fold's chosen thresholds" if len(runs) > 1 else "the chosen thresholds")
    trade.set(xlim=(0, 1.02), ylim=(0, 1), xlabel="share of recordings answered (the rest: not sure)",
              ylabel="accuracy on those answered", title="answered vs accuracy")
    trade.grid(alpha=0.3)
    trade.legend(fontsize=8, loc="lower left")
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig
