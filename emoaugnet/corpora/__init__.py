"""One module per corpus: parse its layout into utterance-table rows; :data:`REGISTRY` lists them."""

from __future__ import annotations

import os
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
    linked: int = 0             # utterance files reached through a symbolic link (folder or file)


def walk_files(folder: Path) -> list[Path]:
    """Every file under ``folder``, following folder links (datasets on shared storage are often laid out
    with ``Actor_NN`` or ``SessionN`` links), each real folder visited once: a link back up is skipped."""
    found: list[Path] = []
    seen: set[str] = set()
    for top, dirs, files in os.walk(folder, followlinks=True):
        real = os.path.realpath(top)
        if real in seen:            # a loop, or a second link to a folder already walked
            dirs[:] = []
            continue
        seen.add(real)
        dirs[:] = [d for d in dirs if os.path.realpath(os.path.join(top, d)) not in seen]
        found += [Path(top, f) for f in files if os.path.isfile(os.path.join(top, f))]
    return sorted(found)


def through_link(folder: Path, path: Path) -> bool:
    """Whether ``path`` (under ``folder``) or a folder between them is a symbolic link."""
    rel = path.relative_to(folder).parts
    return any(folder.joinpath(*rel[:i]).is_symlink() for i in range(1, len(rel) + 1))


# The registry: the one list of corpora the project knows. Each module provides ``NAME``, ``scan(folder)``,
# ``HOW_TO_GET`` (what to set when the source is missing) and ``LINK_LOCAL`` (hard-link, rather than
# copy, the files of a local source folder: DVC caches hard links too; used for large licensed copies).
from emoaugnet.corpora import iemocap, ravdess  # noqa: E402

REGISTRY = {module.NAME: module for module in (ravdess, iemocap)}
