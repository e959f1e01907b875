"""Speaker adaptation for `emoaugnet predict --speaker-norm`: one speaker's statistics from their files.

A model trained with ``model.speaker_norm`` (:mod:`emoaugnet.model.speaker_norm`) expects each speaker's features
standardised by that speaker's own per-channel mean and sd; for new recordings those come from all the
files given, taken to be one speaker's, without labels.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from emoaugnet.data import audio
from emoaugnet.inference import predictor as inference
from emoaugnet.model import normalisation, speaker_norm


def speaker_statistics(items: list[tuple[str, str | None]], bundle: Any, pp: Any,
                       used: list[str] | None = None) -> tuple[Any, Any]:
    """Per-channel mean / sd over the voiced windows of every readable file in ``items``: the statistics
    a ``model.speaker_norm`` model standardises one speaker's features by (:mod:`emoaugnet.model.speaker_norm`).
    Unreadable, too short and silent files are skipped here (``classify`` reports them); ``used`` gets the
    paths that gave statistics (the classic part takes its own from the same recordings)."""
    frames = []
    for path, error in items:
        try:
            rec = inference.read_windows(path, bundle.audio_params, pp) if error is None else None
        except (audio.AudioError, OSError, ValueError):
            rec = None
        usable = rec is not None and not inference.too_short(rec, pp)
        voiced = [w.samples for w in rec.windows if not w.silent] if usable else []
        if voiced:
            frames.append(bundle.extract(np.stack(voiced)))
            if used is not None:
                used.append(path)
    if not frames:
        raise normalisation.SpeakerNormError("no readable, voiced recording to take the speaker's statistics from "
                                         f"(--speaker-norm / speaker=): {', '.join(p for p, _ in items[:3])}"
                                         + (" ..." if len(items) > 3 else ""))
    return speaker_norm.statistics(np.concatenate(frames))
