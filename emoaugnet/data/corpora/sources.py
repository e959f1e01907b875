"""What a corpus parser finds in a source folder (:class:`Scan` of :class:`SourceFile` rows) and the walk that
finds it: every corpus module (:mod:`emoaugnet.data.corpora`) parses its layout with :func:`walk`."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from emoaugnet.errors import EmoAugNetError


class CorpusError(EmoAugNetError, ValueError):
    """A corpus source that cannot be read; the message names the folder or file and the param to set."""


@dataclass(frozen=True)
class SourceFile:
    """One utterance found in a corpus source, before its audio is checked and copied."""

    utterance: str
    source: Path        # the audio file in the source folder
    dest: str           # where it goes under data/raw/<corpus>/ (posix, relative)
    speaker: str        # unique within its corpus (splits qualify it as ``corpus:speaker`` across corpora)
    gender: str         # "F" or "M" ("" where the copy does not say)
    emotion: str        # the corpus's own label


@dataclass
class Scan:
    """What a corpus parser found: utterances, plus what it ignored and which names it refused."""

    files: list[SourceFile] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)            # stray files / lines, by name
    bad: list[tuple[str, str]] = field(default_factory=list)    # (file, reason): looks like audio, unusable
    duplicates: list[tuple[str, str]] = field(default_factory=list)  # (file, first file with its utterance id)
    linked: int = 0             # utterance files reached through a symbolic link (folder or file)


AUDIO_SUFFIXES = (".wav", ".flac")
_LFS_POINTER = b"version https://git-lfs"


def walk(folder: str | Path, parse: Callable[[Path], SourceFile], *, expected: str, how_to_get: str,
         suffixes: tuple[str, ...] = AUDIO_SUFFIXES) -> Scan:
    """Every file under ``folder`` (any depth, folder links followed: :func:`walk_files`) whose name
    ``parse`` accepts, once per utterance id; ``linked`` counts those reached through a link.

    Files are visited shallowest first, then in sorted path order. Hidden files and other suffixes (compared in lower case) are
    listed as ignored; so is an audio file whose name ``parse`` refuses (``ValueError``: its reason is
    listed). A later file with an utterance id already found (a redistributed copy holding the corpus
    twice) is skipped and listed in ``duplicates`` with the file kept; a Git LFS pointer saved under an
    audio name is listed as bad (and a real copy of it elsewhere is still used). A ``folder`` that is not a folder or holds none of the ``expected``
    files is refused with ``how_to_get`` (which param to set).
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise CorpusError(f"{folder}: not a folder. {how_to_get}")
    found = Scan()
    seen: dict[str, str] = {}
    # shallowest first: of a corpus nested inside its own copy, the outer files are kept
    for path in sorted(walk_files(folder), key=lambda p: (len(p.parts), p)):
        rel = path.relative_to(folder).as_posix()
        if path.name.startswith(".") or path.suffix.lower() not in suffixes:
            found.ignored.append(rel)
            continue
        try:
            item = parse(path)
        except ValueError as exc:
            found.ignored.append(f"{rel} ({exc})")
            continue
        with open(path, "rb") as f:
            if f.read(len(_LFS_POINTER)) == _LFS_POINTER:
                found.bad.append((rel, "a Git LFS pointer, not the audio (run `git lfs pull` in the "
                                       "clone, or use a copy with the real files)"))
                continue
        if item.utterance in seen:
            found.duplicates.append((rel, seen[item.utterance]))
            continue
        seen[item.utterance] = rel
        found.files.append(item)
        found.linked += through_link(folder, path)
    if not found.files and not found.bad:
        raise CorpusError(f"{folder}: no {expected} found. {how_to_get}")
    return found


def walk_files(folder: Path) -> list[Path]:
    """Every file under ``folder``, following folder links (datasets on shared storage are often laid out
    with ``Actor_NN`` or ``SessionN`` links), each real folder visited once: a link back up, or a second
    link to a folder already walked, is skipped. Real folders are walked before links in the same folder."""
    found: list[Path] = []
    seen: set[str] = set()
    for top, dirs, files in os.walk(folder, followlinks=True):
        real = os.path.realpath(top)
        if real in seen:            # a loop, or a second link to a folder already walked
            dirs[:] = []
            continue
        seen.add(real)
        dirs[:] = sorted((d for d in dirs if os.path.realpath(os.path.join(top, d)) not in seen),
                         key=lambda d: (os.path.islink(os.path.join(top, d)), d))
        found += [Path(top, f) for f in files if os.path.isfile(os.path.join(top, f))]
    return found


def through_link(folder: Path, path: Path) -> bool:
    """Whether ``path`` (under ``folder``) or a folder between them is a symbolic link."""
    rel = path.relative_to(folder).parts
    return any(folder.joinpath(*rel[:i]).is_symlink() for i in range(1, len(rel) + 1))
