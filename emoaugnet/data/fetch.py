"""Fetch a corpus archive and unpack it safely.

:func:`fetch` streams an http(s) URL to ``<downloads>/<file>.part`` (resumed with HTTP Range after an
interruption), checks its md5 before anything is extracted and renames it when verified;
:func:`safe_extract` unpacks a zip after refusing links and members that would land outside the target.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import re
import stat
import sys
import zipfile
from pathlib import Path, PurePosixPath
from urllib.error import HTTPError, URLError
from urllib.parse import unquote, urlsplit
from urllib.request import Request, urlopen

from tqdm import tqdm

from emoaugnet.errors import EmoAugNetError

CHUNK = 1 << 20


class DownloadError(EmoAugNetError, RuntimeError):
    """The corpus could not be fetched or unpacked; the message says why and which param to set."""


class _Interrupted(Exception):
    """The transfer stopped before the end; what arrived is kept in the .part file."""



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
