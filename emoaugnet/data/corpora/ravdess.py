"""RAVDESS speech (Audio_Speech_Actors_01-24): file names carry every label.

``03-01-EE-II-SS-RR-AA.wav``: modality 03 (audio only), vocal channel 01 (speech), emotion EE,
intensity, statement, repetition, actor AA (odd male, even female). Speaker id = actor number
without padding ("17"); the output layout is the archive's ``Actor_NN/<file>``.
"""

from __future__ import annotations

import re
from pathlib import Path

from emoaugnet.data.corpora.sources import Scan, SourceFile, walk

NAME = "ravdess"
HOW_TO_GET = ("Set `corpora.ravdess.source` in params.yaml to the official archive URL (Zenodo record "
              "1188976), a local .zip of it, or a folder with Actor_NN/ subfolders")
LINK_LOCAL = False
EMOTIONS = {"01": "neutral", "02": "calm", "03": "happy", "04": "sad",
            "05": "angry", "06": "fearful", "07": "disgust", "08": "surprised"}
_NAME = re.compile(r"^(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)$")


def parse_name(stem: str) -> tuple[int, str]:
    """(actor, emotion) from an official file stem; ``ValueError`` says what is wrong."""
    m = _NAME.match(stem)
    if not m:
        raise ValueError("not a RAVDESS file name (03-01-EE-II-SS-RR-AA)")
    modality, channel, emotion, _, _, _, actor = m.groups()
    if (modality, channel) != ("03", "01"):
        raise ValueError(f"not audio-only speech (modality {modality}, vocal channel {channel})")
    if emotion not in EMOTIONS:
        raise ValueError(f"unknown emotion code {emotion}")
    if not 1 <= int(actor) <= 24:
        raise ValueError(f"actor {actor} out of range 01-24")
    return int(actor), EMOTIONS[emotion]


def parse(path: Path) -> SourceFile:
    actor, emotion = parse_name(path.stem)
    return SourceFile(utterance=path.stem, source=path, dest=f"Actor_{actor:02d}/{path.name}",
                      speaker=str(actor), gender="M" if actor % 2 else "F", emotion=emotion)


def scan(folder: str | Path) -> Scan:
    """Every speech utterance under ``folder`` (any depth, .wav or .flac); the rest is listed as ignored."""
    return walk(folder, parse, expected="RAVDESS speech files (Actor_NN/03-01-*.wav|flac)", how_to_get=HOW_TO_GET)
