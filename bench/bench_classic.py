"""Benchmark: what the shipped model's classic part (openSMILE eGeMAPS + SVM) adds to each answer.

    python bench/bench_classic.py                  # 20 repeats
    python bench/bench_classic.py --repeats 50

The shipped model (its two networks, ONNX) opened twice in one process: with its classic part, as
``emoaugnet predict`` answers, and without it (``classic_part=False``, ``--no-classic``). Inputs: a fixture
recording (3.9 s, 22,050 Hz FLAC) and the same recording repeated to 15.5 s, so reading, features, the
networks and, for the first, openSMILE's functionals and the SVM are all timed. The two are called in turn
within every repeat (after 3 warm-up calls), so both run under the same load on a shared machine; printed:
the median ms per recording of each, and their ratio.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))
from bench_predict import median_ms  # noqa: E402  (the same alternating medians)

FIXTURE = ROOT / "tests" / "fixtures" / "ravdess" / "Actor_01" / "03-01-05-01-01-01-01.flac"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args(argv)
    import numpy as np
    import soundfile as sf

    from emoaugnet.inference.api import Classifier
    from emoaugnet.model import backend
    print(f"bench_classic: {backend.cpu_model()}, {os.cpu_count()} CPUs (load average {os.getloadavg()[0]:.1f}), "
          f"{time.strftime('%Y-%m-%d')}; medians of {args.repeats}")
    both = {"with the classic part": Classifier.open(), "network alone": Classifier.open(classic_part=False)}
    if both["with the classic part"].predictor.partner is None:
        raise SystemExit("bench_classic: the shipped model has no classic part (emoaugnet/shipped/classic/)")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        y, sr = sf.read(FIXTURE, dtype="float32")
        for times in (1, 4):
            path = Path(tmp) / f"clip{times}.flac"
            sf.write(path, np.tile(y, times), sr)
            ms = median_ms({name: (lambda c=c: c.predict_file(path)) for name, c in both.items()}, args.repeats)
            a, b = ms["with the classic part"], ms["network alone"]
            rows.append(f"| {len(y) * times / sr:.1f} s, 22k mono flac | {a:.1f} ms | {b:.1f} ms | {a / b:.1f}x |")
    print("\n| recording | with the classic part | network alone | ratio |\n|---|---|---|---|")
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
