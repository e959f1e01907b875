"""The classic tool beside the network: eGeMAPS functionals and a calibrated RBF SVM, as ONNX.

A folder ``classic/`` (:data:`FOLDER`) inside a model's folder holds ``classic.onnx`` and ``classic.json``
(:data:`ONNX_FILE`, :data:`CONFIG_FILE`), written by :mod:`emoaugnet.evaluation.baseline_export` (``dvc repro
baseline_export@all``) and put there by ``emoaugnet release --classic``. Each recording's answer is then the
average ``w * network + (1 - w) * SVM`` of the network's probabilities (the mean over its windows) and the
SVM's for the whole recording, ``w`` the ``fusion_weight`` it was exported with (``baseline.fusion_weight``):
late fusion, measured by tools/fusion_cv.py (docs/evaluation.md). The SVM reads the recording's 88 eGeMAPS
functionals (openSMILE, :func:`emoaugnet.store.egemaps.compute_each`), standardised as it was fit
(``classic.json``'s ``speaker_norm``, which also says which network it sits beside):

* **per speaker**, beside a speaker-adapted network (the shipped model's ``speaker/``): by the mean and sd of
  each functional over the speaker's recordings that gave the network its statistics (readable, long
  enough, not silent), at least :data:`MIN_RECORDINGS` of them; with fewer the network answers alone and
  ``combined`` says why;
* **globally**, beside a single-file network (the shipped model's top folder): by its training speakers'
  statistics, inside the ONNX graph; each file on its own.

Where openSMILE cannot describe a recording, the network answers alone and ``combined`` says why. The
network's side of the average is its uncalibrated output (the mean of its windows' ``predict_frames``), as
tools/fusion_cv.py averaged the cross-validation folds' predictions; the average's temperature and "not
sure" rule are ``classic.json``'s ``calibration``, fitted on those averaged folds
(tools/calibration_report.py ``--write``; uncalibrated without one). The windows' probabilities and segments
stay the network's, calibrated by its own rule.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from emoaugnet.data import audio
from emoaugnet.model import speaker_norm
from emoaugnet.model.calibration import Calibration

FOLDER = "classic"
CONFIG_FILE = "classic.json"
ONNX_FILE = "classic.onnx"
FORMAT = 1
KIND = "egemaps-svm"
#: Fewest recordings of a speaker whose functionals' mean and sd standardise theirs: from 5 the average beat
#: the member alone on the same draws, at 3 it lost (RAVDESS 5-fold CV 50.4 against 54.3%, TESS YAF 56.9
#: against 58.1%; docs/evaluation.md, tools/adaptation_curve.py --classic).
MIN_RECORDINGS = 5
#: Longest recording it judges: its functionals describe a whole recording, and it was trained on utterances
#: (RAVDESS's and EmoDB's last 1.5 to 9 s); a longer one (a conversation, a lecture) gets the network's answer.
MAX_SECONDS = 20.0


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

    @property
    def per_speaker(self) -> bool:
        """Fit on functionals standardised per speaker (beside a speaker-adapted network) or globally."""
        return bool(self.config.get("speaker_norm"))

    def __reduce__(self) -> tuple:
        """Pickled as its folder, loaded again (an onnxruntime session does not pickle): predict's workers."""
        return load, (str(self.folder),)

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
        graph = (folder / ONNX_FILE).read_bytes()
        if config.get("onnx_sha256") and hashlib.sha256(graph).hexdigest() != config["onnx_sha256"]:
            raise ValueError(f"its sha256 is not the {config['onnx_sha256']} {CONFIG_FILE} records")
        options = onnxruntime.SessionOptions()        # one row at a time: no thread pool per worker
        options.intra_op_num_threads = options.inter_op_num_threads = 1
        session = onnxruntime.InferenceSession(graph, sess_options=options, providers=["CPUExecutionProvider"])
    except Exception as exc:     # onnxruntime raises its own types for a damaged file
        raise ClassicError(f"{folder / ONNX_FILE}: cannot load it ({type(exc).__name__}: {exc})") from None
    try:
        calibration = Calibration.from_config(config.get("calibration"))     # none recorded: uncalibrated
    except ValueError as exc:
        raise ClassicError(f"{folder / CONFIG_FILE}: {exc}") from None
    return ClassicModel(folder, config, session, calibration)


def check(model: ClassicModel, classes: Sequence[str], sample_rate: int, per_speaker: bool) -> None:
    """Refuse a classic part whose classes or sample rate differ from those of the network beside it, or whose
    standardisation is not the network's kind: per speaker beside a speaker-adapted network (``per_speaker``),
    global beside a single-file one."""
    if model.classes != tuple(classes):
        raise ClassicError(f"{model.folder}: classes {list(model.classes)}, the network's {list(classes)}")
    if model.sample_rate != sample_rate:
        raise ClassicError(f"{model.folder}: functionals at {model.sample_rate} Hz, the network reads {sample_rate} Hz")
    if model.per_speaker != per_speaker:
        fit, needs = ("per speaker", "single-file") if model.per_speaker else ("globally", "speaker-adapted")
        raise ClassicError(f"{model.folder}: fit on functionals standardised {fit}; beside a {needs} network it "
                           f"needs baseline.speaker_norm: {str(per_speaker).lower()}")


