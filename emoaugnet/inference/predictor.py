"""Classify recordings with a trained model bundle: windows, silence, batching, one result per file.

(This module is long because the window rule, the readers that apply it to files and arrays, the
batching and the result records are one contract; splitting them would scatter it.)

Nothing about the features is re-typed here: the sample rate, analysis window, feature parameters,
scaler and classes all come from the model bundle (:func:`emoaugnet.model.bundle.load`), and the audio goes
through the same :func:`emoaugnet.data.audio.read` and the model's ``extract`` (:func:`emoaugnet.store.features.extract`
as training for a Keras bundle; its numpy twin for an exported ONNX model, :mod:`emoaugnet.inference.onnx_model`).

Windows (``window`` = the model's ``audio.duration``, 2.5 s; ``offset`` = ``audio.offset``, 0.6 s;
``hop`` = :attr:`PredictParams.hop`, half the window by default), for a recording of ``D`` seconds:

* ``D <= window``: one window, the whole recording from 0 s, zero-padded (too short for the offset);
* ``window < D <= offset + window + hop`` (4.35 s; all RAVDESS utterances but the longest 4 %): one
  window, exactly the training clip (``window`` s from ``offset``, zero-padded), so a corpus file gets
  the probabilities evaluate computed for it;
* longer: the training clip, then further windows every ``hop`` s until one reaches the end of the
  recording (the last one zero-padded). The first ``offset`` s are skipped, as in training. Such a
  recording is decoded whole (88 kB per second at 22,050 Hz) and its windows classified together.

A window whose RMS (over its real samples, not the padding) is below :attr:`PredictParams.silence_rms`
is reported as silent and not classified. The probabilities are the model's calibrated ones (its
temperature applied: :mod:`emoaugnet.model.calibration`); the file's are the mean of its non-silent
windows' (averaged with a classic part's for a speaker's recordings, :mod:`emoaugnet.inference.classic`). When the model is not sure of that mean (its top probability or lead under the thresholds the
model carries), the file gets ``"result": "uncertain"``, ``"emotion": null`` and its two leading
``candidates``; ``answer`` says the result in words either way. ``segments`` are the recording's runs of
windows (:mod:`emoaugnet.inference.segments`). A file whose windows are all silent gets
``"result": "silence"`` and no emotion. A file that cannot be read gets
``{"path": ..., "result": "error", "error": ...}``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

import numpy as np

from emoaugnet.data import audio
from emoaugnet.data.truncation import truncation
from emoaugnet.inference import segments as segments_mod
from emoaugnet.model import normalisation
from emoaugnet.model.calibration import NONE as UNCALIBRATED, Calibration
from emoaugnet.params import AudioParams

#: Extensions collected from folders: those decoded (libsndfile, or FFmpeg through PyAV; emoaugnet.data.audio).
AUDIO_EXTENSIONS = audio.EXTENSIONS
#: Windows per feature-extraction / model call; windows of several files share one call.
BATCH_WINDOWS = 64
DECIMALS = 6


#: Seconds of audio under which a recording gets ``"result": "too_short"`` instead of an emotion (default of
#: :attr:`PredictParams.min_duration`). 0.5 s is a fifth of the model's 2.5 s window (about 21 of its
#: 108 feature frames; the rest is zero padding): a syllable or two. The training corpora's shortest
#: utterances are over a second long, so the model never learnt from less, and its answer for a 1 ms
#: click was as confident as for speech.
MIN_DURATION = 0.5
#: Smallest ``hop`` accepted (s). Each second of audio is analysed ``window / hop`` times over (25 at
#: 0.1 s for the 2.5 s window), and the windows of a file are scored together: a finer hop multiplies time
#: and memory without showing more (the timeline is already smoother than the model's 2.5 s view). The
#: largest is the model's window: a longer hop would leave audio between windows unclassified.
MIN_HOP = 0.1


@dataclass(frozen=True)
class PredictParams:
    """How recordings are cut and screened: ``hop`` seconds between windows (``None``: half the model's
    window), the RMS under which a window counts as silence, and the seconds of audio under which a
    recording is too short to classify. Checked when made (:class:`ValueError` naming value and range);
    :meth:`check` adds the model's window (the largest hop)."""
    hop: float | None = None
    silence_rms: float = 0.001
    min_duration: float = MIN_DURATION

    def __post_init__(self) -> None:
        self.check()

    def check(self, window: float | None = None) -> None:
        """Refuse settings outside their range (``window``: the model's window, the largest hop)."""
        top = f"the model's window ({window:g} s)" if window else "the model's window"
        if self.hop is not None and not (_number(self.hop) and MIN_HOP <= self.hop <= (window or math.inf)):
            raise ValueError(f"hop must be > 0: a number of seconds from {MIN_HOP} to {top}; got {self.hop!r}")
        if not (_number(self.silence_rms) and 0 <= self.silence_rms <= 1):
            raise ValueError(f"silence_rms must be >= 0: an RMS level from 0 to 1; got {self.silence_rms!r}")
        if not (_number(self.min_duration) and 0 <= self.min_duration <= (window or math.inf)):
            raise ValueError(f"min_duration must be a number of seconds from 0 to {top}; got {self.min_duration!r}")

    def hop_for(self, window: float) -> float:
        return window / 2 if self.hop is None else self.hop


