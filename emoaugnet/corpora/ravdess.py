"""RAVDESS speech (Audio_Speech_Actors_01-24): file names carry every label.

``03-01-EE-II-SS-RR-AA.wav``: modality 03 (audio only), vocal channel 01 (speech), emotion EE,
intensity, statement, repetition, actor AA (odd male, even female). Speaker id = actor number
without padding ("17"); the output layout is the archive's ``Actor_NN/<file>``.
"""

from __future__ import annotations

import re
from pathlib import Path

from emoaugnet.corpora import CorpusError, Scan, SourceFile, through_link, walk_files

NAME = "ravdess"
HOW_TO_GET = ("set `corpora.ravdess.source` in params.yaml to the official archive URL (Zenodo record "
              "1188976), a local .zip of it, or a folder with Actor_NN/ subfolders")
LINK_LOCAL = False
EMOTIONS = {"01": "neutral", "02": "calm", "03": "happy", "04": "sad",
            "05": "angry", "06": "fearful", "07": "disgust", "08": "surprised"}
AUDIO_SUFFIXES = (".wav", ".flac")
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


def scan(folder: str | Path) -> Scan:
    """Every speech utterance under ``folder`` (any depth, .wav or .flac, folder links followed); the rest
    is listed as ignored."""
    folder = Path(folder)
    if not folder.is_dir():
        raise CorpusError(f"{folder}: not a folder; set `corpora.ravdess.source` to the archive URL, "
                          "a local .zip or a folder with Actor_NN/ subfolders")
    found = Scan()
    seen: dict[str, str] = {}
    for path in walk_files(folder):
        rel = path.relative_to(folder).as_posix()
        if path.name.startswith(".") or path.suffix.lower() not in AUDIO_SUFFIXES:
            found.ignored.append(rel)
            continue
        try:
            actor, emotion = parse_name(path.stem)
        except ValueError as exc:
            if _NAME.match(path.stem):      # a RAVDESS name of another kind (song, video) or malformed
                found.ignored.append(f"{rel} ({exc})")
            else:
                found.ignored.append(rel)
            continue
        if path.stem in seen:
            found.bad.append((rel, f"duplicate of {seen[path.stem]}"))
            continue
        seen[path.stem] = rel
        found.linked += through_link(folder, path)
        found.files.append(SourceFile(
            utterance=path.stem, source=path, dest=f"Actor_{actor:02d}/{path.name}",
            speaker=str(actor), gender="M" if actor % 2 else "F", emotion=emotion))
    if not found.files:
        raise CorpusError(f"{folder}: no RAVDESS speech files (Actor_NN/03-01-*.wav|flac) found; "
                          "check `corpora.ravdess.source`")
    return found
