"""Per-window emotions of long recordings, for people: a text table (``predict --timeline``) and a plot of
the class probabilities over time (``predict --plot FILE.png``, matplotlib with the Agg backend).

Both read the result dicts of :class:`emoaugnet.inference.predictor.Predictor` (their ``windows``), so they show
exactly what ``predict`` computed. A silent window has no probabilities: ``silence`` in the table, a
grey band and a gap in the curves on the plot.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from emoaugnet.atomic import atomic_path


def rows(result: dict[str, Any], classes: Sequence[str]) -> list[list[Any]]:
    """``[start_s, end_s, emotion or "silence", p_class...]`` per window (probabilities empty when silent)."""
    out = []
    for w in result.get("windows", []):
        probs = w.get("probabilities") or {}
        label = w.get("emotion") or ("silence" if w["silent"] else result["result"])   # e.g. too_short
        out.append([w["start_s"], w["end_s"], label, *[probs.get(c) for c in classes]])
    return out


def table(result: dict[str, Any], classes: Sequence[str]) -> list[str]:
    """Lines of ``--timeline``: a ``#`` heading naming the file and its result, a header, one row per window."""
    if result["result"] == "error":
        return [f"# {result['path']}: error: {result['error']}"]
    head = f"# {result['path']}: {result['result']} ({result['duration_s']} s, {len(result['windows'])} windows)"
    width = max(8, *(len(c) for c in classes))
    lines = [head, f"{'start_s':>8} {'end_s':>8}  {'emotion':<{width}}  " + " ".join(f"{c:>{width}}" for c in classes)]
    for start, end, emotion, *probs in rows(result, classes):
        cells = " ".join(f"{'' if p is None else f'{p:.4f}':>{width}}" for p in probs)
        lines.append(f"{start:>8.2f} {end:>8.2f}  {emotion:<{width}}  {cells}".rstrip())
    return lines


def plot(results: Sequence[dict[str, Any]], classes: Sequence[str], path: str | Path) -> Path:
    """Draw each classified file's window probabilities over time (one panel per file) into ``path``
    (any format matplotlib writes, by its extension), atomically; returns ``path``."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    shown = [r for r in results if r["result"] != "error" and r.get("windows")]
    if not shown:
        raise ValueError("nothing to plot: no file was classified")
    fig, axes = plt.subplots(len(shown), 1, figsize=(10, 2.6 * len(shown) + 0.8), squeeze=False)
    colours = plt.get_cmap("tab10")
    for ax, result in zip(axes[:, 0], shown):
        windows = result["windows"]
        mid = np.array([(w["start_s"] + w["end_s"]) / 2 for w in windows])
        for k, c in enumerate(classes):
            p = [w["probabilities"][c] if w.get("probabilities") else np.nan for w in windows]
            ax.plot(mid, p, marker="o", markersize=3, linewidth=1.5, color=colours(k % 10), label=c)
        for w in windows:
            if w["silent"]:
                ax.axvspan(w["start_s"], w["end_s"], color="0.85", zorder=0)
        ax.set_xlim(0, max(result["duration_s"], windows[-1]["end_s"]))
        ax.set_ylim(0, 1)
        ax.set_ylabel("probability")
        ax.set_title(f"{Path(result['path']).name}: {result['result']}", fontsize=10, loc="left")
        ax.grid(alpha=0.3)
    axes[-1, 0].set_xlabel("time (s), at window centres; grey: silent windows")
    axes[0, 0].legend(ncol=len(classes), fontsize=8, loc="lower left", bbox_to_anchor=(0, 1.12), frameon=False)
    fig.tight_layout()
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format=path.suffix.lstrip(".").lower() or "png", dpi=100)
    plt.close(fig)
    return path