def _number(value: Any) -> bool:
    """A finite real number (not a bool, not a string)."""
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool) \
        and math.isfinite(value)


# --- Windows ----------------------------------------------------------------------------------------

def window_starts(duration: float, offset: float, window: float, hop: float) -> list[float]:
    """Start times (s) of the analysis windows of a ``duration``-second recording (rule in the module doc)."""
    if duration <= window or offset >= duration:
        return [0.0]
    starts = [offset]
    if duration <= offset + window + hop:
        return starts
    while starts[-1] + window < duration:
        starts.append(offset + len(starts) * hop)
    return starts


@dataclass
class Window:
    start: float          # seconds from the start of the recording
    end: float            # start + seconds of real audio in the window (excluding padding)
    samples: np.ndarray   # (num_samples,) float32, zero-padded
    rms: float
    silent: bool


@dataclass
class Recording:
    path: str
    duration: float
    sample_rate: int
    channels: int
    windows: list[Window]
    warning: str | None = None
    source: Any = None      # what it was read from (a path, a Buffer, the mono signal): the classic part reads it


def rms(y: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(y, dtype=np.float64)))) if len(y) else 0.0


def read_windows(path: audio.Source, ap: AudioParams, pp: PredictParams) -> Recording:
    """Decode ``path`` (a file, or its bytes in an :class:`emoaugnet.data.audio.Buffer`) and cut it into
    analysis windows; raises :class:`emoaugnet.data.audio.AudioError`."""
    header = audio.info(path)
    if header.samplerate <= 0 or header.frames <= 0:
        raise audio.AudioError(path, f"no audio samples ({header.frames} frames at {header.samplerate} Hz)")
    duration = header.frames / header.samplerate
    sr, n = ap.sample_rate, ap.num_samples
    starts = window_starts(duration, ap.offset, ap.duration, pp.hop_for(ap.duration))
    pieces: list[tuple[float, np.ndarray]] = []
    if ap.window == "voiced":       # audio.window: voiced: placed from the voice, as augment placed them
        pieces = audio.voiced_windows(audio.read(path, sr), ap, pp.hop_for(ap.duration))
    elif duration <= ap.duration or ap.offset >= duration:     # too short for the offset: all of it
        pieces.append((0.0, audio.read(path, sr)[:n]))
    else:
        # The first window is read exactly as training read its clip (same offset/duration read).
        pieces.append((starts[0], audio.read(path, sr, ap.offset, ap.duration)))
        if len(starts) > 1:
            pieces += _slices(audio.read(path, sr), starts[1:], sr, n)
    cut = truncation(header)            # the same check and wording as the augment report
    return Recording(str(path), duration, int(header.samplerate), int(header.channels), _windows(pieces, ap, pp),
                     cut.message("classified") if cut else None, path)


