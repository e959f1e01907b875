"""CREMA-D, the Crowd-sourced Emotional Multimodal Actors Dataset: 91 actors, 12 sentences, six emotions.

Official copy: https://github.com/CheyneyComputerScience/CREMA-D (ODbL 1.0; contents under the
Database Contents License), audio in ``AudioWAV/`` stored with Git LFS: clone with ``git lfs`` (a
clone without it holds pointer files, which are reported as bad, not read). File names carry the
labels: ``1001_DFA_ANG_XX.wav`` = actor (1001-1091), sentence, emotion (ANG, DIS, FEA, HAP, NEU,
SAD: no surprise), intensity (LO, MD, HI, XX). Gender comes from the repository's
``VideoDemographics.csv`` (``ActorID,Age,Sex,...``) when it is in the source folder or the one above
(left empty otherwise). Speaker id = actor number (``1001``); output ``AudioWAV/<file>``;
``AudioMP3/`` and other files are ignored.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

from emoaugnet.data.corpora.sources import Scan, SourceFile, walk

NAME = "cremad"
LINK_LOCAL = True       # 7,442 files: hard-link a local clone rather than copy it
HOW_TO_GET = ("Clone https://github.com/CheyneyComputerScience/CREMA-D with Git LFS (`git lfs install; "
              "git clone ...`) and set `corpora.cremad.source` in params.yaml to the clone (or its AudioWAV/ "
              "folder, or a .zip of it)")
EMOTIONS = ("ANG", "DIS", "FEA", "HAP", "NEU", "SAD")
DEMOGRAPHICS = "VideoDemographics.csv"
_NAME = re.compile(r"^(\d{4})_([A-Z]{3})_([A-Z]{3})_([A-Z]{2})$")


def parse_name(stem: str) -> tuple[str, str]:
    """(actor, emotion code) of a CREMA-D file stem; ``ValueError`` says what is wrong."""
    m = _NAME.match(stem)
    if not m:
        raise ValueError("not a CREMA-D file name (1001_DFA_ANG_XX: actor, sentence, emotion, level)")
    actor, _, emotion, _ = m.groups()
    if not 1001 <= int(actor) <= 1091:
        raise ValueError(f"actor {actor} out of range 1001-1091")
    if emotion not in EMOTIONS:
        raise ValueError(f"unknown CREMA-D emotion {emotion} (one of {', '.join(EMOTIONS)})")
    return actor, emotion


def genders(folder: Path) -> dict[str, str]:
    """Actor id -> ``F`` / ``M`` from ``VideoDemographics.csv`` in ``folder`` or its parent ({} if absent)."""
    for candidate in (folder / DEMOGRAPHICS, folder.parent / DEMOGRAPHICS):
        if candidate.is_file():
            with open(candidate, newline="", encoding="utf-8-sig") as f:
                return {row["ActorID"].strip(): row["Sex"].strip()[:1].upper()
                        for row in csv.DictReader(f) if row.get("ActorID") and row.get("Sex")}
    return {}


def scan(folder: str | Path) -> Scan:
    folder = Path(folder)
    sex = genders(folder) if folder.is_dir() else {}

    def parse(path: Path) -> SourceFile:
        actor, emotion = parse_name(path.stem)
        return SourceFile(utterance=path.stem, source=path, dest=f"AudioWAV/{path.stem}{path.suffix.lower()}",
                          speaker=actor, gender=sex.get(actor, ""), emotion=emotion)

    return walk(folder, parse, expected="CREMA-D files (AudioWAV/1001_DFA_ANG_XX.wav)", how_to_get=HOW_TO_GET)
