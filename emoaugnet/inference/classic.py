"""The classic tool beside the speaker-adapted network: eGeMAPS functionals and a calibrated RBF SVM, as ONNX.

A folder ``classic/`` (:data:`FOLDER`) inside a speaker-adapted model's folder (the shipped model's
``speaker/``) holds ``classic.onnx`` and ``classic.json`` (:data:`ONNX_FILE`, :data:`CONFIG_FILE`), written
by :mod:`emoaugnet.evaluation.baseline_export` (``dvc repro baseline_export@all``) and put there by
``emoaugnet release --classic``. When a speaker's recordings are given (``predict --speaker-norm``, the
API's ``speaker=``), each recording's answer is then the average ``w * network + (1 - w) * SVM`` of the
network's probabilities (the mean over its windows) and the SVM's for the whole recording, ``w`` the
``fusion_weight`` it was exported with (``baseline.fusion_weight``): late fusion, measured by
tools/fusion_cv.py (docs/evaluation.md). The SVM reads the recording's 88 eGeMAPS functionals (openSMILE,
:func:`emoaugnet.store.egemaps.compute_each`, in a process of its own) standardised by the speaker's
own: the mean and sd of each functional over the speaker's readable recordings (as the network takes its
statistics from them). The averaged answer's "not sure" rule is ``classic.json``'s ``calibration``, fitted on
averaged cross-validation predictions (tools/calibration_report.py ``--write``); uncalibrated without one.
The windows' probabilities and segments stay the network's.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from emoaugnet.data import audio
from emoaugnet.model import speaker_norm
from emoaugnet.model.calibration import NONE, Calibration

FOLDER = "classic"
CONFIG_FILE = "classic.json"
ONNX_FILE = "classic.onnx"
FORMAT = 1
KIND = "egemaps-svm"


class ClassicError(ValueError):
    """A classic part that cannot be loaded or does not fit the network beside it."""


def has_classic(model_folder: str | Path) -> bool:
    """Whether ``model_folder`` holds a classic part (its ``classic/classic.json``)."""
    return (Path(model_folder) / FOLDER / CONFIG_FILE).is_file()


@dataclass
class ClassicModel:
    folder: Path
    config: dict[str, Any]
    session: Any                       # onnxruntime.InferenceSession
    calibration: Calibration

    @property
    def classes(self) -> tuple[str, ...]:
        return tuple(self.config["classes"])

    @property
    def weight(self) -> float:
        return float(self.config["fusion_weight"])

    @property
    def sample_rate(self) -> int:
        return int(self.config["sample_rate"])

    def probabilities(self, values: np.ndarray) -> np.ndarray:
        """``(n, classes)`` probabilities of ``(n, 88)`` standardised functionals, columns in class order."""
        name = self.session.get_inputs()[0].name
        got = self.session.run(None, {name: np.asarray(values, np.float32)})[1]
        out = np.zeros((len(values), len(self.classes)), np.float64)
        out[:, self.config["class_index"]] = got
        return out


def load(folder: str | Path) -> ClassicModel:
    """The classic part in ``folder`` (``classic.json`` and ``classic.onnx``), or :class:`ClassicError`."""
    import onnxruntime
    folder = Path(folder)
    try:
        config = json.loads((folder / CONFIG_FILE).read_text())
        keys = ("format", "kind", "classes", "class_index", "sample_rate", "fusion_weight", "num_functionals")
        missing = [k for k in keys if k not in config]
    except (OSError, ValueError) as exc:
        raise ClassicError(f"{folder / CONFIG_FILE}: cannot read it ({exc})") from None
    if missing:
        raise ClassicError(f"{folder / CONFIG_FILE}: not a classic part (no {', '.join(missing)})")
    if (config["format"], config["kind"]) != (FORMAT, KIND):
        raise ClassicError(f"{folder / CONFIG_FILE}: format {config['format']}, kind {config['kind']}; this "
                           f"version reads format {FORMAT}, kind {KIND}")
    try:
        session = onnxruntime.InferenceSession(str(folder / ONNX_FILE), providers=["CPUExecutionProvider"])
    except Exception as exc:     # onnxruntime raises its own types for a missing or damaged file
        raise ClassicError(f"{folder / ONNX_FILE}: cannot load it ({type(exc).__name__}: {exc})") from None
    entry = config.get("calibration")
    return ClassicModel(folder, config, session, Calibration.from_config(entry) if entry else NONE)


def check(model: ClassicModel, network: Any) -> None:
    """Refuse a classic part whose classes or sample rate differ from the network's beside it."""
    if model.classes != tuple(network.classes):
        raise ClassicError(f"{model.folder}: classes {list(model.classes)}, the network's {list(network.classes)}")
    if model.sample_rate != network.audio_params.sample_rate:
        raise ClassicError(f"{model.folder}: functionals at {model.sample_rate} Hz, the network reads "
                           f"{network.audio_params.sample_rate} Hz")


