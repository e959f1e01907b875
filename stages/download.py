"""Download stage: fetch a corpus, verify it, extract it safely, write its utterance table and report.

``python -m stages.download ravdess`` reads ``corpora.<name>.source`` from params.yaml: an http(s)
URL (streamed to ``data/downloads/<file>.part``, resumed with HTTP Range after an interruption,
md5-checked before anything is extracted, the verified archive kept in ``data/downloads/``), a local
``.zip``, or a local folder laid out like the corpus. Outputs, all written so that a failure leaves
the previous ones untouched:

- ``data/raw/<corpus>/``: the audio (built in a temporary folder beside it, renamed when complete);
- ``data/manifests/<corpus>.csv``: every usable utterance, kept or dropped by the label map;
- ``data/reports/download/<corpus>.json``: counts per label, class and speaker, bad files and why.
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import os
import re
import shutil
import stat
import sys
import tempfile
import zipfile
from collections import Counter
from pathlib import Path, PurePosixPath
from urllib.error import HTTPError, URLError
from urllib.parse import unquote, urlsplit
from urllib.request import Request, urlopen

from tqdm import tqdm

from stages import audio, manifest
from stages.atomic import write_text
from stages.corpora import CorpusError, Scan, iemocap, ravdess
from stages.manifest import Utterance
from stages.params import KNOWN_CORPORA, Params, ParamsError, load

PARSERS = {"ravdess": ravdess, "iemocap": iemocap}
# Link (not copy) sentence wavs from a user's local IEMOCAP folder: DVC still caches hardlinks.
LINK_FROM_FOLDER = {"iemocap"}
CHUNK = 1 << 20


class DownloadError(RuntimeError):
    """The corpus could not be fetched or unpacked; the message says why and which param to set."""


class _Interrupted(Exception):
    """The transfer stopped before the end; what arrived is kept in the .part file."""


# ---------------------------------------------------------------- fetching

def is_url(source: str) -> bool:
    return urlsplit(source).scheme in ("http", "https")


def file_md5(path: str | Path) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def archive_name(url: str, default: str = "download.zip") -> str:
    name = PurePosixPath(unquote(urlsplit(url).path)).name
    return name if re.fullmatch(r"[\w.+-]+", name or "") else default


def fetch(url: str, md5: str | None, downloads: str | Path, *, param: str,
          retries: int = 2, timeout: float = 60.0) -> Path:
    """Download ``url`` into ``downloads`` and return the verified archive.

    Streams to ``<name>.part`` (resumed with a Range request when a previous run was interrupted),
    retries an interrupted transfer ``retries`` times, checks ``md5`` and only then renames the file
    to ``<name>``; a later call reuses that verified copy. ``param`` names the params key of the
    source in error messages.
    """
    downloads = Path(downloads)
    downloads.mkdir(parents=True, exist_ok=True)
    name = archive_name(url)
    final, part = downloads / name, downloads / f"{name}.part"
    if final.is_file():
        if md5 is None or file_md5(final) == md5:
            return final
        final.unlink()          # a stale or damaged cached copy: fetch it again
    for attempt in range(retries + 1):
        try:
            _transfer(url, part, timeout, param)
            break
        except _Interrupted as exc:
            if attempt == retries:
                kept = part.stat().st_size if part.exists() else 0
                raise DownloadError(
                    f"download of {url} was interrupted ({exc}); {kept:,} bytes are kept in {part}: "
                    f"rerun to resume, or set `{param}` to a local copy") from None
            print(f"download: interrupted ({exc}); resuming", file=sys.stderr)
    if md5 is None:
        print(f"download: warning: no md5 given for {url}; the archive is not verified", file=sys.stderr)
    else:
        got = file_md5(part)
        if got != md5:
            part.unlink()
            raise DownloadError(
                f"{url}: checksum mismatch (md5 {got}, expected {md5}); the download was deleted and "
                f"nothing was extracted. Rerun to download it again, or check `{param}` and its md5")
    os.replace(part, final)
    return final


def _no_network(url: str, reason: object, param: str) -> DownloadError:
    return DownloadError(
        f"cannot reach {url} ({reason}): no network? Download the archive on another machine and set "
        f"`{param}` in params.yaml to the local .zip or to an unpacked folder (relative to the project root)")


def _transfer(url: str, part: Path, timeout: float, param: str) -> None:
    have = part.stat().st_size if part.exists() else 0
    headers = {"User-Agent": "EmoAugNet-download"}
    if have:
        headers["Range"] = f"bytes={have}-"
    try:
        resp = urlopen(Request(url, headers=headers), timeout=timeout)
    except HTTPError as exc:
        if exc.code == 416 and have:        # nothing left to send: the .part is complete
            return
        raise DownloadError(f"{url}: the server answered HTTP {exc.code} {exc.reason} instead of the "
                            f"archive; check `{param}`") from None
    except (URLError, OSError) as exc:
        raise _no_network(url, getattr(exc, "reason", exc), param) from None
    with resp:
        if resp.headers.get_content_type() == "text/html":
            raise DownloadError(f"{url}: the server sent an HTML page (Content-Type text/html), not the "
                                f"archive; check `{param}`, or download it in a browser and point "
                                f"`{param}` at the local file")
        resuming = resp.status == 206 and _range_start(resp.headers.get("Content-Range")) == have
        if not resuming:
            have = 0                        # the server ignored the Range: start over
        length = resp.headers.get("Content-Length")
        total = have + int(length) if length and length.isdigit() else None
        with open(part, "ab" if resuming else "wb") as f, tqdm(
                total=total, initial=have, unit="B", unit_scale=True, unit_divisor=1024,
                desc=part.name.removesuffix(".part"), file=sys.stderr, mininterval=1.0) as bar:
            first = not resuming
            while True:
                try:
                    chunk = resp.read(CHUNK)
                except (http.client.HTTPException, OSError) as exc:
                    raise _Interrupted(f"{type(exc).__name__}: {exc}") from None
                if not chunk:
                    break
                if first and chunk.lstrip()[:15].lower().startswith((b"<!doctype html", b"<html")):
                    f.close()
                    part.unlink()
                    raise DownloadError(f"{url}: the server sent an HTML page, not the archive; "
                                        f"check `{param}`")
                first = False
                f.write(chunk)
                bar.update(len(chunk))
    size = part.stat().st_size
    if total is not None and size < total:
        raise _Interrupted(f"received {size:,} of {total:,} bytes")


def _range_start(content_range: str | None) -> int | None:
    m = re.match(r"bytes (\d+)-", content_range or "")
    return int(m.group(1)) if m else None


# ---------------------------------------------------------------- extracting

def check_members(zf: zipfile.ZipFile, archive: str | Path) -> None:
    """Refuse the whole archive if any member is a link or would land outside the target folder."""
    for info in zf.infolist():
        name = info.filename
        if stat.S_ISLNK(info.external_attr >> 16):
            raise DownloadError(f"{archive}: member {name!r} is a symbolic link; refusing to extract")
        parts = PurePosixPath(name.replace("\\", "/")).parts
        if name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name) or ".." in parts:
            raise DownloadError(f"{archive}: member {name!r} would land outside the target folder; "
                                "refusing to extract")


def safe_extract(archive: str | Path, target: str | Path) -> None:
    """Extract a zip into ``target`` after checking every member (see :func:`check_members`)."""
    target = Path(target)
    try:
        with zipfile.ZipFile(archive) as zf:
            check_members(zf, archive)
            inside = target.resolve()
            for info in zf.infolist():
                if not (target / info.filename).resolve().is_relative_to(inside):
                    raise DownloadError(f"{archive}: member {info.filename!r} would land outside "
                                        "the target folder; refusing to extract")
                zf.extract(info, target)
    except zipfile.BadZipFile as exc:
        raise DownloadError(f"{archive}: not a valid zip archive ({exc})") from None


# ---------------------------------------------------------------- ingesting

def _source_folder(corpus: str, source: str | None, md5: str | None, root: Path,
                   scratch: Path) -> tuple[Path, str]:
    """The folder to scan and how to bring its files in: ``move`` (our extraction), ``copy``, ``link``."""
    param = f"corpora.{corpus}.source"
    if source is None:
        hint = getattr(PARSERS[corpus], "HOW_TO_GET", f"set `{param}` in params.yaml")
        raise DownloadError(f"`{param}` is not set. {hint}")
    if is_url(source):
        archive = fetch(source, md5, root / "data" / "downloads", param=param)
    else:
        path = Path(source) if Path(source).is_absolute() else root / source
        if path.is_dir() or path.suffix.lower() != ".zip":
            return path, "link" if corpus in LINK_FROM_FOLDER else "copy"
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
            how: str) -> tuple[list[Utterance], list[tuple[str, str]]]:
    """Check each found file's audio header; bring the usable ones into ``staging``.

    Returns the manifest rows (paths point at ``data/raw/<corpus>/``) and the bad files with reasons.
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
        _bring(item.source, staging / item.dest, how)
        rows.append(Utterance(
            utterance=item.utterance, path=f"data/raw/{corpus}/{item.dest}", corpus=corpus,
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
        "ignored": {"count": len(scan.ignored), "files": scan.ignored[:50]},
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
    cp = params.corpus(corpus)
    root = Path(root)
    raw_root = root / "data" / "raw"
    raw_root.mkdir(parents=True, exist_ok=True)
    for stale in raw_root.glob(f".tmp-{corpus}-*"):     # left by a killed run
        shutil.rmtree(stale, ignore_errors=True)
    staging = Path(tempfile.mkdtemp(prefix=f".tmp-{corpus}-new-", dir=raw_root))
    scratch = Path(tempfile.mkdtemp(prefix=f".tmp-{corpus}-extract-", dir=raw_root))
    try:
        folder, how = _source_folder(corpus, cp.source, cp.md5, root, scratch)
        scan = PARSERS[corpus].scan(folder)
        rows, bad = collect(scan, corpus, cp.label_map, staging, how)
        report = summarise(corpus, cp.source, rows, bad, scan, params.classes, cp.label_map,
                           params.max_bad_fraction)
        report_path = root / "data" / "reports" / "download" / f"{corpus}.json"
        if report["bad_fraction"] > params.max_bad_fraction:
            write_text(report_path, json.dumps({**report, "status": "failed"}, indent=2) + "\n")
            names = "; ".join(f"{f}: {why}" for f, why in bad[:10])
            raise DownloadError(
                f"{corpus}: {len(bad)} of {report['listed']} files are unusable ({report['bad_fraction']:.1%} > "
                f"`quality.max_bad_fraction` {params.max_bad_fraction:.1%}): {names}"
                f"{' ...' if len(bad) > 10 else ''} (all listed in {report_path})")
        _swap_in(staging, raw_root / corpus)
        manifest.write(root / "data" / "manifests" / f"{corpus}.csv", rows)
        write_text(report_path, json.dumps({**report, "status": "ok"}, indent=2) + "\n")
        return report
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        shutil.rmtree(scratch, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m stages.download", description=__doc__.splitlines()[0])
    parser.add_argument("corpus", choices=KNOWN_CORPORA)
    args = parser.parse_args(argv)
    try:
        report = ingest(args.corpus, load())
    except (ParamsError, DownloadError, CorpusError) as exc:
        print(f"download: error: {exc}", file=sys.stderr)
        return 1
    print(f"{args.corpus}: {report['listed']} listed, {report['kept']} kept, {report['dropped']} dropped "
          f"by the label map, {report['bad']} bad, {report['speakers']['count']} speakers; "
          f"per class: {report['per_class']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
