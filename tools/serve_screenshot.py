"""README's picture of the service's page (``docs/figures/serve.png``), made on purpose from a real model.

    python tools/serve_screenshot.py --recording RECORDING [--model DIR] [--out docs/figures/serve.png]

Starts ``python -m emoaugnet serve`` on 127.0.0.1 (``--model``: default, the model shipped in the
package), opens its page in Debian's headless Chromium through chromedriver (selenium) with networking
off, uploads ``RECORDING``, waits for the answer and saves a screenshot of the page to ``--out``. Needs the
``serve`` extra, selenium (requirements.txt) and the ``chromium`` and ``chromium-driver`` packages.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests"), str(ROOT)]
from emoaugnet.inference.model_dir import SHIPPED  # noqa: E402  (the project root on the path first)
from helpers import browser, service  # noqa: E402  (the service and Chromium settings the tests use)

# Chromium offline (tests/helpers/browser.py), except 127.0.0.1, where the service answers.
OFFLINE = [flag.replace("~NOTFOUND", "~NOTFOUND, EXCLUDE 127.0.0.1") for flag in browser.OFFLINE
           if not flag.startswith("--proxy-bypass-list")] + ["--window-size=1000,900"]


def shoot(model: Path, recording: Path, png: Path) -> None:
    """Upload ``recording`` on the page of a service on ``model`` and save the page to ``png``."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    program = next((p for p in map(shutil.which, browser.NAMES) if p), None)
    driver_program = shutil.which("chromedriver")
    if program is None or driver_program is None:
        raise SystemExit("serve_screenshot: needs Debian's chromium and chromium-driver packages")
    with tempfile.TemporaryDirectory() as tmp, service.running(model, Path(tmp) / "tmp") as url:
        options = webdriver.ChromeOptions()
        options.binary_location = program
        for flag in (*OFFLINE, f"--user-data-dir={tmp}/profile"):
            options.add_argument(flag)
        driver = webdriver.Chrome(options=options, service=Service(driver_program))
        try:
            driver.get(url + "/")
            wait = WebDriverWait(driver, 60)
            wait.until(lambda d: d.find_element(By.ID, "model").text.strip())
            driver.find_element(By.ID, "file").send_keys(str(recording.resolve()))
            wait.until(lambda d: d.find_element(By.ID, "result").is_displayed())
            png.parent.mkdir(parents=True, exist_ok=True)
            driver.save_screenshot(str(png))
        finally:
            driver.quit()


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
