"""How much of the analysis window is padding, per corpus, under audio.window fixed vs voiced.

Usage: python tools/window_padding.py ../shared/corpora/emodb-dev ../shared/corpora/tess-yaf ../shared/corpora/ravdess
Prints, per folder and window: files, files with padded frames, mean padded share of the window.
"""

import sys
from pathlib import Path

import numpy as np

from emoaugnet.data import audio
from emoaugnet.params import from_dict, override
import yaml


def main(folders):
    tree = yaml.safe_load(Path("params.yaml").read_text())
    for folder in folders:
        files = sorted(p for p in Path(folder).rglob("*") if p.suffix.lower() in (".wav", ".flac"))
        for window in ("fixed", "voiced"):
            override(tree, "audio.window", window)
            ap = from_dict(tree).audio
            shares = [1 - len(audio.clip_window(f, ap)) / ap.num_samples for f in files]
            shares = np.array(shares)
            print(f"{Path(folder).name:12s} {window:6s} files {len(files):5d}  padded {np.sum(shares > 0):5d} "
                  f"({np.mean(shares > 0):.0%})  mean padded share {shares.mean():.1%}  "
                  f"median {np.median(shares):.1%}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
