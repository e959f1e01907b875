"""A long recording as a few segments: what was said when, instead of hundreds of windows.

:func:`segments` turns one recording's windows (their calibrated probabilities, ``None`` for a silent
window) into consecutive segments:

1. each window's probabilities are smoothed by a centred moving mean over the non-silent windows within
   :data:`SMOOTH_SECONDS` of it (a silent window is not averaged with speech, and breaks no run);
2. each window gets a label from its smoothed probabilities, by the model's own rule
   (:meth:`emoaugnet.model.calibration.Calibration.verdict`): an emotion, ``uncertain``, or ``silence``;
3. runs of windows with the same label become one segment. Windows overlap (hop < window), so each window
   stands for the time nearer its centre than its neighbours' (the first from its start, the last to its
   end); a segment goes from its first window's share to its last's;
4. a spoken segment shorter than :data:`MIN_SECONDS` joins the longer of its spoken neighbours (shortest
   first), so a 10-minute recording reads as tens of segments, not hundreds.

Each segment: ``start_s``, ``end_s``, ``label`` (emotion, ``uncertain`` or ``silence``), ``emotion`` (the
emotion, or ``None``), ``probability`` (the mean over its windows of the labelled emotion's smoothed
probability; for ``uncertain`` the leading one's), ``probabilities`` (all classes' means; ``None`` for
silence), ``candidates`` for ``uncertain`` (the two leading emotions and their mean probabilities) and
``windows`` (how many).
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from emoaugnet.model.calibration import Calibration

#: Seconds each side of a window's centre whose windows' probabilities are averaged with it.
SMOOTH_SECONDS = 2.5
#: Spoken segments shorter than this (s) join a neighbour.
MIN_SECONDS = 4.0
DECIMALS = 6


def smooth(centres: Sequence[float], probs: Sequence[np.ndarray | None], seconds: float = SMOOTH_SECONDS
           ) -> list[np.ndarray | None]:
    """Per window, the mean of the non-silent windows' probabilities whose centre is within ``seconds``
    of its own (``None`` for a silent window); ``centres`` ascend, as windows do."""
    voiced = [i for i, p in enumerate(probs) if p is not None]
    if not voiced:
        return [None] * len(probs)
    c = np.asarray(centres, np.float64)
    at = c[voiced]
    running = np.concatenate([np.zeros((1, len(probs[voiced[0]]))),
                              np.cumsum(np.stack([probs[i] for i in voiced]).astype(np.float64), axis=0)])
    lo = np.searchsorted(at, c - seconds - 1e-9, side="left")
    hi = np.searchsorted(at, c + seconds + 1e-9, side="right")
    return [None if p is None else (running[hi[i]] - running[lo[i]]) / (hi[i] - lo[i]) for i, p in enumerate(probs)]


def segments(windows: Sequence[Any], probs: Sequence[np.ndarray | None], classes: Sequence[str],
             calibration: Calibration, seconds: float = SMOOTH_SECONDS) -> list[dict[str, Any]]:
    """The segments of one recording (see the module doc); ``windows`` have ``start`` and ``end`` (s)."""
    if not windows:
        return []
    centres = [(w.start + w.end) / 2 for w in windows]
    smoothed = smooth(centres, probs, seconds)
    labels = []
    for p in smoothed:
        if p is None:
            labels.append("silence")
        else:
            emotion, _ = calibration.verdict(p, classes)
            labels.append(emotion or "uncertain")
    bounds = [windows[0].start, *((a + b) / 2 for a, b in zip(centres, centres[1:])), windows[-1].end]
    runs = _absorb_short(_runs(labels), labels, bounds)
    return [_segment(labels[a], bounds[a], bounds[b], smoothed[a:b], classes) for a, b in runs]


def _runs(labels: Sequence[str]) -> list[tuple[int, int]]:
    """``(first, end)`` window indices of each run of equal labels."""
    out, first = [], 0
    for i in range(1, len(labels) + 1):
        if i == len(labels) or labels[i] != labels[first]:
            out.append((first, i))
            first = i
    return out


def _absorb_short(runs: list[tuple[int, int]], labels: list[str], bounds: Sequence[float]) -> list[tuple[int, int]]:
    """Relabel spoken runs shorter than :data:`MIN_SECONDS` (shortest first) as their longer spoken
    neighbour; ``labels`` is changed in place."""
    def length(run: tuple[int, int]) -> float:
        return bounds[run[1]] - bounds[run[0]]
    while True:
        short = [k for k, r in enumerate(runs) if labels[r[0]] != "silence" and length(r) < MIN_SECONDS]
        spoken = [k for k in short if any(0 <= j < len(runs) and labels[runs[j][0]] != "silence"
                                          for j in (k - 1, k + 1))]
        if not spoken:
            return runs
        k = min(spoken, key=lambda k: length(runs[k]))
        side = max((j for j in (k - 1, k + 1) if 0 <= j < len(runs) and labels[runs[j][0]] != "silence"),
                   key=lambda j: length(runs[j]))
        for i in range(*runs[k]):
            labels[i] = labels[runs[side][0]]
        runs = _runs(labels)


def _segment(label: str, start: float, end: float, probs: Sequence[np.ndarray | None],
             classes: Sequence[str]) -> dict[str, Any]:
    item: dict[str, Any] = {"start_s": round(float(start), 3), "end_s": round(float(end), 3), "label": label,
                            "emotion": label if label in classes else None, "probability": None,
                            "probabilities": None, "windows": len(probs)}
    voiced = [p for p in probs if p is not None]
    if voiced:
        mean = np.mean(np.stack(voiced).astype(np.float64), axis=0)
        item["probabilities"] = {c: round(float(v), DECIMALS) for c, v in zip(classes, mean)}
        order = np.argsort(-mean, kind="stable")
        top = classes.index(label) if label in classes else int(order[0])
        item["probability"] = round(float(mean[top]), DECIMALS)
        if label == "uncertain":
            item["candidates"] = [{"emotion": classes[int(k)], "probability": round(float(mean[k]), DECIMALS)}
                                  for k in order[:2]]
    return item


def describe(segment: dict[str, Any]) -> str:
    """A segment in words: ``sad (0.62)``, ``not sure: sad or disgust``, ``silence``."""
    if segment["label"] == "uncertain":
        return "not sure: " + " or ".join(c["emotion"] for c in segment.get("candidates", []))
    if segment["label"] == "silence" or segment.get("probability") is None:
        return segment["label"]
    return f"{segment['label']} ({segment['probability']:.2f})"


def clock(seconds: float) -> str:
    """``m:ss.s`` (``h:mm:ss`` from an hour)."""
    seconds = max(float(seconds), 0.0)
    if seconds >= 3600:
        return f"{int(seconds // 3600)}:{int(seconds % 3600 // 60):02d}:{int(seconds % 60):02d}"
    return f"{int(seconds // 60)}:{seconds % 60:04.1f}"


def lines(result: dict[str, Any]) -> list[str]:
    """``predict --segments``: a heading with the file's answer, then one line per segment."""
    if result["result"] == "error":
        return [f"# {result['path']}: error: {result['error']}"]
    segs = result.get("segments") or []
    out = [f"# {result['path']}: {result.get('answer', result['result'])} ({result['duration_s']} s, "
           f"{len(segs)} segment{'s' * (len(segs) != 1)})"]
    out += [f"{clock(s['start_s']):>9} - {clock(s['end_s']):>9}  {describe(s)}" for s in segs]
    return out
