"""README's picture of the service's page (``docs/figures/serve.png``), made on purpose from a real model.

    python tools/serve_screenshot.py --recording RECORDING [--model DIR] [--out docs/figures/serve.png]

Starts ``python -m emoaugnet serve`` on 127.0.0.1 (``--model``: default, the model shipped in the
package), opens its page in Debian's headless Chromium through chromedriver (selenium) with networking
off, uploads ``RECORDING``, waits for the answer and saves a screenshot of the page to ``--out``. Needs the
``serve`` extra, selenium (requirements.txt) and the ``chromium`` and ``chromium-driver`` packages.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from emoaugnet.inference.model_dir import SHIPPED  # noqa: E402  (the project root on the path first)

# Chromium offline: no background traffic; every host resolves to nothing but 127.0.0.1, the service.
OFFLINE = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
           "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-extensions",
           "--disable-default-apps", "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
           "--proxy-server=127.0.0.1:9", "--hide-scrollbars", "--window-size=1000,900")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_service(model: Path, port: int, log: Path) -> subprocess.Popen:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": str(ROOT)}
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "emoaugnet", "serve", "--model", str(model),
                                 "--port", str(port)], cwd=ROOT, env=env, stdout=out, stderr=out)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"serve_screenshot: serve exited with {proc.returncode}:\n{log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=5):
                return proc
        except OSError:
            time.sleep(0.5)
    proc.terminate()
    raise SystemExit("serve_screenshot: the service did not answer within 180 s")


def shoot(model: Path, recording: Path, png: Path) -> None:
    """Upload ``recording`` on the page of a service on ``model`` and save the page to ``png``."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    program = next((p for p in map(shutil.which, ("chromium", "chromium-browser")) if p), None)
    driver_program = shutil.which("chromedriver")
    if program is None or driver_program is None:
        raise SystemExit("serve_screenshot: needs Debian's chromium and chromium-driver packages")
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        proc = start_service(model, port, Path(tmp) / "serve.log")
        options = webdriver.ChromeOptions()
        options.binary_location = program
        for flag in (*OFFLINE, f"--user-data-dir={tmp}/profile"):
            options.add_argument(flag)
        driver = None
        try:
            driver = webdriver.Chrome(options=options, service=Service(driver_program))
            driver.get(f"http://127.0.0.1:{port}/")
            wait = WebDriverWait(driver, 60)
            wait.until(lambda d: d.find_element(By.ID, "model").text.strip())
            driver.find_element(By.ID, "file").send_keys(str(recording.resolve()))
            wait.until(lambda d: d.find_element(By.ID, "result").is_displayed())
            png.parent.mkdir(parents=True, exist_ok=True)
            driver.save_screenshot(str(png))
        finally:
            if driver is not None:
                driver.quit()
            proc.terminate()
            proc.wait(timeout=30)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--recording", required=True, type=Path, help="the audio file to upload")
    parser.add_argument("--model", type=Path, default=SHIPPED, help="model folder (default: the shipped model)")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "figures" / "serve.png")
    args = parser.parse_args(argv)
    if not args.recording.is_file():
        parser.error(f"--recording {args.recording}: no such file")
    shoot(args.model, args.recording, args.out)
    print(f"serve_screenshot: {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
