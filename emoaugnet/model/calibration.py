"""How far to trust a model's probabilities: a temperature, and when to answer "not sure".

The network ends in a softmax and can be sure of itself and wrong. A :class:`Calibration` holds

* ``temperature`` T, fitted by :func:`fit` on the validation speakers' predictions (never the test
  speakers') by minimising their negative log-likelihood; :meth:`Calibration.apply` scales the network's
  probabilities as ``p ** (1 / T)``, renormalised, which equals ``softmax(logits / T)``: the ranking (and so
  the accuracy) is unchanged, only how sure the answer sounds;
* ``min_probability`` and ``min_margin``: a recording whose calibrated top probability is under the first,
  or whose lead over the second class is under the second, is answered ``uncertain`` with its two leading
  emotions (:meth:`Calibration.verdict`). They are chosen on the same validation predictions: the pair
  answering the most validation recordings at :data:`TARGET_ACCURACY` or better on those answered (when no
  pair reaches it, the most accurate pair that still answers :data:`MIN_COVERAGE` of them).

A model saved before calibration existed reads as :data:`NONE` (T = 1, never uncertain, ``fitted`` false):
it keeps working and says it is not calibrated. numpy only: the ONNX runtime path uses it without Keras.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np

#: Accuracy the "not sure" thresholds aim for on the validation recordings the model still answers.
TARGET_ACCURACY = 0.7
#: Least share of validation recordings answered when the target cannot be reached.
MIN_COVERAGE = 0.25
#: Bins of the expected calibration error (equal width over the top probability).
ECE_BINS = 10
#: Where the temperature is searched (a bounded 1-D search on log T).
T_RANGE = (0.05, 20.0)
PROBABILITY_GRID = (0.0, *np.round(np.arange(0.2, 0.901, 0.05), 2))
MARGIN_GRID = tuple(np.round(np.arange(0.0, 0.501, 0.05), 2))
EPS = float(np.finfo(np.float32).tiny)     # a float32 probability of 0 reads as the smallest normal one


def scale(probs: np.ndarray, temperature: float) -> np.ndarray:
    """``softmax(log(p) / T)`` row by row, computed from probabilities (the network's softmax output)."""
    p = np.asarray(probs, np.float64)
    if temperature == 1.0 or p.size == 0:
        return np.asarray(probs, np.float32)
    z = np.log(np.clip(p, EPS, 1.0)) / temperature
    z -= z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return (e / e.sum(axis=-1, keepdims=True)).astype(np.float32)


def nll(probs: np.ndarray, labels: np.ndarray) -> float:
    """Mean negative log-likelihood of the true labels."""
    p = np.asarray(probs, np.float64)[np.arange(len(labels)), np.asarray(labels)]
    return float(-np.mean(np.log(np.clip(p, EPS, 1.0))))


def ece(probs: np.ndarray, labels: np.ndarray, bins: int = ECE_BINS) -> float:
    """Expected calibration error: the gap between confidence (top probability) and accuracy, averaged
    over ``bins`` equal-width confidence bins weighted by how many predictions fall in each."""
    table = reliability(probs, labels, bins)
    n = sum(row["count"] for row in table)
    return float(sum(row["count"] * abs(row["accuracy"] - row["confidence"]) for row in table if row["count"]) / max(n, 1))


def reliability(probs: np.ndarray, labels: np.ndarray, bins: int = ECE_BINS) -> list[dict[str, Any]]:
    """Per confidence bin: its range, how many predictions, their mean confidence and their accuracy."""
    p = np.asarray(probs, np.float64)
    conf, right = p.max(axis=1), p.argmax(axis=1) == np.asarray(labels)
    which = np.minimum((conf * bins).astype(int), bins - 1)
    out = []
    for b in range(bins):
        sel = which == b
        out.append({"low": b / bins, "high": (b + 1) / bins, "count": int(sel.sum()),
                    "confidence": float(conf[sel].mean()) if sel.any() else 0.0,
                    "accuracy": float(right[sel].mean()) if sel.any() else 0.0})
    return out


def answered(probs: np.ndarray, min_probability: float, min_margin: float) -> np.ndarray:
    """Which rows are answered (not "not sure") under the two thresholds."""
    top2 = -np.sort(-np.asarray(probs, np.float64), axis=1)[:, :2]
    margin = top2[:, 0] - (top2[:, 1] if top2.shape[1] > 1 else 0.0)
    return (top2[:, 0] >= min_probability) & (margin >= min_margin)


def coverage(probs: np.ndarray, labels: np.ndarray, min_probability: float, min_margin: float) -> tuple[float, float]:
    """(share of rows answered, accuracy on those; nan when none is answered)."""
    keep = answered(probs, min_probability, min_margin)
    right = np.asarray(probs).argmax(axis=1) == np.asarray(labels)
    return float(keep.mean()) if len(keep) else 0.0, float(right[keep].mean()) if keep.any() else math.nan


@dataclass(frozen=True)
class Calibration:
    temperature: float = 1.0
    min_probability: float = 0.0
    min_margin: float = 0.0
    fitted: bool = False
    fit: Mapping[str, Any] = field(default_factory=dict)   # what it was fitted on, and the figures there

    def apply(self, probs: np.ndarray) -> np.ndarray:
        """The calibrated probabilities of the network's ``(n, classes)`` probabilities."""
        return scale(probs, self.temperature)

    def verdict(self, p: np.ndarray, classes: Sequence[str]) -> tuple[str | None, list[dict[str, Any]]]:
        """``(emotion, [])`` for an answer, ``(None, two leading {emotion, probability})`` when not sure."""
        order = np.argsort(-np.asarray(p, np.float64), kind="stable")
        if bool(answered(np.asarray(p)[None], self.min_probability, self.min_margin)[0]):
            return classes[int(order[0])], []
        return None, [{"emotion": classes[int(k)], "probability": round(float(p[k]), 6)} for k in order[:2]]

    def to_config(self) -> dict[str, Any]:
        return {"temperature": self.temperature, "min_probability": self.min_probability,
                "min_margin": self.min_margin, "fitted": self.fitted, "fit": dict(self.fit)}

    @classmethod
    def from_config(cls, entry: Mapping[str, Any] | None) -> "Calibration":
        """From a ``model.json`` ``calibration`` entry (absent: :data:`NONE`); raises ValueError."""
        if not entry:
            return NONE
        t, lo, margin = (float(entry.get(k, d)) for k, d in (("temperature", 1.0), ("min_probability", 0.0),
                                                              ("min_margin", 0.0)))
        if not (math.isfinite(t) and t > 0 and 0 <= lo <= 1 and 0 <= margin <= 1):
            raise ValueError(f"calibration {dict(entry)}: temperature must be > 0, thresholds in [0, 1]")
        return cls(t, lo, margin, bool(entry.get("fitted", True)), dict(entry.get("fit", {})))

    def describe(self) -> str:
        """One line for people: calibrated or not, and when the answer is "not sure"."""
        if not self.fitted:
            return "probabilities not calibrated (no temperature fitted); never answers \"not sure\""
        on = self.fit.get("on", "validation speakers")
        rules = ([f"the top probability is under {self.min_probability:g}"] if self.min_probability > 0 else []) + \
            ([f"its lead over the second is under {self.min_margin:g}"] if self.min_margin > 0 else [])
        return (f"probabilities calibrated (temperature {self.temperature:.3g}, fitted on {on}, "
                f"{self.fit.get('samples', '?')} recordings); "
                + (f"\"not sure\" when {' or '.join(rules)}" if rules else "never answers \"not sure\""))


NONE = Calibration()


def fit_temperature(probs: np.ndarray, labels: np.ndarray) -> float:
    """The T in :data:`T_RANGE` minimising the NLL of ``scale(probs, T)`` (golden-section search on log T;
    the NLL is unimodal in T)."""
    lo, hi = math.log(T_RANGE[0]), math.log(T_RANGE[1])
    ratio = (math.sqrt(5) - 1) / 2

    def loss(log_t: float) -> float:
        return nll(scale(probs, math.exp(log_t)), labels)
    a, b = hi - ratio * (hi - lo), lo + ratio * (hi - lo)
    fa, fb = loss(a), loss(b)
    for _ in range(60):
        if fa < fb:
            hi, b, fb = b, a, fa
            a = hi - ratio * (hi - lo)
            fa = loss(a)
        else:
            lo, a, fa = a, b, fb
            b = lo + ratio * (hi - lo)
            fb = loss(b)
    return float(round(math.exp((lo + hi) / 2), 4))


def choose_thresholds(probs: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """``(min_probability, min_margin)`` on calibrated validation probabilities (rule in the module doc)."""
    best, fallback = None, None
    for lo in PROBABILITY_GRID:
        for margin in MARGIN_GRID:
            share, acc = coverage(probs, labels, lo, margin)
            if math.isnan(acc) or share < MIN_COVERAGE:
                continue
            if acc >= TARGET_ACCURACY and (best is None or (share, acc) > best[:2]):
                best = (share, acc, float(lo), float(margin))
            if fallback is None or (acc, share) > fallback[:2]:
                fallback = (acc, share, float(lo), float(margin))
    chosen = best or fallback
    return (chosen[2], chosen[3]) if chosen else (0.0, 0.0)


def fit(probs: np.ndarray, labels: np.ndarray) -> Calibration:
    """The calibration of a model from its validation recordings' probabilities and labels (:data:`NONE`
    when there are none)."""
    probs, labels = np.asarray(probs, np.float64), np.asarray(labels)
    if len(labels) == 0:
        return NONE
    t = fit_temperature(probs, labels)
    calibrated = scale(probs, t)
    lo, margin = choose_thresholds(calibrated, labels)
    share, acc = coverage(calibrated, labels, lo, margin)
    return Calibration(t, lo, margin, True, {
        "on": "validation speakers", "samples": int(len(labels)),
        "nll_before": round(nll(probs, labels), 6), "nll_after": round(nll(calibrated, labels), 6),
        "ece_before": round(ece(probs, labels), 6), "ece_after": round(ece(calibrated, labels), 6),
        "target_accuracy": TARGET_ACCURACY, "answered": round(share, 6),
        "accuracy_answered": None if math.isnan(acc) else round(acc, 6)})
