"""A long recording made of real ones: the RAVDESS fixtures (tests/fixtures/ravdess), emotion by emotion.

    python tools/long_recording.py --seconds 600 --per-emotion 8 --out long.wav

Concatenates ``--per-emotion`` consecutive fixture utterances of one emotion (actors 01-04 in turn), then
the next emotion's, cycling through the seven classes (neutral, surprise, disgust, fear, sad, happy,
angry) in a shuffled (seeded) order each round, with 2 s of silence between blocks, until ``--seconds``
are reached (cut there). Writes 16-bit mono WAV at the fixtures' 22,050 Hz and prints the blocks
(start, end, emotion) so a picture of its timeline can be checked against what was said. Used for the
10-minute ``predict --plot`` and the page's 30 s timeline in docs/figures/ (docs/predict.md).
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "fixtures" / "ravdess"
#: RAVDESS emotion codes of the seven classes (calm, 02, is left out).
CODES = {"neutral": "01", "happy": "03", "sad": "04", "angry": "05", "fear": "06", "disgust": "07", "surprise": "08"}
GAP_SECONDS = 2.0


def build(seconds: float, per_emotion: int, seed: int = 0) -> tuple[np.ndarray, int, list[tuple[float, float, str]]]:
    """``(samples, rate, blocks)`` of a ``seconds``-long recording (see the module doc)."""
    files = {e: sorted(FIXTURE.glob(f"Actor_*/03-01-{code}-*.flac")) for e, code in CODES.items()}
    rng = random.Random(seed)
    parts, blocks, now, rate, turn = [], [], 0.0, None, 0
    while now < seconds:
        order = list(CODES)
        rng.shuffle(order)
        for emotion in order:
            pool = files[emotion]
            start = now
            for k in range(per_emotion):
                y, rate = sf.read(pool[(turn * per_emotion + k) % len(pool)], dtype="float32")
                parts.append(y)
                now += len(y) / rate
            blocks.append((round(start, 2), round(now, 2), emotion))
            parts.append(np.zeros(int(GAP_SECONDS * rate), np.float32))
            now += GAP_SECONDS
            if now >= seconds:
                break
        turn += 1
    y = np.concatenate(parts)[:int(seconds * rate)]
    return y, rate, [b for b in blocks if b[0] < seconds]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=600.0)
    parser.add_argument("--per-emotion", type=int, default=8, help="utterances per emotion block (default: 8)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    y, rate, blocks = build(args.seconds, args.per_emotion, args.seed)
    sf.write(args.out, y, rate, subtype="PCM_16")
    for start, end, emotion in blocks:
        print(f"{start:8.2f} {min(end, args.seconds):8.2f}  {emotion}")
    print(f"long_recording: {args.out} ({len(y) / rate:.1f} s at {rate} Hz)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
