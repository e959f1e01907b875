"""FFmpeg's decoders in-process, through PyAV (its wheels bundle FFmpeg's libraries): the files libsndfile
does not read (:func:`emoaugnet.data.audio.info` tries libsndfile first), such as phone voice memos
(m4a / AAC), browser recordings (WebM / Opus), Matroska, MP4 audio and WMA.

:func:`probe` reads the header (demuxing, not decoding), :func:`decode` the samples; both raise
:class:`FFmpegError` with FFmpeg's reason (:mod:`emoaugnet.data.audio` turns it into an AudioError naming the
file), and ModuleNotFoundError without PyAV. ``av`` is imported inside them, only for such a file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np


class FFmpegError(Exception):
    """FFmpeg could not read the file; ``str()`` is the reason."""


@dataclass(frozen=True)
class FFmpegInfo:
    """The header of a file that FFmpeg reads, with the names of ``soundfile.info``'s fields that the project
    reads. ``frames``: the end of the last packet of the first audio stream (demuxed, not decoded: the
    container's own duration is often missing, as in browser recordings, or estimated from the bit rate)."""
    samplerate: int
    channels: int
    frames: int
    format: str             # the container, e.g. "mov,mp4,m4a,3gp,3g2,mj2" or "matroska,webm"
    codec: str              # e.g. "aac", "opus"
    extra_info: str = ""    # (libsndfile's log; nothing here)


def _short(exc: Exception) -> str:
    """FFmpeg's reason without the errno and the path (the error names the file once, in front)."""
    reason = getattr(exc, "strerror", None)
    text = str(reason or exc).strip().splitlines()
    return text[-1] if text else type(exc).__name__


def _source(path: str | Path | BinaryIO) -> str | BinaryIO:
    return str(path) if isinstance(path, (str, Path)) else path


def probe(path: str | Path | BinaryIO) -> FFmpegInfo:
    """The first audio stream's rate, channels and length; FFmpegError when there is none or it is empty.
    ``path``: a file, or a seekable stream of its bytes."""
    import av
    try:
        with av.open(_source(path)) as container:
            if not container.streams.audio:
                kinds = sorted({s.type for s in container.streams}) or ["none"]
                raise FFmpegError(f"no audio stream (streams: {', '.join(kinds)})")
            stream = container.streams.audio[0]
            context = stream.codec_context
            if context is None:
                raise FFmpegError("no decoder for its audio codec")
            rate, channels = int(context.sample_rate or 0), int(context.channels or 0)
            end = 0
            for packet in container.demux(stream):
                if packet.pts is not None:
                    end = max(end, packet.pts + (packet.duration or 0))
            frames = int(round(float(end * stream.time_base) * rate)) if stream.time_base else 0
            if rate <= 0 or channels <= 0 or frames <= 0:
                raise FFmpegError(f"no audio samples ({context.name}, {frames} frames at {rate} Hz, "
                                  f"{channels} channels)")
            return FFmpegInfo(rate, channels, frames, container.format.name, context.name)
    except FFmpegError:
        raise
    except Exception as exc:          # av.error.FFmpegError (InvalidDataError, ...), a missing decoder
        raise FFmpegError(_short(exc)) from None


def decode(path: str | Path | BinaryIO, header: FFmpegInfo) -> np.ndarray:
    """All of the first audio stream as float32 ``(samples, channels)`` at its own rate."""
    import av
    chunks = []
    try:
        with av.open(_source(path)) as container:
            stream = container.streams.audio[0]
            resampler = av.AudioResampler(format="fltp", rate=header.samplerate)   # planar float, same rate
            for frame in container.decode(stream):
                chunks += [f.to_ndarray() for f in resampler.resample(frame)]
            chunks += [f.to_ndarray() for f in resampler.resample(None)]
    except Exception as exc:
        raise FFmpegError(f"{header.codec}: {_short(exc)}") from None
    if not chunks:
        return np.zeros((0, header.channels), np.float32)
    if len({c.shape[0] for c in chunks}) > 1:
        raise FFmpegError(f"{header.codec}: the number of channels changes within the stream")
    return np.concatenate(chunks, axis=1).T
