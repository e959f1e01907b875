"""One module per corpus: parse its layout into utterance-table rows."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


class CorpusError(ValueError):
    """A corpus source that cannot be read; the message names the folder or file and the param to set."""


@dataclass(frozen=True)
class SourceFile:
    """One utterance found in a corpus source, before its audio is checked and copied."""

    utterance: str
    source: Path        # the audio file in the source folder
    dest: str           # where it goes under data/raw/<corpus>/ (posix, relative)
    speaker: str
    gender: str         # "F" or "M"
    emotion: str        # the corpus's own label


@dataclass
class Scan:
    """What a corpus parser found: utterances, plus what it ignored and which names it refused."""

    files: list[SourceFile] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)            # stray files / lines, by name
    bad: list[tuple[str, str]] = field(default_factory=list)    # (file, reason): looks like audio, unusable