def array_windows(samples: np.ndarray, rate: int, ap: AudioParams, pp: PredictParams,
                  name: str = "<array>") -> Recording:
    """:func:`read_windows` for audio already in memory: ``(samples,)`` or ``(samples, channels)`` at
    ``rate`` Hz, averaged to mono and resampled like a file; raises :class:`emoaugnet.data.audio.AudioError`."""
    data = np.asarray(samples)
    if data.ndim not in (1, 2) or data.size == 0 or rate <= 0:
        raise audio.AudioError(name, f"expected (samples,) or (samples, channels) audio at a rate > 0; "
                                     f"got shape {data.shape} at {rate} Hz")
    duration = len(data) / rate
    y = audio.to_mono(name, data, int(rate), ap.sample_rate)
    starts = window_starts(duration, ap.offset, ap.duration, pp.hop_for(ap.duration))
    if duration <= ap.duration or ap.offset >= duration:
        starts = [0.0]
    pieces = (audio.voiced_windows(y, ap, pp.hop_for(ap.duration)) if ap.window == "voiced"
              else _slices(y, starts, ap.sample_rate, ap.num_samples))
    return Recording(name, duration, int(rate), 1 if data.ndim == 1 else int(data.shape[1]), _windows(pieces, ap, pp),
                     source=y)


def _slices(y: np.ndarray, starts: Sequence[float], sr: int, n: int) -> list[tuple[float, np.ndarray]]:
    out = []
    for start in starts:
        begin = int(round(start * sr))
        if begin < len(y):
            out.append((start, y[begin:begin + n]))
    return out


def _windows(pieces: list[tuple[float, np.ndarray]], ap: AudioParams, pp: PredictParams) -> list[Window]:
    windows = []
    for start, y in pieces:
        level = rms(y)
        windows.append(Window(start=start, end=start + len(y) / ap.sample_rate,
                              samples=audio.fit_length(y, ap.num_samples, ap.pad), rms=level, silent=level < pp.silence_rms))
    return windows



# --- Finding files ------------------------------------------------------------------------------------

def expand(paths: Iterable[str | Path]) -> list[tuple[str, str | None]]:
    """``(path, error)`` per input: files as given, folders walked recursively (sorted) for audio files,
    following folder links as the download stage does (each real folder once, so a link loop ends)."""
    from emoaugnet.data.corpora import walk_files
    out: list[tuple[str, str | None]] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = sorted(p for p in walk_files(path) if p.suffix.lower() in AUDIO_EXTENSIONS)
            if not found:
                out.append((str(path), f"folder holds no audio files ({', '.join(sorted(AUDIO_EXTENSIONS))})"))
            out.extend((str(p), None) for p in found)
        else:
            out.append((str(path), None))   # a missing file is reported by audio.info when read
    return out


# --- Classification -------------------------------------------------------------------------------------

def _probs(classes: Sequence[str], p: np.ndarray) -> dict[str, float]:
    return {c: round(float(v), DECIMALS) for c, v in zip(classes, p)}


def error_result(path: str, reason: str) -> dict[str, Any]:
    return {"path": path, "result": "error", "emotion": None, "error": reason}


def too_short(rec: Recording, pp: PredictParams) -> bool:
    return rec.duration < pp.min_duration


def answer(result: dict[str, Any]) -> str:
    """The result in words: ``sad``, ``not sure: sad or disgust``, ``silence``, ``too short``, ``error``."""
    if result["result"] == "uncertain":
        return "not sure: " + " or ".join(c["emotion"] for c in result["candidates"])
    return result["result"].replace("_", " ")


