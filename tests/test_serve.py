"""``emoaugnet serve``: the real service in a subprocess on 127.0.0.1, called over HTTP.

Model: params.yaml's network with its seeded weights, the fixtures' fitted scaler and the last layer x200
(:func:`helpers.featurestore.untrained_bundle`, as tests/test_onnx.py), exported to ONNX with the real
command (tests/conftest.py's ``serve_model``); no training. The service must answer what ``emoaugnet predict`` prints for the same file, refuse
each bad upload with its status and reason, leave no temp file behind and keep serving afterwards.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from emoaugnet import cli
from emoaugnet.inference.api import Classifier
from emoaugnet.inference.model_dir import SHIPPED
from emoaugnet.release import card as card_mod
from helpers import service

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow      # exports a model and starts the service (and Chromium)

SHORT = Path("Actor_01") / "03-01-05-01-01-01-01.flac"


@pytest.fixture(scope="module")
def model(tmp_path_factory, serve_model, long_recording, ravdess_fixture) -> Path:
    """The export, calibrated (T = 1) with a "not sure" threshold between the top probabilities of the
    long recording and SHORT, so one of them is answered and the other is not."""
    root = tmp_path_factory.mktemp("serve-model")
    shutil.copytree(serve_model, root / "export")          # tests/conftest.py: exported once for every service test
    tops = [max(Classifier.from_dir(root / "export").predict_file(f)["probabilities"].values())
            for f in (long_recording, ravdess_fixture / SHORT)]
    assert abs(tops[0] - tops[1]) > 0.01, tops
    config = json.loads((root / "export" / "model.json").read_text())
    config["calibration"] = {"temperature": 1.0, "min_probability": round(sum(tops) / 2, 6), "min_margin": 0.0,
                             "fitted": True, "fit": {"on": "validation speakers", "samples": 7}}
    (root / "export" / "model.json").write_text(json.dumps(config))
    return root / "export"


def get_text(url: str) -> tuple[int, str]:
    import urllib.error
    import urllib.request
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def predict_prints(model: Path, path: Path, capsys) -> dict:
    capsys.readouterr()
    assert cli.main(["predict", "--model", str(model), str(path)]) == 0
    return json.loads(capsys.readouterr().out)


#: What importing onnxruntime (1.32) writes in the temp folder, outside CI (it writes nothing when CI is set).
ONNXRUNTIME_FILES = {".ses"}


def leftovers(tmp: Path) -> list[str]:
    """Every file in the service's temp folder (its TMPDIR) but onnxruntime's: an upload is decoded from
    memory, and Starlette's spool of a large one is unnamed, so there should be none."""
    return sorted(str(p.relative_to(tmp)) for p in tmp.rglob("*") if not p.is_dir() and p.name not in ONNXRUNTIME_FILES)


def test_uploads_get_what_predict_prints(model, long_recording, ravdess_fixture, ravdess_48k, tmp_path, capsys):
    files = [ravdess_fixture / SHORT, ravdess_48k / "03-01-08-01-02-02-01.wav", long_recording]
    with service.running(model, tmp_path / "tmp") as url:
        health = service.get(url + "/api/health")
        assert health["model"] == "export" and health["backend"] == "onnx"
        assert health["classes"] == list(json.loads((model / "model.json").read_text())["classes"])
        # an export made by a training run has no card: the service says so, on the page and at /card
        assert health["card"] is None and health["about"] == card_mod.summary_line(None)
        assert health["calibration"]["calibrated"] is True and "not sure" in health["calibration"]["said"]
        status, page = get_text(url + "/card")
        assert status == 200 and "export: no model card</h1>" in page and "no card" in page
        expected = {}
        for path in files:
            expected[path.name] = predict_prints(model, path, capsys)
            status, got = service.post_file(url + "/api/predict", path.read_bytes(), path.name)
            assert status == 200, got
            assert got["path"] == path.name and expected[path.name]["path"] == str(path)
            assert {**got, "path": None} == {**expected[path.name], "path": None}
        # at once: 8 clients, each posting the three files in its own order, while the workers share one
        # onnxruntime session (one thread per worker: the log says so); each answer is still predict's
        port = url.rsplit(":", 1)[1]
        cpus = os.cpu_count() or 1
        assert f"({cpus // min(4, cpus)} onnxruntime thread(s) each)" in (tmp_path / f"serve-{port}.log").read_text()
        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(lambda i: service.post_file(url + "/api/predict", files[i % 3].read_bytes(),
                                                                files[i % 3].name), range(24), timeout=300))
        for status, got in answers:
            assert status == 200 and {**got, "path": None} == {**expected[got["path"]], "path": None}, got
        # ?timeline=1 adds predict --timeline's rows, one per window, silent ones included
        status, got = service.post_file(url + "/api/predict?timeline=1", long_recording.read_bytes(), "long.wav")
        assert status == 200 and len(got["timeline"]) == len(got["windows"]) == 10
        assert got["timeline_columns"] == ["start_s", "end_s", "emotion", *health["classes"]]
        assert [row[2] for row in got["timeline"]] == [w.get("emotion", "silence") for w in got["windows"]]
        assert "silence" in [row[2] for row in got["timeline"]]
        # a client's folders never reach the server: only the base name is used, as the name shown
        status, got = service.post_file(url + "/api/predict", (ravdess_fixture / SHORT).read_bytes(),
                                        "../../../etc/evil.flac")
        assert status == 200 and got["path"] == "evil.flac"
        schema = service.get(url + "/api/openapi.json")
        assert set(schema["paths"]) == {"/api/predict", "/api/health"}
        assert leftovers(tmp_path / "tmp") == []