@dataclass
class Partner:
    """The classic part bound to one speaker's statistics: :meth:`fuse` gives a recording's averaged answer."""
    model: ClassicModel
    mean: np.ndarray
    std: np.ndarray
    speaker_recordings: int

    @property
    def calibration(self) -> Calibration:
        return self.model.calibration

    def recording_probabilities(self, sources: Sequence[Any]) -> list[np.ndarray | str]:
        """Each source's SVM probabilities (a file path, an :class:`emoaugnet.data.audio.Buffer`, or a mono
        signal at the part's rate), or why its functionals could not be computed."""
        items: list[Any] = []
        unread: dict[int, str] = {}      # a Buffer's bytes are decoded here (the openSMILE process may be another)
        for i, s in enumerate(sources):
            try:
                items.append(s if isinstance(s, (str, Path, np.ndarray)) else audio.read(s, self.model.sample_rate))
            except (audio.AudioError, OSError, ValueError) as exc:
                items.append(None)
                unread[i] = f"cannot read ({exc})"
        computed = iter(compute_each([x for i, x in enumerate(items) if i not in unread], self.model.sample_rate))
        out: list[np.ndarray | str] = []
        for r in (unread[i] if i in unread else next(computed) for i in range(len(items))):
            if isinstance(r, str):
                out.append(r)
            elif isinstance(r, tuple):
                out.append(f"eGeMAPS functionals: {r[1]}")
            else:
                z = speaker_norm.apply(r[None, None, :], self.mean, self.std)[:, 0, :]
                out.append(self.model.probabilities(z)[0])
        return out

    def fuse(self, network: np.ndarray, svm: np.ndarray | str) -> tuple[np.ndarray, str]:
        """The averaged probabilities and how they were combined (the network's alone when ``svm`` is a reason)."""
        if isinstance(svm, str):
            return network, f"; the eGeMAPS + SVM could not judge it ({svm}): the network's alone"
        w = self.model.weight
        fused = w * np.asarray(network, np.float64) + (1 - w) * svm
        return self.calibration.apply(fused[None, :])[0], (
            f", averaged with the eGeMAPS + SVM's ({w:g} x network + {1 - w:g} x SVM; the speaker's statistics "
            f"from {self.speaker_recordings} recordings)")


def compute_each(items: Sequence[Any], sample_rate: int) -> list[np.ndarray | tuple[str, str]]:
    from emoaugnet.store.egemaps import compute_each as compute     # openSMILE, in a process of its own
    return compute(items, sample_rate)


def partner(folder: str | Path, network: Any, speaker_files: Sequence[str]) -> Partner:
    """The classic part in ``folder`` checked against ``network`` and bound to the speaker whose recordings
    are ``speaker_files`` (unreadable ones skipped, as the network's statistics skip them)."""
    model = load(folder)
    check(model, network)
    values = [r for r in compute_each(list(speaker_files), model.sample_rate) if not isinstance(r, tuple)]
    if not values:
        raise ClassicError(f"no recording of the speaker gave eGeMAPS functionals: "
                           f"{', '.join(list(speaker_files)[:3])}" + (" ..." if len(speaker_files) > 3 else ""))
    mean, std = speaker_norm.statistics(np.stack(values)[:, None, :])
    return Partner(model, mean, std, len(values))
