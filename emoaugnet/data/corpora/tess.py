"""TESS, the Toronto Emotional Speech Set: two speakers, 200 target words, seven emotions.

Official copy: University of Toronto Dataverse (Borealis), doi 10.5683/SP2/E8H2MF, CC BY-NC-ND 4.0;
Dataverse serves the whole dataset as one zip. File names carry every label:
``OAF_back_angry.wav`` = speaker (``OAF``, aged 64, or ``YAF``, aged 26; both female), target word,
emotion. Redistributed copies differ: folders ``OAF_angry/`` or ``YAF_pleasant_surprised/``, the
emotion spelled ``ps``, ``pleasant_surprise`` or ``Pleasant_surprise``, 44.1 kHz float WAVs beside the
original 24,414 Hz ones, and the whole set nested twice (``TESS Toronto emotional speech set data/``
inside itself). The parser reads only the file name, so the layout does not matter; a second copy of
an utterance is listed as a duplicate, not ingested twice. Speaker id ``OAF`` / ``YAF``; utterance id
``OAF_back_ps`` (the common spelling); output ``<speaker>_<emotion>/<utterance>.wav``.
"""

from __future__ import annotations

import re
from pathlib import Path

from emoaugnet.data.corpora.sources import Scan, SourceFile, walk

NAME = "tess"
LINK_LOCAL = False
SOURCE = "https://borealisdata.ca/api/access/dataset/:persistentId/?persistentId=doi:10.5683/SP2/E8H2MF"
HOW_TO_GET = ("Set `corpora.tess.source` in params.yaml to the Dataverse zip URL (doi 10.5683/SP2/E8H2MF: "
              f"{SOURCE}), a local .zip of TESS, or a folder holding its OAF_*/YAF_* WAV files")
SPEAKERS = ("OAF", "YAF")
#: Every spelling seen in copies of TESS -> the corpus label used in ``corpora.tess.label_map``.
SPELLINGS = {
    "angry": "angry", "anger": "angry",
    "disgust": "disgust", "disgusted": "disgust",
    "fear": "fear", "fearful": "fear",
    "happy": "happy", "happiness": "happy",
    "neutral": "neutral",
    "sad": "sad", "sadness": "sad",
    "ps": "pleasant_surprise", "pleasant_surprise": "pleasant_surprise",
    "pleasant_surprised": "pleasant_surprise", "pleasantsurprise": "pleasant_surprise",
    "surprise": "pleasant_surprise", "surprised": "pleasant_surprise",
}
#: The emotion as utterance ids spell it (the redistributed copy's file names).
SHORT = {"pleasant_surprise": "ps"}
_NAME = re.compile(r"^([A-Za-z]{3})_([A-Za-z]+)_([A-Za-z_ ]+)$")


def parse_name(stem: str) -> tuple[str, str, str]:
    """(speaker, word, emotion label) of a TESS file stem; ``ValueError`` says what is wrong."""
    m = _NAME.match(stem)
    if not m:
        raise ValueError("not a TESS file name (OAF|YAF_word_emotion)")
    speaker, word, spelled = m.group(1).upper(), m.group(2).lower(), m.group(3).lower().replace(" ", "_")
    if speaker not in SPEAKERS:
        raise ValueError(f"unknown TESS speaker {m.group(1)!r} (OAF or YAF)")
    if spelled not in SPELLINGS:
        raise ValueError(f"unknown TESS emotion {m.group(3)!r}")
    return speaker, word, SPELLINGS[spelled]


def parse(path: Path) -> SourceFile:
    speaker, word, emotion = parse_name(path.stem)
    utterance = f"{speaker}_{word}_{SHORT.get(emotion, emotion)}"
    return SourceFile(utterance=utterance, source=path, dest=f"{speaker}_{emotion}/{utterance}{path.suffix.lower()}",
                      speaker=speaker, gender="F", emotion=emotion)


def scan(folder: str | Path) -> Scan:
    return walk(folder, parse, expected="TESS files (OAF_word_emotion.wav, YAF_word_emotion.wav)",
                how_to_get=HOW_TO_GET)