def test_the_service_says_what_the_shipped_model_is_and_serves_its_card(tmp_path, ravdess_fixture):
    card = card_mod.read(SHIPPED)
    unseen = card_mod.unseen_speakers(card)
    clip = (ravdess_fixture / SHORT).read_bytes()
    with service.running(SHIPPED, tmp_path / "tmp") as url:
        health = service.get(url + "/api/health")
        status, page = get_text(url + "/card")
        averaged = service.post_file(url + "/api/predict", clip, SHORT.name)
    with service.running(SHIPPED, tmp_path / "tmp", "--no-classic", "--processes", "2") as url:     # each process
        alone = service.post_file(url + "/api/predict", clip, SHORT.name)                           # leaves it out
    for (code, got), classic_part in ((averaged, True), (alone, False)):
        expected = Classifier.open(SHIPPED, classic_part=classic_part).predict_bytes(clip, SHORT.name)
        assert code == 200 and got["probabilities"] == pytest.approx(expected["probabilities"], abs=1e-6)
        assert got["combined"] == expected["combined"]
        assert ("averaged with the eGeMAPS + SVM's" in got["combined"]) is classic_part
    assert health["card"] == {"name": card["name"], **unseen} and unseen["chance"] == pytest.approx(1 / 7, abs=1e-6)
    assert health["about"] == card_mod.summary_line(card)
    assert f"{100 * unseen['unweighted_accuracy']:.1f}%" in health["about"] and "chance: 14.3%" in health["about"]
    # /card: the card's own text (emoaugnet info's) as HTML: headings, the figures' table, no markdown left
    assert status == 200 and f"<h1>Model card: {card['name']}</h1>" in page
    assert "<h2>Measured figures</h2>" in page and page.count("<table>") >= 2
    assert all(f"<td>{fig['what']}</td>" in page for fig in card["figures"]) and "| " not in page


