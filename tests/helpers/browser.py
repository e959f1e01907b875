"""A real headless Chromium with networking off, to screenshot a local HTML page; pixel statistics.

``screenshot(page, png)`` runs Chromium (Debian's ``chromium`` package) on a ``file://`` page with a fresh
profile, no background traffic, every host name resolving to nothing and every request sent to a proxy
that is not there, so a page that needs the network shows what an offline machine shows. Virtual time
lets scripts finish before the picture is taken. ``chromium()`` finds the program: without one, tests
fail under CI=true and are skipped with the reason elsewhere (like the SSH test's sshd). ``inked``,
``colourful`` and ``dark_blue`` tell a drawn picture (a screenshot or a PNG figure) from a blank one.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from helpers.needs import missing

NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
OFFLINE = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
           "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-extensions",
           "--disable-default-apps", "--host-resolver-rules=MAP * ~NOTFOUND",
           "--proxy-server=127.0.0.1:9", "--proxy-bypass-list=<-loopback>", "--hide-scrollbars")


def chromium() -> str:
    """The Chromium program; a test that needs it fails under CI=true and is skipped elsewhere without it."""
    found = next((path for path in map(shutil.which, NAMES) if path), None)
    if found is None:
        missing("chromium not found: install Debian's chromium package (apt-get install chromium)")
    return found


def screenshot(page: Path, png: Path, width: int = 1280, height: int = 2400) -> np.ndarray:
    """Screenshot ``page`` offline into ``png``; its pixels as a float RGB array in [0, 1]."""
    from matplotlib.image import imread

    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        done = subprocess.run([chromium(), *OFFLINE, f"--user-data-dir={profile}", f"--window-size={width},{height}",
                               "--virtual-time-budget=15000", f"--screenshot={png}", page.resolve().as_uri()],
                              capture_output=True, text=True, timeout=180, env={**os.environ, "HOME": profile})
    assert done.returncode == 0 and png.is_file(), f"chromium failed ({done.returncode}):\n{done.stderr[-3000:]}"
    return imread(png)[..., :3]


def inked(pixels: np.ndarray) -> float:
    """Share of pixels that are not (near) white: about 0 for a blank page."""
    return float(np.mean(pixels.min(axis=2) < 0.9))


def colourful(pixels: np.ndarray) -> float:
    """Share of clearly coloured (not grey) pixels: marks, bars and heat maps, not text or axes."""
    return float(np.mean(pixels.max(axis=2) - pixels.min(axis=2) > 0.25))


def dark_blue(pixels: np.ndarray) -> int:
    """Pixels of the dark end of matplotlib's Blues map: the confusion matrix's (nearly) full cells."""
    return int(np.count_nonzero((pixels[..., 2] > 0.3) & (pixels[..., 0] < 0.15) & (pixels[..., 1] < 0.3)))
