"""Read any audio file as mono float32 at the analysis rate; crop and pad to the analysis window.

The one place audio enters the pipeline: download (headers), augment and predict read through here, so
training and inference see the same samples. Errors name the file and the reason.

Two decoders, in-process: libsndfile (soundfile) reads what it can (WAV, FLAC, OGG/Vorbis/Opus, MP3, AIFF,
...; every training corpus, sample for sample as before), and FFmpeg's libraries (PyAV, whose wheels bundle
them) the rest: phone voice memos (m4a / AAC), browser recordings (WebM / Opus), Matroska, MP4 audio, WMA,
... (:mod:`emoaugnet.data.ffmpeg`). A file that neither reads is refused with both reasons and how to convert it.
PyAV is imported only for such a file. A file's bytes already in memory (an upload) are read the same way
from a :class:`Buffer`, named in errors by the name it carries.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf

from emoaugnet.data import ffmpeg
from emoaugnet.params import AudioParams
from emoaugnet.errors import EmoAugNetError


#: Largest sample magnitude accepted. Integer PCM decodes to [-1, 1]; float files may overshoot a
#: little, but a value 60 dB over full scale is corrupt data, and squaring such values (energy,
#: spectra) overflows float32 to inf/NaN features.
MAX_ABS = 1000.0


#: File extensions that predict collects from folders: each one decodes (tests/test_formats.py writes a
#: file of every one and reads it back). libsndfile's: WAV (.wav .wave .w64 .rf64), FLAC, OGG (.ogg .oga
#: .opus), MP3, AIFF (.aif .aiff .aifc), AU (.au .snd), CAF; FFmpeg's (PyAV): .m4a .mp4 .aac (phones' voice
#: memos), .webm .weba (browsers' MediaRecorder), .mka (Matroska audio), .wma. A file named on its own is
#: tried whatever its extension.
EXTENSIONS = frozenset({".wav", ".wave", ".w64", ".rf64", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".aif",
                        ".aiff", ".aifc", ".au", ".snd", ".caf", ".m4a", ".mp4", ".aac", ".webm", ".weba",
                        ".mka", ".wma"})
#: What a refusal of an unreadable file suggests.
CONVERT = "convert it to WAV or FLAC, e.g. `ffmpeg -i FILE FILE.wav`"


class AudioError(EmoAugNetError, ValueError):
    """A file that cannot be used as audio; ``str()`` names the file and the reason."""

    def __init__(self, path: str | Path, reason: str):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


@dataclass(frozen=True, eq=False)
class Buffer:
    """The bytes of an audio file held in memory (an upload), read by :func:`info` and :func:`read` as the
    file would be; ``name`` (the file's name, not a path on this machine) is what errors and results call it."""
    name: str
    data: bytes = field(repr=False)

    def __str__(self) -> str:
        return self.name


Source = str | Path | Buffer


def _opened(source: Source) -> str | io.BytesIO:
    """What soundfile and PyAV open: the path, or a new stream over the buffer's bytes, named by the file's
    extension when it is one of :data:`EXTENSIONS` (FFmpeg takes it as a hint when it probes the format,
    as it does for a file). No other name reaches FFmpeg: a playlist's (``.m3u8``) would make it open the
    files and addresses the playlist lists, on the machine that decodes the bytes."""
    if not isinstance(source, Buffer):
        return str(source)
    stream = io.BytesIO(source.data)
    suffix = Path(source.name).suffix.lower()
    stream.name = f"audio{suffix}" if suffix in EXTENSIONS else "audio"
    return stream


def info(path: Source) -> sf._SoundFileInfo | ffmpeg.FFmpegInfo:
    """Header of an audio file (rate, channels, frames) without decoding it: libsndfile's, else FFmpeg's."""
    if isinstance(path, Buffer):
        size = len(path.data)
    else:
        path = Path(path)
        if not path.is_file():
            raise AudioError(path, "no such file")
        size = path.stat().st_size
    if size == 0:
        raise AudioError(path, "empty file (0 bytes)")
    try:
        return sf.info(_opened(path))
    except Exception as exc:  # libsndfile reports format problems as RuntimeError/LibsndfileError
        refused = _short(exc)
    return _ffmpeg_info(path, refused)


def _ffmpeg_info(path: Path | Buffer, refused: str) -> ffmpeg.FFmpegInfo:
    """FFmpeg's header of a file libsndfile ``refused`` (its reason); raises AudioError naming both."""
    refused = re.sub(r"^Error opening .*?: ", "", refused)      # the path (or stream) is said once, in front
    try:
        return ffmpeg.probe(_opened(path))
    except ModuleNotFoundError:          # an install without PyAV (the core install has it)
        raise AudioError(path, f"not a readable audio file (libsndfile: {refused}); {CONVERT}") from None
    except ffmpeg.FFmpegError as exc:
        raise AudioError(path, f"not a readable audio file (libsndfile: {refused}; FFmpeg: {exc}); "
                               f"{CONVERT}") from None


def read(path: Source, sample_rate: int, offset: float = 0.0,
         duration: float | None = None) -> np.ndarray:
    """Decode ``path`` to mono float32 at ``sample_rate``, from ``offset`` s, at most ``duration`` s.

    Channels are averaged; other rates are resampled with soxr (``HQ``, as ``librosa.load`` does), so
    a 22,050 Hz file gives exactly the samples ``librosa.load(path, sr=22050, offset, duration)`` gives.
    A file libsndfile does not read is decoded whole by FFmpeg (:func:`info` says which), then cut the same way.
    """
    header = info(path)
    native = header.samplerate
    if native <= 0 or header.channels <= 0:
        raise AudioError(path, f"invalid header ({native} Hz, {header.channels} channels)")
    start = int(round(offset * native))
    stop = None if duration is None else start + int(round(duration * native))
    if isinstance(header, ffmpeg.FFmpegInfo):
        try:
            data = ffmpeg.decode(_opened(path), header)
        except ffmpeg.FFmpegError as exc:
            raise AudioError(path, f"cannot decode audio ({exc})") from None
        if start >= len(data) > 0:
            raise AudioError(path, f"shorter ({len(data) / native:.3f} s) than the offset {offset} s")
        data = data[start:stop]
        if data.size == 0:
            raise AudioError(path, "no audio samples")
        return to_mono(path, data, native, sample_rate)
    try:
        with sf.SoundFile(_opened(path)) as f:
            frames = f.frames
            if start >= frames > 0:
                raise AudioError(path, f"shorter ({frames / native:.3f} s) than the offset {offset} s")
            f.seek(min(start, max(frames, 0)))
            count = -1 if stop is None else stop - start
            data = f.read(frames=count, dtype="float32", always_2d=True)
    except AudioError:
        raise
    except Exception as exc:
        raise AudioError(path, f"cannot decode audio ({_short(exc)})") from None
    if data.size == 0:
        raise AudioError(path, "no audio samples")
    return to_mono(path, data, native, sample_rate)


def to_mono(path: str | Path, data: np.ndarray, native: int, sample_rate: int) -> np.ndarray:
    """Decoded ``(samples, channels)`` (or ``(samples,)``) at ``native`` Hz -> checked mono float32 at
    ``sample_rate``; ``path`` names the source in errors."""
    data = np.asarray(data, np.float32)
    y = data.mean(axis=1, dtype=np.float32) if data.ndim == 2 and data.shape[1] > 1 else data.reshape(len(data))
    if not np.all(np.isfinite(y)):
        raise AudioError(path, "contains NaN or infinite samples")
    peak = float(np.max(np.abs(y)))
    if peak > MAX_ABS:
        raise AudioError(path, f"samples reach {peak:.3g}, far outside the [-1, 1] range of audio "
                               "(corrupt float data?)")
    if native != sample_rate:
        import soxr   # imported here: a file already at the analysis rate needs no resampler
        y = soxr.resample(y, native, sample_rate, quality="HQ").astype(np.float32, copy=False)
        if len(y) == 0:       # e.g. a header claiming a rate of a billion Hz: a few samples become none
            raise AudioError(path, f"{len(data)} samples at {native} Hz are no sample at {sample_rate} Hz")
    return np.ascontiguousarray(y, dtype=np.float32)


def fit_length(y: np.ndarray, num_samples: int, pad: str = "zeros") -> np.ndarray:
    """Crop ``y`` to ``num_samples`` or fill it up at the end (``audio.pad``): ``zeros`` (the paper's),
    ``reflect`` (the clip mirrored back and forth: continuous at each join) or ``tile`` (the clip
    repeated). The last two give the filled part the clip's own spectrum and level, so no frame of
    exact silence (ZCR 0, RMS 0, a constant MFCC vector) appears that speech never has."""
    if len(y) >= num_samples:
        return y[:num_samples]
    if pad == "zeros" or len(y) < 2:
        return np.pad(y, (0, num_samples - len(y)))
    if pad == "reflect":
        return np.pad(y, (0, num_samples - len(y)), mode="reflect")
    if pad == "tile":
        return np.resize(y, num_samples).astype(y.dtype, copy=False)
    raise ValueError(f"unknown pad mode {pad!r}; allowed: zeros, reflect, tile")


#: Frame and hop of the silence trim (librosa.effects.trim's defaults: 93 ms / 23 ms at 22,050 Hz).
TRIM_FRAME, TRIM_HOP = 2048, 512


def voiced_span(y: np.ndarray, top_db: float) -> tuple[int, int]:
    """``(start, stop)`` samples of ``y`` between the first and last frame whose RMS is within ``top_db``
    of the loudest frame's (``librosa.effects.trim``); ``(0, 0)`` for an all-zero clip."""
    if not np.any(y):
        return 0, 0
    import librosa
    _, (start, stop) = librosa.effects.trim(y, top_db=top_db, frame_length=TRIM_FRAME, hop_length=TRIM_HOP)
    return int(start), int(stop)


def voiced_windows(y: np.ndarray, ap: AudioParams, hop: float | None = None) -> list[tuple[float, np.ndarray]]:
    """``audio.window: voiced``: ``(start s, samples)`` of windows placed from the first voiced sample of
    the whole decoded recording ``y``, each cut at the last voiced sample (not padded): the first one is
    what training sees; with ``hop`` (predict), more every ``hop`` s until one reaches the voiced end."""
    start, stop = voiced_span(y, ap.top_db)
    n, sr = ap.num_samples, ap.sample_rate
    out = [(start / sr, y[start:min(stop, start + n)])]
    if hop is not None:
        step = max(int(round(hop * sr)), 1)
        begin = start
        while begin + n < stop:
            begin += step
            out.append((begin / sr, y[begin:min(stop, begin + n)]))
    return out


def clip_window(path: str | Path, ap: AudioParams) -> np.ndarray:
    """The real samples of one file's analysis window (before padding), as ``audio.window`` places it:
    ``fixed``: ``duration`` s from ``offset`` s (read as such, the paper's reading); ``voiced``: from the
    first voiced sample of the whole file, at most ``duration`` s, ending at the last voiced sample.
    The one rule of window placement: augment reads training clips through it, predict through
    :func:`voiced_windows` / the fixed reading it shares."""
    if ap.window == "fixed":
        return read(path, ap.sample_rate, ap.offset, ap.duration)
    return voiced_windows(read(path, ap.sample_rate), ap)[0][1]


def load_clip(path: str | Path, audio: AudioParams) -> np.ndarray:
    """The analysis window of one file (:func:`clip_window`), filled up to the window as ``audio.pad`` says."""
    return fit_length(clip_window(path, audio), audio.num_samples, audio.pad)


def check_usable(path: str | Path, y: np.ndarray, min_samples: int) -> None:
    """Refuse a decoded clip that carries no signal a feature could describe."""
    if len(y) < min_samples:
        raise AudioError(path, f"shorter than one analysis frame ({len(y)} < {min_samples} samples)")
    if not np.any(y):
        raise AudioError(path, "all samples are zero (silent)")


def to_int16(y: np.ndarray) -> np.ndarray:
    """Float waveform in [-1, 1) to 16-bit PCM (clipped), as stored in augmented shards.

    Uses the same 1/32768 scale as soundfile, so a 16-bit original round-trips exactly.
    """
    return np.clip(np.round(y * 32768.0), -32768, 32767).astype(np.int16)


def from_int16(pcm: np.ndarray) -> np.ndarray:
    return (pcm.astype(np.float32) / 32768.0).astype(np.float32)


def _short(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[-1] if text else type(exc).__name__
