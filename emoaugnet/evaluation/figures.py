"""Figures a person can look at: PNGs of an evaluation and of the training behind it.

Each ``*_figure`` function takes plain arrays (class counts, recalls, per-epoch values) and returns a
matplotlib :class:`~matplotlib.figure.Figure`, so any evaluation (one test set, pooled folds, several
folds side by side) can draw with them; :func:`save_png` writes one atomically and byte-reproducibly.
:func:`write_report_figures` is what the evaluate stage calls: ``confusion.png`` (row-normalised, with
counts), ``recall.png`` (per-class recall) and ``training_curves.png`` (loss and accuracy, training vs
validation, best epoch marked; from the history the model bundle records).

Drawing uses matplotlib's object API on the Agg canvas: no pyplot, no display, no global state.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from emoaugnet.atomic import atomic_path

CONFUSION_FILE = "confusion.png"
RECALL_FILE = "recall.png"
CURVES_FILE = "training_curves.png"
DPI = 100


def confusion_counts(y_true: Sequence[int], y_pred: Sequence[int], num_classes: int) -> np.ndarray:
    """``counts[actual, predicted]`` (int64, ``num_classes`` square) of integer labels."""
    counts = np.zeros((num_classes, num_classes), np.int64)
    np.add.at(counts, (np.asarray(y_true, np.int64), np.asarray(y_pred, np.int64)), 1)
    return counts


def row_normalised(counts: np.ndarray) -> np.ndarray:
    """Each row divided by its total (the share of an actual class given each prediction); empty rows are 0."""
    counts = np.asarray(counts, np.float64)
    totals = counts.sum(axis=1, keepdims=True)
    return np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)


def confusion_figure(counts: np.ndarray, classes: Sequence[str], title: str = "") -> Figure:
    """Confusion matrix, coloured by the row-normalised share, each cell labelled ``share`` and ``(count)``.

    The diagonal holds each class's recall; a row with no test sample is labelled ``no samples``.
    """
    counts = np.asarray(counts)
    n = len(classes)
    if counts.shape != (n, n):
        raise ValueError(f"confusion counts of shape {counts.shape} for {n} classes")
    share = row_normalised(counts)
    fig = Figure(figsize=(1.0 + 0.9 * n, 0.6 + 0.8 * n), dpi=DPI, layout="constrained")
    ax = fig.add_subplot()
    image = ax.imshow(share, cmap="Blues", vmin=0.0, vmax=1.0)
    for i in range(n):
        if counts[i].sum() == 0:
            ax.text(n / 2 - 0.5, i, "no samples", ha="center", va="center", color="0.4", fontsize=8)
            continue
        for j in range(n):
            if counts[i, j] == 0:
                ax.text(j, i, "0", ha="center", va="center", fontsize=7, color="0.6")
                continue
            ax.text(j, i, f"{share[i, j]:.0%}\n({counts[i, j]})", ha="center", va="center", fontsize=8,
                    color="white" if share[i, j] > 0.6 else "black")
    ax.set_xticks(range(n), classes, rotation=45, ha="right")
    ax.set_yticks(range(n), [f"{c} ({counts[i].sum()})" for i, c in enumerate(classes)])
    ax.set_xlabel("predicted")
    ax.set_ylabel("actual (test samples)")
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.02, label="share of the actual class")
    ax.set_title(title or f"confusion matrix, {int(counts.sum())} test samples", fontsize=10)
    return fig


def recall_figure(recall: np.ndarray, classes: Sequence[str], series: Sequence[str] | None = None,
                  title: str = "") -> Figure:
    """Horizontal bars of per-class recall: ``recall`` is ``(classes,)``, or ``(k, classes)`` for k series
    side by side (e.g. one per fold, named by ``series``). NaN (a class with no test sample) draws no bar.
    The dashed line is chance (1 / number of classes)."""
    values = np.atleast_2d(np.asarray(recall, np.float64))
    k, n = values.shape
    if n != len(classes):
        raise ValueError(f"{n} recall values for {len(classes)} classes")
    names = list(series) if series is not None else [""] * k
    if len(names) != k:
        raise ValueError(f"{k} series of recall values but {len(names)} series names")
    fig = Figure(figsize=(6.4, 1.0 + 0.45 * n * max(1, min(k, 3)) ** 0.5), dpi=DPI, layout="constrained")
    ax = fig.add_subplot()
    height = 0.8 / k
    rows = np.arange(n)
    for s in range(k):
        y = rows - 0.4 + height * (s + 0.5)
        bars = ax.barh(y, np.nan_to_num(values[s]), height=height * 0.9, label=names[s] or None)
        if k <= 3:
            for bar, v in zip(bars, values[s]):
                if np.isfinite(v):
                    ax.text(bar.get_width() + 0.01, bar.get_y() + bar.get_height() / 2, f"{v:.0%}",
                            va="center", fontsize=8)
    ax.axvline(1.0 / n, color="0.3", linestyle="--", linewidth=1, label="chance")
    ax.set_yticks(rows, classes)
    ax.invert_yaxis()
    ax.set_xlim(0, 1.1)
    ax.set_xlabel("recall (share of the class's test samples predicted as it)")
    ax.legend(loc="lower right", fontsize=8)
    ax.set_title(title or "per-class recall", fontsize=10)
    return fig


def curves_figure(history: Mapping[str, Sequence[float]], best_epoch: int | None = None,
                  monitor: str | None = None, title: str = "") -> Figure:
    """Loss and accuracy per epoch, training vs validation (Keras history keys ``loss``, ``accuracy``,
    ``val_loss``, ``val_accuracy``); ``best_epoch`` (1-based) is marked on both panels and the value of
    ``monitor`` there is labelled."""
    fig = Figure(figsize=(9.6, 3.6), dpi=DPI, layout="constrained")
    axes = fig.subplots(1, 2)
    for ax, metric in zip(axes, ("loss", "accuracy")):
        drawn = False
        for key, label, style in ((metric, "training", "-o"), (f"val_{metric}", "validation", "-s")):
            values = history.get(key)
            if values:
                ax.plot(np.arange(1, len(values) + 1), values, style, markersize=3, label=label)
                drawn = True
        if best_epoch:
            ax.axvline(best_epoch, color="tab:red", linestyle="--", linewidth=1, label=f"best epoch ({best_epoch})")
            if monitor and history.get(monitor) and monitor.endswith(metric) and best_epoch <= len(history[monitor]):
                value = history[monitor][best_epoch - 1]
                ax.plot([best_epoch], [value], "*", color="tab:red", markersize=12)
                ax.annotate(f"{value:.3f}", (best_epoch, value), textcoords="offset points", xytext=(6, 6),
                            color="tab:red", fontsize=8)
        ax.set_xlabel("epoch")
        ax.set_ylabel(metric)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        if drawn:
            ax.legend(fontsize=8)
        else:
            ax.text(0.5, 0.5, "no history recorded", ha="center", va="center", transform=ax.transAxes)
    fig.suptitle(title or "training curves", fontsize=10)
    return fig


def save_png(fig: Figure, path: str | Path, dpi: int = DPI, colours: int | None = None) -> Path:
    """Write ``fig`` as a PNG at ``path`` atomically; no timestamp or version in the file, so the same
    figure gives the same bytes. ``colours`` (e.g. 128) stores it with a palette of that many colours
    (Pillow's median cut): a spectrogram-heavy figure shrinks 2-3x and looks the same."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    FigureCanvasAgg(fig)
    with atomic_path(path) as tmp:
        if colours:
            from PIL import Image
            buffer = io.BytesIO()
            fig.savefig(buffer, format="png", dpi=dpi, metadata={"Software": None})
            buffer.seek(0)
            with Image.open(buffer) as image:
                image.convert("RGB").quantize(colours, method=Image.Quantize.MEDIANCUT).save(
                    tmp, format="PNG", optimize=True)
        else:
            fig.savefig(tmp, format="png", dpi=dpi, metadata={"Software": None})
    return path


def write_report_figures(out_dir: str | Path, y_true: Sequence[int], y_pred: Sequence[int],
                         classes: Sequence[str], training: Mapping[str, Any], title: str = "") -> list[Path]:
    """The evaluate stage's PNGs in ``out_dir``: confusion matrix and per-class recall of ``y_true`` vs
    ``y_pred``, and the training curves of ``training`` (the bundle's record: ``history``,
    ``best_epoch``, ``monitor``)."""
    out_dir = Path(out_dir)
    counts = confusion_counts(y_true, y_pred, len(classes))
    support = counts.sum(axis=1)
    recall = np.where(support > 0, np.diag(counts) / np.maximum(support, 1), np.nan)
    suffix = f" - {title}" if title else ""
    return [
        save_png(confusion_figure(counts, classes, f"confusion matrix, {int(counts.sum())} test samples{suffix}"),
                 out_dir / CONFUSION_FILE),
        save_png(recall_figure(recall, classes, title=f"per-class recall{suffix}"), out_dir / RECALL_FILE),
        save_png(curves_figure(training.get("history") or {}, training.get("best_epoch"), training.get("monitor"),
                               f"training curves{suffix}"), out_dir / CURVES_FILE),
    ]