def raw_exchange(port: int, head: bytes, body_parts: list[bytes]) -> tuple[int, dict]:
    """Send a request's head and some body parts on a socket, then read the answer without finishing."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(head)
        try:
            for part in body_parts:
                s.sendall(part)
        except (BrokenPipeError, ConnectionResetError):      # it answered and closed before the rest: allowed
            pass
        data = b""
        while b"\r\n\r\n" not in data or len(data.split(b"\r\n\r\n", 1)[1]) < _length(data):
            try:
                chunk = s.recv(65536)
            except ConnectionResetError:                     # the rest unread on its side: what came is the answer
                break
            if not chunk:
                break
            data += chunk
    status = int(data.split(b" ", 2)[1])
    return status, json.loads(data.split(b"\r\n\r\n", 1)[1])


def _length(data: bytes) -> int:
    for line in data.split(b"\r\n\r\n", 1)[0].split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            return int(line.split(b":")[1])
    return 1 << 30


def test_bad_uploads_are_refused_with_the_reason_and_the_service_keeps_serving(model, long_recording,
                                                                              ravdess_fixture, tmp_path):
    good = (ravdess_fixture / SHORT).read_bytes()
    tmp = tmp_path / "tmp"
    limit = 2 ** 20
    with service.running(model, tmp, "--max-upload-mb", "1", "--max-seconds", "5") as url:
        port = int(url.rsplit(":", 1)[1])
        predict = url + "/api/predict"

        def still_serving() -> None:
            status, got = service.post_file(predict, good, SHORT.name)
            assert status == 200 and got["emotion"] in got["probabilities"], got
            assert leftovers(tmp) == []

        still_serving()
        # Content-Length over the limit: 413 after 64 KiB of a declared 10 MiB, so before the body is read
        body, ctype = service.multipart(bytes(10 * 2 ** 20), "big.wav")
        head = (f"POST /api/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {ctype}\r\n"
                f"Content-Length: {len(body)}\r\n\r\n").encode()
        status, got = raw_exchange(port, head, [body[:65536]])
        assert status == 413 and f"at most {limit} bytes" in got["error"] and str(len(body)) in got["error"]
        still_serving()
        # no Content-Length (chunked): 413 once the bytes counted pass the limit, the body never finished
        head = (f"POST /api/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {ctype}\r\n"
                f"Transfer-Encoding: chunked\r\n\r\n").encode()
        chunks = [b"%x\r\n%s\r\n" % (65536, body[i:i + 65536]) for i in range(0, 20 * 65536, 65536)]
        status, got = raw_exchange(port, head, chunks)
        assert status == 413 and f"more than {limit} bytes" in got["error"]
        still_serving()
        # empty, and not audio: 422 with the decoder's reason and predict's error object; no server path
        status, got = service.post_file(predict, b"", "empty.wav")
        assert status == 422 and got == {"path": "empty.wav", "result": "error", "emotion": None,
                                         "error": "empty file (0 bytes)"}
        still_serving()
        status, got = service.post_file(predict, b"these are not audio samples\n" * 40, "notes.flac")
        assert status == 422 and got["result"] == "error" and got["path"] == "notes.flac"
        assert got["error"].startswith("not a readable audio file (") and str(tmp) not in got["error"]
        still_serving()
        # longer than --max-seconds: the limit named
        status, got = service.post_file(predict, long_recording.read_bytes(), "long.wav")
        assert status == 422 and "14.1 s long" in got["error"] and "at most 5 s" in got["error"], got
        still_serving()
        # no `file` field, or no multipart body at all: 400 saying what to send
        status, got = service.post_file(predict, good, SHORT.name, field="audio")
        assert status == 400 and "field `file`" in got["error"]
        status, got = service.post(predict, good, "audio/flac")
        assert status == 400 and "multipart/form-data" in got["error"]
        still_serving()
        # an unknown route, a wrong method: JSON bodies too; the icon is there
        for method, path, code in (("GET", "/api/nothing", 404), ("GET", "/api/predict", 405)):
            try:
                urllib.request.urlopen(urllib.request.Request(url + path, method=method), timeout=30)
                raise AssertionError(f"{method} {path} answered 2xx")
            except urllib.error.HTTPError as exc:
                assert exc.code == code and "error" in json.loads(exc.read()), (path, exc.code)
        with urllib.request.urlopen(url + "/favicon.ico", timeout=30) as icon:
            assert icon.status == 200 and icon.read(4) == b"\x00\x00\x01\x00"      # the ICO signature


def page_driver(download_dir: Path):
    """Selenium on Debian's headless chromium + chromium-driver, offline (tests/helpers/browser.py's flags),
    with a fake microphone (a beep) granted without asking."""
    import shutil

    from helpers import browser
    from helpers.needs import missing
    program = browser.chromium()
    driver_program = shutil.which("chromedriver")
    if driver_program is None:
        missing("chromedriver not found: install Debian's chromium-driver package (apt-get install chromium-driver)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    options = webdriver.ChromeOptions()
    options.binary_location = program
    # OFFLINE resolves no host and sends every request to a proxy that is not there; here 127.0.0.1, the
    # service, is excluded from both (Chromium's implicit loopback bypass, which "<-loopback>" removes).
    offline = [flag.replace("~NOTFOUND", "~NOTFOUND, EXCLUDE 127.0.0.1") for flag in browser.OFFLINE
               if not flag.startswith("--proxy-bypass-list")]
    for flag in (*offline, "--window-size=1000,900", f"--user-data-dir={download_dir}",
                 "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"):
        options.add_argument(flag)
    return webdriver.Chrome(options=options, service=Service(driver_program))


@pytest.mark.browser
def test_page_uploads_and_records_offline_in_headless_chromium(model, long_recording, ravdess_fixture, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    from helpers import browser
    with service.running(model, tmp_path / "tmp") as url:
        status, expected = service.post_file(url + "/api/predict", long_recording.read_bytes(), long_recording.name)
        assert status == 200
        classes = service.get(url + "/api/health")["classes"]
        driver = page_driver(tmp_path / "profile")
        try:
            driver.get(url + "/")
            wait = WebDriverWait(driver, 60)
            wait.until(lambda d: "Model export (onnx)" in d.find_element(By.ID, "model").text)
            # every resource came from the service itself (no CDN): the page works with networking off
            loaded = driver.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
            assert loaded and all(name.startswith(url) for name in loaded), loaded
            driver.find_element(By.ID, "file").send_keys(str(long_recording))
            wait.until(lambda d: d.find_element(By.ID, "result").is_displayed())
            assert driver.find_element(By.ID, "name").text == long_recording.name
            assert "no card" in driver.find_element(By.ID, "about").text
            assert driver.find_element(By.ID, "about").find_element(By.TAG_NAME, "a").get_attribute("href") == url + "/card"
            said = driver.find_element(By.ID, "emotion").text
            assert said[0].isupper() and said.lower() == expected["answer"]
            bars = driver.find_elements(By.CSS_SELECTOR, "#bars .bar")
            assert [b.get_attribute("data-emotion") for b in bars] == classes
            widths = [float(b.find_element(By.CSS_SELECTOR, ".fill").value_of_css_property("width")[:-2])
                      for b in bars]
            top = max(expected["probabilities"], key=expected["probabilities"].get)
            assert widths[classes.index(top)] == max(widths) > 0
            # segments: named in full, by three letters or only by colour (legend, hover), never clipped
            cells = driver.find_elements(By.CSS_SELECTOR, "#timeline .segment")
            assert [c.get_attribute("data-label") for c in cells] == [s["label"] for s in expected["segments"]]
            for cell, seg in zip(cells, expected["segments"]):
                if seg["label"] == "uncertain":
                    lead = [c["emotion"] for c in seg["candidates"]]
                    names = [f"not sure: {lead[0]} or {lead[1]}", f"{lead[0][:3]}/{lead[1][:3]}?", f"{lead[0][:3]}?",
                             "?", ""]
                else:
                    names = [seg["label"], seg["label"][:3], ""]
                assert cell.text in names
                assert driver.execute_script("const t = arguments[0].firstChild; "
                                             "return t.scrollWidth <= arguments[0].clientWidth", cell)
                if seg["probabilities"]:
                    best = max(seg["probabilities"], key=seg["probabilities"].get)
                    assert f"{best} {seg['probabilities'][best]:.3f}" in cell.get_attribute("title")
            assert any(c.text for c in cells)
            legend = driver.find_element(By.ID, "legend").text.split("\n")
            assert legend == [*classes, "not sure", "silence"]
            strip = driver.find_elements(By.CSS_SELECTOR, "#windows .window")
            assert len(strip) == len(expected["windows"])
            ticks = [t.text for t in driver.find_elements(By.CSS_SELECTOR, "#axis .tick")]
            assert ticks[0] == "0 s" and len(ticks) >= 5                   # every 2 s of 13 s
            # the other upload is answered the other way: one of the two is "not sure: a or b"
            driver.find_element(By.ID, "file").send_keys(str(ravdess_fixture / SHORT))
            wait.until(lambda d: d.find_element(By.ID, "name").text == SHORT.name)
            other = driver.find_element(By.ID, "emotion").text.lower()
            assert sorted(x.startswith("not sure: ") for x in (said.lower(), other)) == [False, True]
            png = tmp_path / "page.png"            # never the tracked docs/figures/serve.png
            driver.save_screenshot(str(png))
            assert browser.colourful(__import__("matplotlib.image", fromlist=["imread"]).imread(png)[..., :3]) > 0.01
            # the microphone path: MediaRecorder (fake device), sent as recorded (WebM / Opus), classified
            driver.find_element(By.ID, "record").click()
            wait.until(lambda d: "Recording" in d.find_element(By.ID, "status").text)
            __import__("time").sleep(3)
            driver.find_element(By.ID, "record").click()
            wait.until(lambda d: d.find_element(By.ID, "name").text == "recording.webm"
                       and d.find_element(By.ID, "result").is_displayed())
            assert driver.find_element(By.ID, "status").text == ""
            heard = driver.find_element(By.ID, "emotion").text.lower()
            assert heard in classes or heard.startswith("not sure: ")
        finally:
            driver.quit()
    assert leftovers(tmp_path / "tmp") == []


@pytest.mark.browser
def test_readmes_screenshot_tool_uploads_a_recording_and_saves_the_page(model, long_recording, tmp_path):
    """`python tools/serve_screenshot.py` (README's picture, made on purpose) on a model, into a temp folder."""
    from helpers import browser
    browser.chromium()
    png = tmp_path / "serve.png"
    done = subprocess.run([sys.executable, "tools/serve_screenshot.py", "--recording", str(long_recording),
                           "--model", str(model), "--out", str(png)], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    from matplotlib.image import imread
    assert browser.colourful(imread(png)[..., :3]) > 0.01
