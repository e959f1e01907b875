"""The utterance table: one row per recording of a corpus, written by download, read by augment.

``data/manifests/<corpus>.csv`` lists every utterance found, kept or not, so the counts a user sees
match the corpus; ``kept`` says whether its label maps to one of the seven classes.
"""

from __future__ import annotations

import csv
import re
from dataclasses import astuple, dataclass, fields
from pathlib import Path

from emoaugnet.atomic import atomic_path


def speaker_order(speaker: str) -> tuple:
    """Natural sort key: digit runs compare as numbers (``2`` before ``10``, ``ravdess:2`` before ``ravdess:10``)."""
    return tuple(int(t) if t.isdigit() else t for t in re.split(r"(\d+)", str(speaker)))


@dataclass(frozen=True)
class Utterance:
    utterance: str      # unique id within the corpus, e.g. 03-01-05-01-01-01-12 or Ses01F_impro01_F000
    path: str           # audio file, relative to the project root (or absolute)
    corpus: str
    speaker: str        # RAVDESS: actor number ("12"); IEMOCAP: session + gender ("Ses01F")
    gender: str         # "F" or "M"
    emotion: str        # the corpus's own label (e.g. "calm", "exc")
    label: str          # one of params.classes, or "" when the label map drops it
    duration: float     # seconds
    sample_rate: int
    channels: int

    @property
    def kept(self) -> bool:
        return self.label != ""


COLUMNS = [f.name for f in fields(Utterance)]


def write(path: str | Path, rows: list[Utterance]) -> None:
    """Write the table atomically (a reader never sees half of it)."""
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(COLUMNS)
        for row in rows:
            writer.writerow(astuple(row))


def read(path: str | Path, kept_only: bool = False) -> list[Utterance]:
    path = Path(path)
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        if reader.fieldnames != COLUMNS:
            raise ValueError(f"{path}: not an utterance table (columns {reader.fieldnames}, expected {COLUMNS})")
        rows = [Utterance(utterance=r["utterance"], path=r["path"], corpus=r["corpus"],
                          speaker=r["speaker"], gender=r["gender"], emotion=r["emotion"],
                          label=r["label"], duration=float(r["duration"]),
                          sample_rate=int(r["sample_rate"]), channels=int(r["channels"]))
                for r in reader]
    return [r for r in rows if r.kept] if kept_only else rows
