"""Several models as one: ``emoaugnet predict --model cv/models`` averages the cross-validation fold models.

Speaker k-fold cross-validation trains one model per fold (``cv/models/fold_0`` .. ``fold_4``), each
without one block of speakers; for a new speaker none is better placed than another, so their average is
the model to predict with. A folder with no ``model.json`` of its own whose subfolders are models (Keras
bundles or ONNX exports: ``emoaugnet export --model cv/models --out cv/export`` exports each) loads as an
:class:`Ensemble`: the features of each window are computed once and every member scores them with its
own scaler and network; the class probabilities are averaged over the members.

The members must agree on what they read and say: classes, audio and feature params, input frames and
channels, and speaker normalisation; loading names the first member that differs. Layouts and activations
may differ. Accuracy on the folds' own speakers cannot measure an ensemble honestly (each speaker is in
the training set of every other fold's model), so README reports it on speakers none of them saw.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from emoaugnet.inference import model_dir
from emoaugnet.model import bundle
from emoaugnet.model.calibration import NONE, Calibration

SHARED = ("classes", "audio_params", "feature_params", "num_frames", "num_channels")


# Which subfolders are the models a folder averages is model_dir's rule (it reads file names only).
member_dirs = model_dir.member_dirs
is_ensemble = model_dir.is_ensemble


@dataclass
class Ensemble:
    members: list[Any]              # Bundle or OnnxModel, each with extract / predict_frames
    names: list[str]

    def __getattr__(self, name: str) -> Any:
        # what the members share (classes, params, input shape) comes from the first
        if name in ("members", "names"):
            raise AttributeError(name)
        return getattr(self.members[0], name)

    def extract(self, clips: np.ndarray) -> np.ndarray:
        return self.members[0].extract(clips)

    def predict_frames(self, frames: np.ndarray, batch_size: int = 256) -> np.ndarray:
        """The members' class probabilities for ``(n, frames, channels)`` features, averaged."""
        probs = [m.predict_frames(frames, batch_size=batch_size) for m in self.members]
        return np.mean(probs, axis=0).astype(np.float32)

    def probabilities(self, frames: np.ndarray, batch_size: int = 256) -> np.ndarray:
        """The members' calibrated probabilities (each with its own temperature), averaged."""
        return scored(self, frames, batch_size)[0]

    @property
    def calibration(self) -> Calibration:
        """When the average is "not sure": the members' mean thresholds (their temperatures are already
        applied by :meth:`probabilities`); uncalibrated unless every member is calibrated."""
        cals = [m.calibration for m in self.members]
        if not all(c.fitted for c in cals):
            return NONE
        return Calibration(1.0, float(np.mean([c.min_probability for c in cals])),
                           float(np.mean([c.min_margin for c in cals])), True,
                           {"on": "each member's validation speakers (temperature per member, before averaging)",
                            "samples": sum(int(c.fit.get("samples", 0)) for c in cals)})


def scored(model: Any, frames: np.ndarray, batch_size: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """A model's (or an :class:`Ensemble`'s members' averaged) calibrated probabilities, each model's temperature
    applied to its own output, and the uncalibrated ones (what a classic part averages with), from one pass."""
    models = model.members if isinstance(model, Ensemble) else [model]
    raw = [m.predict_frames(frames, batch_size=batch_size) for m in models]
    calibrated = [m.calibration.apply(r) for m, r in zip(models, raw)]
    return np.mean(calibrated, axis=0).astype(np.float32), np.mean(raw, axis=0).astype(np.float32)


def check(members: list[Any], names: list[str]) -> None:
    """Refuse members that disagree on what they read and say (:data:`SHARED`, speaker normalisation),
    naming the first that differs."""
    first = members[0]
    for name, m in zip(names[1:], members[1:]):
        for key in SHARED:
            if getattr(m, key) != getattr(first, key):
                raise bundle.BundleError(f"{name}: its {key} ({getattr(m, key)}) differ from {names[0]}'s "
                                         f"({getattr(first, key)}); an ensemble's models must agree")
        if m.model_params.normalisation != first.model_params.normalisation:
            raise bundle.BundleError(f"{name}: model.feature_norm {m.model_params.normalisation} differs from "
                                     f"{names[0]}'s; an ensemble's models must agree")


def per_fold(members: list[Any], names: list[str]) -> Ensemble:
    """Fold models of several configurations averaged and scored on that fold's test speakers
    (``tools/cv_sweep.py ensemble``, ``tools/adaptation_curve.py``): they must agree (:func:`check`) and
    have been tested on the same test set (their ``model.json``'s ``split.test_fingerprint``)."""
    check(members, names)
    if len({m.split.get("test_fingerprint") for m in members}) != 1:
        raise bundle.BundleError(f"{', '.join(names)}: tested on different test sets; they cannot be averaged "
                                 "per fold")
    return Ensemble(members, names)


def load(directory: str | Path, load_member: Callable[[Path], Any]) -> Ensemble:
    """The models in ``directory``'s subfolders (each loaded by ``load_member``) as one :class:`Ensemble`."""
    dirs = member_dirs(directory)
    if not dirs:
        raise bundle.BundleError(f"{directory}: neither a model ({bundle.CONFIG_FILE}) nor a folder of models")
    members = [load_member(d) for d in dirs]
    check(members, [str(d) for d in dirs])
    return Ensemble(members, [d.name for d in dirs])


def load_any(directory: str | Path, load_member: Callable[[Path], Any]) -> Any:
    """``load_member(directory)``, or for a folder of models their :class:`Ensemble`."""
    return load(directory, load_member) if is_ensemble(directory) else load_member(Path(directory))
