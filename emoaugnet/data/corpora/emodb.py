"""EmoDB, the Berlin Database of Emotional Speech (German): ten actors, ten sentences, seven emotions.

Official copy: http://emodb.bilderbar.info/download/download.zip (Burkhardt et al. 2005; free for
research use), audio in ``wav/``; its label folders (``lablaut/``, ``silb/``, ...) are ignored. File
names carry every label: ``03a01Fa.wav`` = speaker (chars 1-2), text (3-5), emotion (6: W anger,
L boredom, E disgust, A fear, F happiness, T sadness, N neutral; German initials), version (7).
Speaker id = the two digits (``03``); output ``wav/<file>``.
"""

from __future__ import annotations

import re
from pathlib import Path

from emoaugnet.data.corpora.sources import Scan, SourceFile, walk

NAME = "emodb"
LINK_LOCAL = False
SOURCE = "http://emodb.bilderbar.info/download/download.zip"
HOW_TO_GET = (f"Set `corpora.emodb.source` in params.yaml to the official archive ({SOURCE}), a local "
              ".zip of it, or a folder holding its wav/ files (03a01Fa.wav)")
EMOTIONS = {"W": "anger", "L": "boredom", "E": "disgust", "A": "fear", "F": "happiness",
            "T": "sadness", "N": "neutral"}
#: The ten actors and their gender, from the corpus documentation.
GENDERS = {"03": "M", "08": "F", "09": "F", "10": "M", "11": "M", "12": "M", "13": "F", "14": "F",
           "15": "M", "16": "F"}
_NAME = re.compile(r"^(\d\d)([ab]\d\d)([A-Z])([a-z])$")


def parse_name(stem: str) -> tuple[str, str]:
    """(speaker, emotion label) of an EmoDB file stem; ``ValueError`` says what is wrong."""
    m = _NAME.match(stem)
    if not m:
        raise ValueError("not an EmoDB file name (03a01Fa: speaker, text, emotion, version)")
    speaker, _, code, _ = m.groups()
    if speaker not in GENDERS:
        raise ValueError(f"unknown EmoDB speaker {speaker} (one of {', '.join(GENDERS)})")
    if code not in EMOTIONS:
        raise ValueError(f"unknown EmoDB emotion code {code} (one of {''.join(EMOTIONS)})")
    return speaker, EMOTIONS[code]


def parse(path: Path) -> SourceFile:
    speaker, emotion = parse_name(path.stem)
    return SourceFile(utterance=path.stem, source=path, dest=f"wav/{path.stem}{path.suffix.lower()}",
                      speaker=speaker, gender=GENDERS[speaker], emotion=emotion)


def scan(folder: str | Path) -> Scan:
    return walk(folder, parse, expected="EmoDB files (wav/03a01Fa.wav)", how_to_get=HOW_TO_GET)
