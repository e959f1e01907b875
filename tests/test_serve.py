"""``emoaugnet serve``: the real service in a subprocess on 127.0.0.1, called over HTTP.

Model: params.yaml's network with its seeded weights, the fixtures' fitted scaler and the last layer x200
(:func:`helpers.featurestore.untrained_bundle`, as tests/test_onnx.py), exported to ONNX with the real
command (tests/conftest.py's ``serve_model``); no training. The service must answer what ``emoaugnet predict`` prints for the same file, refuse
each bad upload with its status and reason, leave no temp file behind and keep serving afterwards.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from emoaugnet import cli
from emoaugnet.serve.upload import TEMP_PREFIX
from helpers import service

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow      # exports a model and starts the service (and Chromium)

SHORT = Path("Actor_01") / "03-01-05-01-01-01-01.flac"


@pytest.fixture
def model(serve_model) -> Path:
    return serve_model                 # tests/conftest.py: exported once for every service test


def predict_prints(model: Path, path: Path, capsys) -> dict:
    capsys.readouterr()
    assert cli.main(["predict", "--model", str(model), str(path)]) == 0
    return json.loads(capsys.readouterr().out)


def leftovers(tmp: Path) -> list[str]:
    return sorted(p.name for p in tmp.rglob(f"{TEMP_PREFIX}*"))


def test_uploads_get_what_predict_prints(model, long_recording, ravdess_fixture, ravdess_48k, tmp_path, capsys):
    files = [ravdess_fixture / SHORT, ravdess_48k / "03-01-08-01-02-02-01.wav", long_recording]
    with service.running(model, tmp_path / "tmp") as url:
        health = service.get(url + "/api/health")
        assert health["model"] == "export" and health["backend"] == "onnx"
        assert health["classes"] == list(json.loads((model / "model.json").read_text())["classes"])
        for path in files:
            expected = predict_prints(model, path, capsys)
            status, got = service.post_file(url + "/api/predict", path.read_bytes(), path.name)
            assert status == 200, got
            assert got["path"] == path.name and expected["path"] == str(path)
            assert {**got, "path": None} == {**expected, "path": None}
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


def raw_exchange(port: int, head: bytes, body_parts: list[bytes]) -> tuple[int, dict]:
    """Send a request's head and some body parts on a socket, then read the answer without finishing."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(head)
        for part in body_parts:
            s.sendall(part)
        data = b""
        while b"\r\n\r\n" not in data or len(data.split(b"\r\n\r\n", 1)[1]) < _length(data):
            chunk = s.recv(65536)
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
            assert driver.find_element(By.ID, "emotion").text.lower() == expected["emotion"]
            bars = driver.find_elements(By.CSS_SELECTOR, "#bars .bar")
            assert [b.get_attribute("data-emotion") for b in bars] == classes
            widths = [float(b.find_element(By.CSS_SELECTOR, ".fill").value_of_css_property("width")[:-2])
                      for b in bars]
            top = classes.index(expected["emotion"])
            assert widths[top] == max(widths) > 0
            cells = driver.find_elements(By.CSS_SELECTOR, "#timeline .window")
            assert [c.text for c in cells] == [w.get("emotion", "silence") for w in expected["windows"]]
            png = tmp_path / "page.png"            # never the tracked docs/figures/serve.png
            driver.save_screenshot(str(png))
            assert browser.colourful(__import__("matplotlib.image", fromlist=["imread"]).imread(png)[..., :3]) > 0.01
            # the microphone path: MediaRecorder (fake device), converted to WAV in the page, classified
            driver.find_element(By.ID, "record").click()
            wait.until(lambda d: "Recording" in d.find_element(By.ID, "status").text)
            __import__("time").sleep(3)
            driver.find_element(By.ID, "record").click()
            wait.until(lambda d: d.find_element(By.ID, "name").text == "recording.wav"
                       and d.find_element(By.ID, "result").is_displayed())
            assert driver.find_element(By.ID, "status").text == ""
            assert driver.find_element(By.ID, "emotion").text.lower() in classes
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