def file_result(rec: Recording, probs: list[np.ndarray | None], classes: Sequence[str],
                pp: PredictParams, calibration: Calibration = UNCALIBRATED, partner: Any = None,
                fused: tuple[np.ndarray | str, list[np.ndarray]] | None = None) -> dict[str, Any]:
    """The JSON object of one recording from its windows' probabilities (``None`` for a silent window or
    a recording too short to classify), answered by ``calibration``'s rule; with a ``partner``
    (:class:`emoaugnet.inference.classic.Partner`) and ``fused`` (its answer for the recording, or why it
    has none, and the network's uncalibrated probabilities of the voiced windows), the average of the two,
    answered by the partner's rule."""
    segment_calibration = calibration
    silence_rms = pp.silence_rms
    voiced = [p for p in probs if p is not None]
    windows = []
    for w, p in zip(rec.windows, probs):
        item: dict[str, Any] = {"start_s": round(w.start, 3), "end_s": round(w.end, 3),
                                "rms": round(w.rms, DECIMALS), "silent": w.silent}
        if p is not None:
            item["emotion"] = classes[int(np.argmax(p))]
            item["probabilities"] = _probs(classes, p)
        windows.append(item)
    out: dict[str, Any] = {"path": rec.path}
    if voiced:
        mean = np.mean(np.stack(voiced).astype(np.float64), axis=0)
        note = ""
        if partner is not None and fused is not None:
            svm, raw = fused
            averaged, note = partner.fuse(np.mean(np.stack(raw).astype(np.float64), axis=0), svm)
            if not isinstance(svm, str):
                mean, calibration = averaged, partner.calibration
        emotion, candidates = calibration.verdict(mean, classes)
        out.update(result=emotion or "uncertain", emotion=emotion, probabilities=_probs(classes, mean),
                   uncertain=emotion is None)
        if candidates:
            out["candidates"] = candidates
        skipped = len(probs) - len(voiced)
        out["combined"] = ("single window" if len(probs) == 1 else
                           f"mean of {len(voiced)} non-silent windows' probabilities"
                           + (f" ({skipped} silent skipped)" if skipped else "")) + note
    elif too_short(rec, pp):
        out.update(result="too_short", emotion=None, probabilities=None,
                   combined=f"{rec.duration:.3f} s of audio, less than the {pp.min_duration:g} s needed to "
                            f"classify (min_duration, --min-duration)")
    else:
        out.update(result="silence", emotion=None, probabilities=None,
                   combined=("the only window is" if len(probs) == 1 else f"all {len(probs)} windows are")
                   + f" silent (RMS < {silence_rms})")
    out["answer"] = answer(out)
    out["calibrated"] = calibration.fitted
    if rec.warning:
        out["warning"] = rec.warning
    out.update(duration_s=round(rec.duration, 3), sample_rate=rec.sample_rate, channels=rec.channels,
               windows=windows,
               segments=[] if too_short(rec, pp) else segments_mod.segments(rec.windows, probs, classes,
                                                                           segment_calibration))
    return out


