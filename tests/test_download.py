"""The download stage on the real RAVDESS fixture: local folder, local zip, and HTTP from a local server."""

import copy
import hashlib
import json
import re
import shutil
import socket
import stat
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

from emoaugnet.data import fetch, manifest
from emoaugnet.data.ingest import ingest
from stages import download
from emoaugnet.data.fetch import DownloadError
from emoaugnet.params import from_dict

BASE = yaml.safe_load(Path("params.yaml").read_text())
ARCHIVE = "Audio_Speech_Actors_01-24.zip"


def make_params(source, md5=None, **quality):
    tree = copy.deepcopy(BASE)
    tree["corpora"]["ravdess"]["source"] = None if source is None else str(source)
    tree["corpora"]["ravdess"]["md5"] = md5
    tree["quality"].update(quality)
    return from_dict(tree)


def expected(fixture: Path) -> dict:
    """Counts read straight off the fixture's file names (emotion code 02 = calm, dropped by default)."""
    names = sorted(p.name for p in fixture.rglob("*.flac"))
    calm = [n for n in names if n.split("-")[2] == "02"]
    return {"listed": len(names), "dropped": len(calm), "kept": len(names) - len(calm),
            "speakers": len({n[-7:-5] for n in names})}


def build_zip(path: Path, fixture: Path, extra=()) -> Path:
    """The official layout: Actor_NN/ at the zip root; ``extra`` = (ZipInfo or name, bytes) pairs."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        for f in sorted(fixture.rglob("*.flac")):
            zf.write(f, f.relative_to(fixture).as_posix())
        for info, data in extra:
            zf.writestr(info, data)
    return path


def md5_of(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def assert_ingested(root: Path, fixture: Path, report: dict) -> None:
    exp = expected(fixture)
    assert {k: report[k] for k in ("listed", "kept", "dropped", "bad")} == {**{k: exp[k] for k in (
        "listed", "kept", "dropped")}, "bad": 0}
    assert report["speakers"]["count"] == exp["speakers"]
    assert report["dropped_per_label"] == {"calm": exp["dropped"]}
    rows = manifest.read(root / "data" / "manifests" / "ravdess.csv")
    assert len(rows) == exp["listed"]
    for r in rows:
        assert r.path == f"data/raw/ravdess/Actor_{int(r.speaker):02d}/{r.utterance}.flac"
        src = fixture / r.path.removeprefix("data/raw/ravdess/")
        assert (root / r.path).read_bytes() == src.read_bytes()
        assert r.gender == ("M" if int(r.speaker) % 2 else "F")
        assert (r.label == "") == (r.emotion == "calm")
    on_disk = json.loads((root / "data" / "reports" / "download" / "ravdess.json").read_text())
    assert on_disk["status"] == "ok" and on_disk["kept"] == exp["kept"]
    assert [p.name for p in (root / "data" / "raw").iterdir()] == ["ravdess"]   # no temp folders left


def assert_nothing_extracted(root: Path) -> None:
    raw = root / "data" / "raw"
    assert not raw.exists() or list(raw.iterdir()) == []
    assert not (root / "data" / "manifests").exists()


# ------------------------------------------------------------------ local sources

def test_local_folder(tmp_path, ravdess_fixture):
    report = ingest("ravdess", make_params(ravdess_fixture), tmp_path)
    assert_ingested(tmp_path, ravdess_fixture, report)
    assert set(report["per_class"].values()) == {expected(ravdess_fixture)["kept"] // 7}


def test_relative_source_is_relative_to_the_project_root(tmp_path, ravdess_fixture):
    shutil.copytree(ravdess_fixture, tmp_path / "corpus")
    report = ingest("ravdess", make_params("corpus"), tmp_path)
    assert_ingested(tmp_path, ravdess_fixture, report)


def test_local_zip_with_its_md5(tmp_path, ravdess_fixture):
    archive = build_zip(tmp_path / ARCHIVE, ravdess_fixture)
    report = ingest("ravdess", make_params(ARCHIVE, md5_of(archive)), tmp_path)
    assert_ingested(tmp_path, ravdess_fixture, report)


def test_local_zip_with_wrong_md5_is_not_extracted(tmp_path, ravdess_fixture):
    build_zip(tmp_path / ARCHIVE, ravdess_fixture)
    with pytest.raises(DownloadError, match="checksum mismatch"):
        ingest("ravdess", make_params(ARCHIVE, "0" * 32), tmp_path)
    assert_nothing_extracted(tmp_path)


def test_zip_member_escaping_the_target_is_refused(tmp_path, ravdess_fixture):
    build_zip(tmp_path / "evil.zip", ravdess_fixture, extra=[("../../escaped.txt", b"owned")])
    (tmp_path / "project").mkdir()
    with pytest.raises(DownloadError, match=r"'\.\./\.\./escaped\.txt' would land outside"):
        ingest("ravdess", make_params(tmp_path / "evil.zip"), tmp_path / "project")
    assert not list(tmp_path.rglob("escaped.txt"))
    assert_nothing_extracted(tmp_path / "project")


def test_zip_symlink_member_is_refused(tmp_path, ravdess_fixture):
    link = zipfile.ZipInfo("Actor_01/03-01-01-01-01-02-01.flac")
    link.create_system = 3
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    build_zip(tmp_path / "links.zip", ravdess_fixture, extra=[(link, b"/etc/passwd")])
    with pytest.raises(DownloadError, match="symbolic link"):
        ingest("ravdess", make_params(tmp_path / "links.zip"), tmp_path)
    assert_nothing_extracted(tmp_path)


def test_undecodable_files_are_reported_and_excluded(tmp_path, ravdess_fixture):
    src = shutil.copytree(ravdess_fixture, tmp_path / "src")
    garbage = src / "Actor_02" / "03-01-05-01-01-01-02.flac"
    garbage.write_bytes(b"not audio at all" * 64)
    empty = src / "Actor_03" / "03-01-03-01-02-01-03.flac"
    empty.write_bytes(b"")
    (src / "Actor_01" / ".DS_Store").write_bytes(b"\0\0")
    report = ingest("ravdess", make_params(src), tmp_path / "p")
    exp = expected(ravdess_fixture)
    assert report["listed"] == exp["listed"] and report["bad"] == 2
    assert report["kept"] == exp["kept"] - 2
    reasons = {b["file"]: b["reason"] for b in report["bad_files"]}
    assert set(reasons) == {"Actor_02/03-01-05-01-01-01-02.flac", "Actor_03/03-01-03-01-02-01-03.flac"}
    assert "not a readable audio file" in reasons["Actor_02/03-01-05-01-01-01-02.flac"]
    assert "empty file" in reasons["Actor_03/03-01-03-01-02-01-03.flac"]
    assert "Actor_01/.DS_Store" in report["ignored"]["files"]
    utts = {r.utterance for r in manifest.read(tmp_path / "p" / "data" / "manifests" / "ravdess.csv")}
    assert len(utts) == exp["listed"] - 2 and garbage.stem not in utts and empty.stem not in utts
    assert not (tmp_path / "p" / "data" / "raw" / "ravdess" / "Actor_02" / garbage.name).exists()


def test_too_many_bad_files_fail_the_stage_and_keep_the_previous_output(tmp_path, ravdess_fixture):
    project = tmp_path / "p"
    ingest("ravdess", make_params(ravdess_fixture), project)
    before = (project / "data" / "manifests" / "ravdess.csv").read_bytes()
    src = shutil.copytree(ravdess_fixture, tmp_path / "src")
    for f in sorted(src.glob("Actor_01/*.flac"))[:4]:
        f.write_bytes(b"junk")
    with pytest.raises(DownloadError, match=r"4 of 64 files are unusable .*max_bad_fraction"):
        ingest("ravdess", make_params(src, max_bad_fraction=0.05), project)
    assert (project / "data" / "manifests" / "ravdess.csv").read_bytes() == before
    assert len(list((project / "data" / "raw" / "ravdess").rglob("*.flac"))) == 64
    report = json.loads((project / "data" / "reports" / "download" / "ravdess.json").read_text())
    assert report["status"] == "failed" and report["bad"] == 4


def test_stage_command_reads_params_yaml(tmp_path, ravdess_fixture, monkeypatch, capsys):
    tree = copy.deepcopy(BASE)
    tree["corpora"]["ravdess"]["source"] = str(ravdess_fixture)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(tree))
    monkeypatch.chdir(tmp_path)
    assert download.main(["ravdess"]) == 0
    assert f"{expected(ravdess_fixture)['kept']} kept" in capsys.readouterr().out
    tree["corpora"]["ravdess"]["source"] = None
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(tree))
    assert download.main(["ravdess"]) == 1
    assert "`corpora.ravdess.source` is not set" in capsys.readouterr().err


# ------------------------------------------------------------------ HTTP

class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        srv = self.server
        rng = self.headers.get("Range")
        srv.seen.append(rng)
        mode = srv.modes.pop(0) if srv.modes else "ok"
        if mode == "404":
            self.send_error(404, "Not Found")
            return
        if mode == "html":
            body = b"<!DOCTYPE html><html><body>Service unavailable, try later</body></html>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        data, start = srv.payload, 0
        if rng:
            start = int(re.match(r"bytes=(\d+)-", rng).group(1))
        self.send_response(206 if rng else 200)
        self.send_header("Content-Type", "application/zip")
        self.send_header("Content-Length", str(len(data) - start))
        if rng:
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        self.end_headers()
        body = data[start:]
        if mode == "drop":          # the connection dies mid-body
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(body)


@pytest.fixture
def server(tmp_path, ravdess_fixture):
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    archive = build_zip(tmp_path / "served.zip", ravdess_fixture)
    srv.payload, srv.md5, srv.seen, srv.modes = archive.read_bytes(), md5_of(archive), [], []
    srv.url = f"http://127.0.0.1:{srv.server_address[1]}/records/1188976/files/{ARCHIVE}?download=1"
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def test_http_download_verified_extracted_and_cached(tmp_path, ravdess_fixture, server):
    project = tmp_path / "p"
    report = ingest("ravdess", make_params(server.url, server.md5), project)
    assert_ingested(project, ravdess_fixture, report)
    assert md5_of(project / "data" / "downloads" / "ravdess" / ARCHIVE) == server.md5
    assert not (project / "data" / "downloads" / "ravdess" / f"{ARCHIVE}.part").exists()
    ingest("ravdess", make_params(server.url, server.md5), project)   # rerun: cached archive
    assert server.seen == [None]


def test_http_checksum_mismatch_extracts_nothing(tmp_path, server):
    with pytest.raises(DownloadError, match=r"checksum mismatch \(md5 [0-9a-f]{32}, expected f{32}\)"):
        ingest("ravdess", make_params(server.url, "f" * 32), tmp_path)
    assert_nothing_extracted(tmp_path)
    assert [p for p in (tmp_path / "data" / "downloads").rglob("*") if p.is_file()] == []


def test_http_interrupted_transfer_resumes_on_rerun(tmp_path, ravdess_fixture, server):
    server.modes = ["drop"]
    downloads = tmp_path / "data" / "downloads" / "ravdess"
    with pytest.raises(DownloadError, match="interrupted .* rerun to resume"):
        fetch.fetch(server.url, server.md5, downloads, param="corpora.ravdess.source", retries=0)
    half = (downloads / f"{ARCHIVE}.part").stat().st_size
    assert 0 < half < len(server.payload)
    report = ingest("ravdess", make_params(server.url, server.md5), tmp_path)
    assert server.seen == [None, f"bytes={half}-"]
    assert_ingested(tmp_path, ravdess_fixture, report)


def test_http_interruption_is_retried_within_one_run(tmp_path, ravdess_fixture, server):
    server.modes = ["drop", "drop"]
    report = ingest("ravdess", make_params(server.url, server.md5), tmp_path)
    assert len(server.seen) == 3 and all(server.seen[1:])
    assert_ingested(tmp_path, ravdess_fixture, report)


@pytest.mark.parametrize("mode, message", [("html", "HTML page"), ("404", "HTTP 404")])
def test_http_error_pages_are_refused(tmp_path, server, mode, message):
    server.modes = [mode]
    with pytest.raises(DownloadError, match=f"{message}.*corpora.ravdess.source"):
        ingest("ravdess", make_params(server.url, server.md5), tmp_path)
    assert_nothing_extracted(tmp_path)
    assert [p for p in (tmp_path / "data" / "downloads").rglob("*") if p.is_file()] == []


def test_no_network_names_the_param_for_a_local_copy(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/{ARCHIVE}"
    with pytest.raises(DownloadError, match=r"cannot reach .*no network\?.*`corpora\.ravdess\.source`"):
        ingest("ravdess", make_params(url, BASE["corpora"]["ravdess"]["md5"]), tmp_path)
    assert_nothing_extracted(tmp_path)
