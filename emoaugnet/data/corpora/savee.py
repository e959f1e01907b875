"""SAVEE, Surrey Audio-Visual Expressed Emotion: four male speakers (DC, JE, JK, KL), seven emotions.

Available only after registration (http://kahlan.eps.surrey.ac.uk/savee/), so the source is your local
copy (a folder or a .zip). File names carry the emotion and sentence: ``a01.wav`` in a speaker folder
(``AudioData/DC/a01.wav``, the official layout) or ``DC_a01.wav`` (redistributed copies); codes
a anger, d disgust, f fear, h happiness, n neutral, sa sadness, su surprise. Speaker id ``DC``;
utterance id ``DC_a01``; output ``<speaker>/<code><nn>.wav``.
"""

from __future__ import annotations

import re
from pathlib import Path

from emoaugnet.data.corpora.sources import Scan, SourceFile, walk

NAME = "savee"
LINK_LOCAL = False
HOW_TO_GET = ("SAVEE is distributed after registration (http://kahlan.eps.surrey.ac.uk/savee/): set "
              "`corpora.savee.source` in params.yaml to your copy (a folder with DC/a01.wav or DC_a01.wav "
              "files, or a .zip of it)")
SPEAKERS = ("DC", "JE", "JK", "KL")
_NAME = re.compile(r"^(?:([A-Za-z]{2})_)?(sa|su|a|d|f|h|n)(\d\d)$")


def parse_name(stem: str, folder: str = "") -> tuple[str, str, str]:
    """(speaker, emotion code, sentence) of ``DC_a01``, or of ``a01`` in folder ``DC``."""
    m = _NAME.match(stem)
    if not m:
        raise ValueError("not a SAVEE file name (DC_a01 or DC/a01; emotion a, d, f, h, n, sa, su)")
    speaker = (m.group(1) or folder).upper()
    if speaker not in SPEAKERS:
        raise ValueError(f"no SAVEE speaker in the name or folder ({', '.join(SPEAKERS)})")
    return speaker, m.group(2), m.group(3)


def parse(path: Path) -> SourceFile:
    speaker, code, sentence = parse_name(path.stem, path.parent.name)
    return SourceFile(utterance=f"{speaker}_{code}{sentence}", source=path,
                      dest=f"{speaker}/{code}{sentence}{path.suffix.lower()}", speaker=speaker, gender="M",
                      emotion=code)


def scan(folder: str | Path) -> Scan:
    return walk(folder, parse, expected="SAVEE files (DC/a01.wav or DC_a01.wav)", how_to_get=HOW_TO_GET)