class Predictor:
    """A bundle, predict params, a speaker's stats (model.speaker_norm); :meth:`classify`: a result per file.
    Refuses params outside their range and a model whose speaker-normalisation rule is not met
    (:func:`emoaugnet.model.normalisation.check_group_stats`) before any file is read."""

    def __init__(self, bundle: Any, pp: PredictParams, batch_windows: int = BATCH_WINDOWS,
                 speaker_stats: tuple[np.ndarray, np.ndarray] | None = None, partner: Any = None):
        self.bundle, self.pp, self.batch_windows, self.speaker_stats = bundle, pp, batch_windows, speaker_stats
        self.partner = partner      # the classic part bound to the speaker (emoaugnet.inference.classic.Partner)
        ap, fp = bundle.audio_params, bundle.feature_params
        pp.check(ap.duration)
        normalisation.check_group_stats(bundle, given=speaker_stats is not None)
        if fp.num_frames(ap.num_samples) != bundle.num_frames or fp.num_channels != bundle.num_channels:
            raise ValueError(f"model bundle is inconsistent: its feature params give "
                             f"{fp.num_frames(ap.num_samples)} x {fp.num_channels} features per window, "
                             f"its model expects {bundle.num_frames} x {bundle.num_channels}")

    def window_probabilities(self, clips: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(n, classes)`` calibrated probabilities for ``(n, num_samples)`` windows, :attr:`batch_windows` at a
        time, and the network's uncalibrated ones (what a classic part averages with)."""
        from emoaugnet.inference.ensemble import scored
        calibrated, raw = [], []
        for i in range(0, len(clips), self.batch_windows):
            frames = self.bundle.extract(clips[i:i + self.batch_windows])
            frames = normalisation.for_predict(frames, self.bundle.model_params.normalisation, self.speaker_stats)
            both = scored(self.bundle, frames, self.batch_windows)
            calibrated.append(both[0])
            raw.append(both[1])
        if not calibrated:
            return (np.zeros((0, len(self.bundle.classes)), np.float32),) * 2
        return np.concatenate(calibrated).astype(np.float32), np.concatenate(raw).astype(np.float32)

    def read(self, path: audio.Source) -> Recording | str:
        """``path``'s windows (:func:`read_windows`), or the reason it gives none: the text of its error
        record, for a file (or bytes) that does not decode or cannot be read."""
        try:
            return read_windows(path, self.bundle.audio_params, self.pp)
        except audio.AudioError as exc:
            return exc.reason
        except (OSError, ValueError, MemoryError) as exc:
            return f"cannot read ({type(exc).__name__}: {exc})"

    def classify_recording(self, rec: Recording) -> dict[str, Any]:
        """The result of one recording already cut into windows (e.g. :func:`array_windows`)."""
        return next(self._flush([(rec.path, rec)]))

    def _flush(self, pending: list[tuple[str, Recording | str]]) -> Iterator[dict[str, Any]]:
        scored = [rec for _, rec in pending if isinstance(rec, Recording) and not too_short(rec, self.pp)]
        voiced = [w.samples for rec in scored for w in rec.windows if not w.silent]
        calibrated, raw = self.window_probabilities(np.stack(voiced)) if voiced else ((), ())
        probs, raws = iter(calibrated), iter(raw)
        heard = [rec for rec in scored if any(not w.silent for w in rec.windows)]
        svm = dict(zip(map(id, heard), self.partner.recording_probabilities([r.source for r in heard],
                                                                            [r.duration for r in heard])
                       if self.partner is not None and heard else ()))
        for path, rec in pending:
            if isinstance(rec, str):
                yield error_result(path, rec)
                continue
            skip = too_short(rec, self.pp)
            own = [None if w.silent or skip else (next(probs), next(raws)) for w in rec.windows]
            fused = None if id(rec) not in svm else (svm[id(rec)], [o[1] for o in own if o is not None])
            yield file_result(rec, [None if o is None else o[0] for o in own], self.bundle.classes, self.pp,
                              self.bundle.calibration, self.partner, fused)
        pending.clear()

    def classify(self, items: Iterable[tuple[str, str | None]]) -> Iterator[dict[str, Any]]:
        """Results in input order for ``(path, error)`` items (see :func:`expand`); windows of several
        files are classified together, :attr:`batch_windows` at a time."""
        pending: list[tuple[str, Recording | str]] = []
        queued = 0
        for path, error in items:
            if error is None:
                rec: Recording | str = self.read(path)
                if isinstance(rec, Recording):
                    queued += 0 if too_short(rec, self.pp) else sum(not w.silent for w in rec.windows)
            else:
                rec = error
            pending.append((path, rec))
            if queued >= self.batch_windows:
                yield from self._flush(pending)
                queued = 0
        yield from self._flush(pending)


# --- Output ---------------------------------------------------------------------------------------------

def csv_header(classes: Sequence[str]) -> list[str]:
    return ["path", "result", "emotion", *[f"p_{c}" for c in classes], "windows", "silent_windows",
            "duration_s", "error", "warning"]


def csv_row(result: dict[str, Any], classes: Sequence[str]) -> list[Any]:
    probs = result.get("probabilities") or {}
    windows = result.get("windows", [])
    return [result["path"], result["result"], result.get("emotion") or "",
            *[probs.get(c, "") for c in classes], len(windows), sum(w["silent"] for w in windows),
            result.get("duration_s", ""), result.get("error", ""), result.get("warning", "")]
