"""Per-window emotions of long recordings, for people: a text table (``predict --timeline``) and a plot of
the segments and class probabilities over time (``predict --plot FILE.png``, matplotlib with the Agg backend).

Both read the result dicts of :class:`emoaugnet.inference.predictor.Predictor` (their ``windows`` and
``segments``), so they show exactly what ``predict`` computed. A silent window has no probabilities:
``silence`` in the table, a light grey band on the plot.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from emoaugnet.atomic import atomic_path
from emoaugnet.inference.segments import describe


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
    head = (f"# {result['path']}: {result.get('answer', result['result'])} ({result['duration_s']} s, "
            f"{len(result['windows'])} windows)")
    width = max(8, *(len(c) for c in classes))
    lines = [head, f"{'start_s':>8} {'end_s':>8}  {'emotion':<{width}}  " + " ".join(f"{c:>{width}}" for c in classes)]
    for start, end, emotion, *probs in rows(result, classes):
        cells = " ".join(f"{'' if p is None else f'{p:.4f}':>{width}}" for p in probs)
        lines.append(f"{start:>8.2f} {end:>8.2f}  {emotion:<{width}}  {cells}".rstrip())
    return lines


def plot(results: Sequence[dict[str, Any]], classes: Sequence[str], path: str | Path) -> Path:
    """Draw each classified file (one panel per file) into ``path`` (any format matplotlib writes, by its
    extension), atomically; returns ``path``. A panel is a strip of the file's ``segments`` (coloured by
    emotion, named where the name fits, hatched grey when not sure, light grey when silent) over the seven
    classes' probabilities stacked over time, smoothed as the segments were
    (:func:`emoaugnet.inference.segments.smooth`): readable for a 10-minute recording as for a 5 s one."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch
    from matplotlib.ticker import FuncFormatter, MultipleLocator

    shown = [r for r in results if r["result"] != "error" and r.get("windows")]
    if not shown:
        raise ValueError("nothing to plot: no file was classified")
    fig = plt.figure(figsize=(12, 3.6 * len(shown) + 0.6))
    outer = fig.add_gridspec(len(shown), 1, hspace=0.38)
    colours = [plt.get_cmap("tab10")(k % 10) for k in range(len(classes))]
    for n, result in enumerate(shown):
        inner = outer[n].subgridspec(2, 1, height_ratios=[0.5, 2.2], hspace=0.1)
        strip, ax = fig.add_subplot(inner[0]), fig.add_subplot(inner[1])
        end = max(result["duration_s"], result["windows"][-1]["end_s"])
        _stack(ax, result, classes, colours)
        _strip(strip, result, classes, colours, end)
        for a in (strip, ax):
            a.set_xlim(0, end)
            a.xaxis.set_major_locator(MultipleLocator(tick_step(end)))
            a.xaxis.set_major_formatter(FuncFormatter(lambda x, _: _clock(x, end)))
        strip.tick_params(labelbottom=False, left=False, labelleft=False)
        strip.set_title(f"{Path(result['path']).name}: {result.get('answer', result['result'])} "
                        f"({_clock(result['duration_s'], end)}, {_count(result.get('segments') or [], 'segment')})",
                        fontsize=11, loc="left")
        ax.set_ylim(0, 1)
        ax.set_ylabel("probability")
        ax.grid(alpha=0.3, axis="x")
    ax.set_xlabel("time; probabilities smoothed over about 5 s; light grey: silence")
    handles = [Patch(color=colours[k], label=c) for k, c in enumerate(classes)]
    handles += [Patch(facecolor="0.85", hatch="///", edgecolor="0.5", label="not sure"),
                Patch(color="0.92", label="silence")]
    fig.legend(handles=handles, ncol=len(handles), loc="upper center", fontsize=9, frameon=False,
               bbox_to_anchor=(0.5, 1.0))
    fig.subplots_adjust(left=0.06, right=0.975, top=1 - 0.55 / fig.get_figheight(), bottom=0.5 / fig.get_figheight())
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format=path.suffix.lstrip(".").lower() or "png", dpi=100)
    plt.close(fig)
    return path


