"""Bring a corpus into the project: find its utterances, check each file, write the utterance table.

:func:`ingest` runs the download stage for one corpus. Its source (``corpora.<name>.source``) is an
http(s) URL (fetched and verified by :mod:`emoaugnet.data.fetch`, the archive kept in ``paths.downloads``), a
local ``.zip``, or a local folder laid out like the corpus. Outputs, all written so that a failure leaves
the previous ones untouched:

- ``<paths.raw>/<corpus>/``: the audio (built in a temporary folder beside it, renamed when complete);
- ``<paths.manifests>/<corpus>.csv``: every usable utterance, kept or dropped by the label map;
- ``<paths.stage_reports>/download/<corpus>.json``: counts per label, class and speaker, bad files and why,
  duplicates (a second file with an utterance id already found: listed, not ingested).

A URL source's verified archive is kept in ``<paths.downloads>/<corpus>/``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
import tempfile
from collections import Counter
from pathlib import Path

from tqdm import tqdm

from emoaugnet.data import audio, manifest
from emoaugnet.atomic import WriteError, describe, write_text
from emoaugnet.data.corpora import REGISTRY, Scan
from emoaugnet.data.fetch import DownloadError, fetch, file_md5, is_url, safe_extract
from emoaugnet.data.manifest import Utterance
from emoaugnet.params import Params


def _source_folder(corpus: str, source: str | None, md5: str | None, root: Path, downloads: Path,
                   scratch: Path) -> tuple[Path, str]:
    """The folder to scan and how to bring its files in: ``move`` (our extraction), ``copy``, ``link``."""
    param = f"corpora.{corpus}.source"
    if source is None:
        raise DownloadError(f"`{param}` is not set. {REGISTRY[corpus].HOW_TO_GET}")
    if is_url(source):
        archive = fetch(source, md5, downloads, param=param)
    else:
        path = Path(source) if Path(source).is_absolute() else root / source
        if path.is_dir() or path.suffix.lower() != ".zip":
            return path, "link" if REGISTRY[corpus].LINK_LOCAL else "copy"
        if not path.is_file():
            raise DownloadError(f"{path}: no such archive; check `{param}`")
        if md5 is not None and (got := file_md5(path)) != md5:
            raise DownloadError(f"{path}: checksum mismatch (md5 {got}, expected {md5} from "
                                f"`corpora.{corpus}.md5`); nothing was extracted. Set that md5 to null "
                                "for an archive that is not the official one")
        archive = path
    safe_extract(archive, scratch)
    return scratch, "move"


def _bring(src: Path, dst: Path, how: str) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    if how == "move":
        os.replace(src, dst)
        return
    if how == "link":
        try:
            os.link(src, dst)
            return
        except OSError:
            pass                # another filesystem, or links not allowed: copy
    shutil.copyfile(src, dst)


def collect(scan: Scan, corpus: str, label_map: dict[str, str | None], staging: Path,
            how: str, raw_dir: str) -> tuple[list[Utterance], list[tuple[str, str]]]:
    """Check each found file's audio header; bring the usable ones into ``staging``.

    Returns the manifest rows (paths point at ``<raw_dir>/<corpus>/``, where ``staging`` will be
    renamed to) and the bad files with reasons.
    """
    rows: list[Utterance] = []
    bad = list(scan.bad)
    for item in tqdm(scan.files, desc=f"{corpus} files", unit="file", file=sys.stderr, mininterval=1.0):
        try:
            header = audio.info(item.source)
            if header.frames <= 0 or header.samplerate <= 0:
                raise audio.AudioError(item.source, "no audio samples")
        except audio.AudioError as exc:
            bad.append((item.dest, exc.reason))
            continue
        try:
            _bring(item.source, staging / item.dest, how)
        except OSError as exc:      # disk full, quota: the staging folder is removed by ingest()
            raise WriteError(f"{staging / item.dest}: cannot write: {describe(exc)}; "
                             f"{raw_dir}/{corpus}/ was left as it was") from None
        rows.append(Utterance(
            utterance=item.utterance, path=f"{raw_dir}/{corpus}/{item.dest}", corpus=corpus,
            speaker=item.speaker, gender=item.gender, emotion=item.emotion,
            label=label_map.get(item.emotion) or "", duration=round(header.frames / header.samplerate, 4),
            sample_rate=header.samplerate, channels=header.channels))
    return rows, bad


def summarise(corpus: str, source: str | None, rows: list[Utterance], bad: list[tuple[str, str]],
              scan: Scan, classes: tuple[str, ...], label_map: dict[str, str | None],
              max_bad_fraction: float) -> dict:
    listed = len(rows) + len(bad)
    kept = [r for r in rows if r.kept]
    per_label = Counter(r.emotion for r in rows)
    kept_per_label = Counter(r.emotion for r in kept)
    speakers = Counter(r.speaker for r in kept)
    genders = {r.speaker: r.gender for r in rows}
    return {
        "corpus": corpus,
        "source": source,
        "listed": listed,
        "kept": len(kept),
        "dropped": len(rows) - len(kept),
        "bad": len(bad),
        "bad_fraction": round(len(bad) / listed, 6) if listed else 0.0,
        "max_bad_fraction": max_bad_fraction,
        "per_label": {label: {"listed": n, "kept": kept_per_label[label], "class": label_map.get(label)}
                      for label, n in sorted(per_label.items())},
        "dropped_per_label": {label: n - kept_per_label[label] for label, n in sorted(per_label.items())
                              if n > kept_per_label[label]},
        "unmapped_labels": sorted(set(per_label) - set(label_map)),
        "per_class": {c: sum(1 for r in kept if r.label == c) for c in classes},
        "speakers": {"count": len(speakers),
                     "kept_per_speaker": {s: {"gender": genders[s], "kept": speakers[s]}
                                          for s in sorted(speakers, key=_natural)}},
        "bad_files": [{"file": f, "reason": why} for f, why in bad],
        "duplicates": {"count": len(scan.duplicates),
                       "files": [{"file": f, "same_utterance_as": first} for f, first in scan.duplicates[:50]]},
        "ignored": {"count": len(scan.ignored), "files": scan.ignored[:50]},
        "through_links": scan.linked,       # utterance files reached through a symbolic link in the source
    }


def _natural(s: str) -> tuple:
    return tuple(int(t) if t.isdigit() else t for t in re.split(r"(\d+)", s))


def _swap_in(staging: Path, final: Path) -> None:
    """Replace ``final`` by the complete ``staging`` folder (two renames, old copy removed after)."""
    if final.exists() or final.is_symlink():
        old = Path(tempfile.mkdtemp(prefix=f".tmp-{final.name}-old-", dir=final.parent))
        os.replace(final, old / final.name)
        os.replace(staging, final)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(staging, final)


def ingest(corpus: str, params: Params, root: str | Path = ".") -> dict:
    """Run the download stage for ``corpus`` under project root ``root``; return the report."""
    cp, paths = params.corpus(corpus), params.paths
    root = Path(root)
    raw_root = root / paths.raw
    raw_root.mkdir(parents=True, exist_ok=True)
    for stale in raw_root.glob(f".tmp-{corpus}-*"):     # left by a killed run
        shutil.rmtree(stale, ignore_errors=True)
    staging = Path(tempfile.mkdtemp(prefix=f".tmp-{corpus}-new-", dir=raw_root))
    scratch = Path(tempfile.mkdtemp(prefix=f".tmp-{corpus}-extract-", dir=raw_root))
    try:
        folder, how = _source_folder(corpus, cp.source, cp.md5, root, root / paths.downloads / corpus, scratch)
        scan = REGISTRY[corpus].scan(folder)
        rows, bad = collect(scan, corpus, cp.label_map, staging, how, paths.raw)
        report = summarise(corpus, cp.source, rows, bad, scan, params.classes, cp.label_map,
                           params.max_bad_fraction)
        report_path = root / paths.stage_reports / "download" / f"{corpus}.json"
        if report["bad_fraction"] > params.max_bad_fraction:
            write_text(report_path, json.dumps({**report, "status": "failed"}, indent=2) + "\n")
            names = "; ".join(f"{f}: {why}" for f, why in bad[:10])
            raise DownloadError(
                f"{corpus}: {len(bad)} of {report['listed']} files are unusable ({report['bad_fraction']:.1%} > "
                f"`quality.max_bad_fraction` {params.max_bad_fraction:.1%}): {names}"
                f"{' ...' if len(bad) > 10 else ''} (all listed in {report_path})")
        _swap_in(staging, raw_root / corpus)
        manifest.write(root / paths.manifests / f"{corpus}.csv", rows)
        write_text(report_path, json.dumps({**report, "status": "ok"}, indent=2) + "\n")
        return report
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        shutil.rmtree(scratch, ignore_errors=True)
