"""Build ``.dvc/plots_page.html``: DVC's plots page template with vega, vega-lite and vega-embed inlined.

DVC's default page loads these three scripts from a CDN, so on a machine without network access its
vega plots (confusion matrix, per-class bars, DVCLive curves) stay blank. ``.dvc/config`` points
``plots.html_template`` at this file instead; its scripts are the builds DVC's own page asks for
(same packages, same versions), taken from the npm registry with ``npm pack`` and checked against the
pinned integrity hashes below. The page is committed, so nobody needs npm or network to use it; rerun
this script only to change versions (update the pins first):

    python tools/build_plots_page.py            # writes .dvc/plots_page.html (needs npm and network)
    python tools/build_plots_page.py --check    # rebuilds in memory, exit 1 if the committed file differs
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / ".dvc" / "plots_page.html"

# (package, version, file in the package, npm dist.integrity); all three are BSD-3-Clause (UW IDL).
PINS = (
    ("vega", "5.20.2", "build/vega.min.js",
     "sha512-qmH7aD9GGPpssVdxL1xgcdxTbQzyRUeRR16Os385ymvQhiwCYQNA6+eXUPAZDTVLfk0RXu6Jzj6kUE5jQ80EVw=="),
    ("vega-lite", "5.2.0", "build/vega-lite.min.js",
     "sha512-Yxcg8MvYfxHcG6BbkaKT0oVCIMIcE19UvqIsEwBmyd/7h2nzW7oRnID81T8UrY7hpDrIr6wa2JADOT2dhGNErw=="),
    ("vega-embed", "6.18.2", "build/vega-embed.min.js",
     "sha512-wcDyQPE4J5aiCDc3/suH5RQDvrKkjuLkhzUcbOLwEkNF8/+pp17tS0JghzEvAPNRg+5aG1/N2ydixq8Lk3dOlg=="),
)
# dvc_render.html replaces these three strings; none may appear inside the inlined scripts.
PLACEHOLDERS = ("{plot_divs}", "{scripts}", "{refresh_tag}")

TEMPLATE = """<!DOCTYPE html>
<html>
<head>
    <meta charset="utf-8">
    {refresh_tag}
    <title>DVC Plot</title>
    <!-- EmoAugNet offline plots page (tools/build_plots_page.py): DVC's page without its CDN scripts
         (no scripts placeholder, on purpose); vega, vega-lite and vega-embed are inlined below. -->
%(scripts)s
    <style>
        body { font-family: sans-serif; }
        table { border-spacing: 15px; }
    </style>
</head>
<body>
    {plot_divs}
</body>
</html>
"""


def integrity(data: bytes) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


def fetch(package: str, version: str, expected: str, folder: Path) -> Path:
    """``npm pack package@version`` into ``folder``; the tarball, refused unless its hash is ``expected``."""
    done = subprocess.run(["npm", "pack", "--silent", f"{package}@{version}", "--pack-destination", str(folder)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"npm pack {package}@{version} failed:\n{done.stderr.strip()}")
    tarball = folder / done.stdout.strip().splitlines()[-1]
    got = integrity(tarball.read_bytes())
    if got != expected:
        raise SystemExit(f"{tarball.name}: integrity {got}, pinned {expected}; refusing it")
    return tarball


def script(package: str, version: str, member: str, tarball: Path) -> str:
    with tarfile.open(tarball) as tar:
        code = tar.extractfile(f"package/{member}").read().decode("utf-8")
    for bad in (*PLACEHOLDERS, "</script"):
        if bad in code:
            raise SystemExit(f"{package}/{member} contains {bad!r}; it cannot be inlined as is")
    return (f"    <!-- {package}@{version} {member} (BSD-3-Clause, https://vega.github.io) -->\n"
            f"    <script type=\"text/javascript\">{code}</script>")


def build() -> str:
    with tempfile.TemporaryDirectory() as tmp:
        scripts = [script(name, version, member, fetch(name, version, pin, Path(tmp)))
                   for name, version, member, pin in PINS]
    return TEMPLATE % {"scripts": "\n".join(scripts)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true", help="compare with the committed page instead of writing it")
    args = ap.parse_args(argv)
    page = build()
    if args.check:
        same = PAGE.is_file() and PAGE.read_text(encoding="utf-8") == page
        print(f"{PAGE.relative_to(ROOT)}: {'up to date' if same else 'differs from a fresh build'}")
        return 0 if same else 1
    PAGE.write_text(page, encoding="utf-8")
    print(f"wrote {PAGE.relative_to(ROOT)} ({PAGE.stat().st_size:,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