#: Seconds between time ticks, the first giving at most :data:`MAX_TICKS` over a recording (the page's
#: timeline, emoaugnet/serve/static/app.js, uses the same steps).
TICK_STEPS = (0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600)
MAX_TICKS = 12


def tick_step(span: float) -> float:
    """Seconds between time ticks for a ``span``-second axis."""
    return next((s for s in TICK_STEPS if span / s <= MAX_TICKS), TICK_STEPS[-1])


def _count(items: Sequence[Any], noun: str) -> str:
    return f"{len(items)} {noun}{'s' * (len(items) != 1)}"


def _clock(seconds: float, span: float) -> str:
    """A tick label: ``m:ss`` (with tenths when the whole span is under 20 s)."""
    seconds = max(seconds, 0.0)
    if span < 20:
        return f"{seconds:.1f} s" if seconds < 60 else f"{int(seconds // 60)}:{seconds % 60:04.1f}"
    return f"{int(seconds // 60)}:{int(round(seconds % 60)):02d}"


def _stack(ax: Any, result: dict[str, Any], classes: Sequence[str], colours: list[Any]) -> None:
    """The smoothed class probabilities of ``result``'s windows, stacked, over the windows' centres."""
    import numpy as np

    from emoaugnet.inference.segments import smooth
    windows = result["windows"]
    centres = [(w["start_s"] + w["end_s"]) / 2 for w in windows]
    probs = [np.array([w["probabilities"][c] for c in classes]) if w.get("probabilities") else None for w in windows]
    smoothed = smooth(centres, probs)
    y = np.array([p if p is not None else np.zeros(len(classes)) for p in smoothed]).T
    if len(windows) == 1:             # one window: a flat band over its span
        centres = [windows[0]["start_s"], windows[0]["end_s"]]
        y = np.repeat(y, 2, axis=1)
    ax.stackplot(centres, y, colors=colours, linewidth=0)
    for w in windows:
        if w["silent"]:
            ax.axvspan(w["start_s"], w["end_s"], color="0.92", zorder=2, linewidth=0)


def _doubt_names(seg: dict[str, Any]) -> tuple[str, ...]:
    """A "not sure" segment's names, longest first: both candidates, then abbreviated ("sad/fea?"), then
    the leading one ("sad?"), then "?"."""
    lead = [c["emotion"] for c in seg.get("candidates") or []][:2]
    if len(lead) < 2:
        return ("not sure", "?")
    return (describe(seg), f"{lead[0][:3]}/{lead[1][:3]}?", f"{lead[0][:3]}?", "?")


def _strip(ax: Any, result: dict[str, Any], classes: Sequence[str], colours: list[Any], span: float) -> None:
    """The segments as coloured blocks, each named (or abbreviated: three letters; a "not sure" one by its
    candidates, "sad/fea?" or "sad?") when the name fits."""
    width_px = ax.get_position().width * ax.figure.get_figwidth() * 100
    for seg in result.get("segments") or []:
        start, stop, label = seg["start_s"], seg["end_s"], seg["label"]
        if label in classes:
            ax.axvspan(start, stop, color=colours[classes.index(label)], linewidth=0)
        else:
            ax.axvspan(start, stop, facecolor="0.85" if label == "uncertain" else "0.92",
                       hatch="///" if label == "uncertain" else None, edgecolor="0.5", linewidth=0)
        names = _doubt_names(seg) if label == "uncertain" else (label, label[:3])
        room = (stop - start) / span * width_px           # pixels available
        for candidate in names:
            if label != "silence" and room > 7.5 * len(candidate) + 6:
                ax.text((start + stop) / 2, 0.5, candidate, ha="center", va="center", fontsize=9,
                        color="white" if label in classes else "black", clip_on=True)
                break
    ax.set_ylim(0, 1)
    ax.set_yticks([])
