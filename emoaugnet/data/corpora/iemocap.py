"""IEMOCAP (licensed IEMOCAP_full_release folder; there is no public download).

Labels: ``SessionN/dialog/EmoEvaluation/*.txt``, one line per utterance::

    [6.2901 - 8.2357]<TAB>Ses01F_impro01_F000<TAB>neu<TAB>[2.5000, 2.5000, 2.5000]

Audio: ``SessionN/sentences/wav/<dialog>/<utterance>.wav``. Speaker = session + the gender letter of
the utterance id's last part (``Ses01F_impro01_M003`` -> ``Ses01M``). Anything that is not a label
line (AppleDouble ``._*`` files, other folders, headers) is ignored.
"""

from __future__ import annotations

import re
from pathlib import Path

from emoaugnet.data.corpora.sources import CorpusError, Scan, SourceFile, through_link

NAME = "iemocap"
LINK_LOCAL = True
HOW_TO_GET = ("IEMOCAP has no public download: request it from USC SAIL (https://sail.usc.edu/iemocap/) "
              "and set `corpora.iemocap.source` in params.yaml to your IEMOCAP_full_release folder")
LINE = re.compile(r"^\[\s*[\d.]+\s*-\s*[\d.]+\s*\]\t(Ses\d\d[FM]_\S+_([FM])\d+)\t(\w+)\t\[.*\]\s*$")


def parse_line(line: str) -> tuple[str, str, str] | None:
    """(utterance, gender, emotion) of a label line, or None for any other line."""
    m = LINE.match(line)
    return (m.group(1), m.group(2), m.group(3)) if m else None


def scan(folder: str | Path | None) -> Scan:
    if folder is None:
        raise CorpusError(f"`corpora.iemocap.source` is not set. {HOW_TO_GET}")
    folder = Path(folder)
    if not folder.is_dir():
        raise CorpusError(f"{folder}: no such folder. {HOW_TO_GET}")
    sessions = sorted(p for p in folder.glob("Session*") if p.is_dir())
    if not sessions:
        raise CorpusError(f"{folder}: no SessionN/ folders; is this IEMOCAP_full_release? {HOW_TO_GET}")
    found = Scan()
    seen: set[str] = set()
    for session in sessions:
        labels = session / "dialog" / "EmoEvaluation"
        if not labels.is_dir():
            raise CorpusError(f"{labels}: missing label folder (SessionN/dialog/EmoEvaluation)")
        for txt in sorted(labels.iterdir()):
            rel_txt = txt.relative_to(folder).as_posix()
            if not txt.is_file() or txt.name.startswith(".") or txt.suffix != ".txt":
                found.ignored.append(rel_txt)
                continue
            for line in txt.read_text(encoding="utf-8", errors="replace").splitlines():
                parsed = parse_line(line)
                if parsed is None:
                    continue
                utt, gender, emotion = parsed
                if utt in seen:
                    found.ignored.append(f"{rel_txt}: {utt} (listed twice)")
                    continue
                seen.add(utt)
                dialog = utt.rsplit("_", 1)[0]
                dest = f"{session.name}/sentences/wav/{dialog}/{utt}.wav"
                found.files.append(SourceFile(utterance=utt, source=folder / dest, dest=dest,
                                              speaker=utt[:5] + gender, gender=gender, emotion=emotion))
                found.linked += (folder / dest).exists() and through_link(folder, folder / dest)
    if not found.files:
        raise CorpusError(f"{folder}: no label lines in SessionN/dialog/EmoEvaluation/*.txt. {HOW_TO_GET}")
    return found