@dataclass
class Partner:
    """The classic part bound to one speaker's statistics: :meth:`fuse` gives a recording's averaged answer."""
    model: ClassicModel
    mean: np.ndarray | None         # the speaker's statistics (None: a global part, standardised in its graph)
    std: np.ndarray | None
    speaker_recordings: int | None  # how many recordings gave them (None: a global part)
    reason: str | None = None       # why it cannot judge this speaker: the network answers alone
    #: The functionals of the speaker's recordings, by path, as the statistics' pass computed them: a recording
    #: both given as the speaker's and classified is described once.
    known: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def calibration(self) -> Calibration:
        return self.model.calibration

    def recording_probabilities(self, sources: Sequence[Any], durations: Sequence[float]) -> list[np.ndarray | str]:
        """Each source's SVM probabilities (a file path, an :class:`emoaugnet.data.audio.Buffer`, or a mono
        signal at the part's rate; ``durations``: their seconds), or why it has none: its functionals could
        not be computed, or it is longer than :data:`MAX_SECONDS`."""
        if self.reason is not None:
            return [self.reason] * len(sources)
        done: dict[int, Any] = {}        # functionals, or why there are none
        todo: list[tuple[int, Any]] = []     # a Buffer's bytes are decoded here (openSMILE's process may be another)
        for i, (s, seconds) in enumerate(zip(sources, durations, strict=True)):
            if seconds > MAX_SECONDS:
                done[i] = (f"{seconds:.1f} s of audio: it judges recordings up to {MAX_SECONDS:g} s, the "
                           "utterances it was trained on")
            elif isinstance(s, (str, Path)) and str(s) in self.known:
                done[i] = self.known[str(s)]
            else:
                try:
                    read = s if isinstance(s, (str, Path, np.ndarray)) else audio.read(s, self.model.sample_rate)
                    todo.append((i, read))
                except (audio.AudioError, OSError, ValueError) as exc:
                    done[i] = f"cannot read ({exc})"
        done.update(zip([i for i, _ in todo], compute_each([x for _, x in todo], self.model.sample_rate)))
        out: list[np.ndarray | str] = []
        for r in (done[i] for i in range(len(sources))):
            if isinstance(r, str):
                out.append(r)
            elif isinstance(r, tuple):
                out.append(f"eGeMAPS functionals: {r[1]}")
            else:
                z = (r[None, :] if self.mean is None else
                     speaker_norm.apply(r[None, None, :], self.mean, self.std)[:, 0, :])
                out.append(self.model.probabilities(z)[0])
        return out

    def fuse(self, network: np.ndarray, svm: np.ndarray | str) -> tuple[np.ndarray, str]:
        """The average of the network's uncalibrated probabilities and the SVM's, calibrated by the part's rule,
        and how they were combined; ``network`` alone when ``svm`` is why the SVM has no answer."""
        if isinstance(svm, str):
            return network, f"; the eGeMAPS + SVM could not judge it ({svm}): the network's alone"
        w = self.model.weight
        fused = w * np.asarray(network, np.float64) + (1 - w) * svm
        stats = ("its training speakers' statistics" if self.speaker_recordings is None else
                 f"the speaker's statistics from {self.speaker_recordings} recordings")
        return self.calibration.apply(fused[None, :])[0], (
            f", averaged with the eGeMAPS + SVM's ({w:g} x network + {1 - w:g} x SVM; {stats})")


def compute_each(items: Sequence[Any], sample_rate: int) -> list[np.ndarray | tuple[str, str]]:
    from emoaugnet.store.egemaps import compute_each as compute     # openSMILE (no h5py: the core's)
    return compute(items, sample_rate)


def partner(folder: str | Path, network: Any, speaker_files: Sequence[str] | None = None) -> Partner:
    """The classic part in ``folder`` checked against ``network``: a global part for a single file (no
    ``speaker_files``), or a per-speaker part bound to the speaker whose recordings are ``speaker_files``
    (those that gave the network its statistics); with fewer than :data:`MIN_RECORDINGS` of them described
    by openSMILE, a partner that says why it cannot judge."""
    import importlib.util
    model = load(folder)
    check(model, network.classes, network.audio_params.sample_rate, per_speaker=speaker_files is not None)
    if importlib.util.find_spec("opensmile") is None:      # found, not imported: it may run in a process of its own
        raise ClassicError(f"{model.folder}: its functionals need openSMILE, which is not installed (pip install "
                           "opensmile, part of the core install); or leave the part out (--no-classic, "
                           "classic_part=False)")
    if speaker_files is None:
        return Partner(model, None, None, None)
    results = compute_each(list(speaker_files), model.sample_rate)
    values = [r for r in results if not isinstance(r, tuple)]
    if len(values) < MIN_RECORDINGS:
        failed = [f"{path}: {why}" for path, why in (r for r in results if isinstance(r, tuple))][:2]
        return Partner(model, None, None, len(values),
                       f"it standardises by the speaker's own functionals, from at least {MIN_RECORDINGS} of their "
                       f"voiced recordings; {len(values)} gave them" + (f" ({'; '.join(failed)})" if failed else ""))
    mean, std = speaker_norm.statistics(np.stack(values)[:, None, :])
    known = {str(f): r for f, r in zip(speaker_files, results, strict=True) if not isinstance(r, tuple)}
    return Partner(model, mean, std, len(values), known=known)
