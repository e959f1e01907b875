"""Benchmark: predict latency per file with the model loaded, batching, and the command's start-up time.

    python bench/bench_predict.py                  # 20 repeats, 3 s clips cut from the fixtures
    python bench/bench_predict.py --repeats 50 --startup-repeats 5

Untrained bundles (weights as initialised, scaler 0/1) in the paper's ``flat`` layout and the ``frames``
layout are saved with :func:`emoaugnet.bundle.save` to a temporary folder; latency does not depend on
the weights. Inputs: the first 3.0 s of a 22,050 Hz mono fixture FLAC and of the official 48 kHz stereo
WAV (tests/fixtures/ravdess-48k), so reading, resampling, features and the model are all timed.

Printed, medians over ``--repeats`` after 3 warm-up calls:
- per-file latency of ``Predictor.classify`` on one file, and its parts (read + window, features, model);
- baseline in the same run: the model called eagerly (``model(x)``, what ``Bundle.predict_frames`` did
  before it used ``predict_on_batch``), and the ratio;
- batching: 64 files in one ``classify`` call, per file, against one call per file;
- start-up: ``python -m emoaugnet predict --help`` against a run on one file (fresh process each time,
  ``--startup-repeats`` times; the difference is mostly importing TensorFlow and loading the model).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

FIXTURE_22K = ROOT / "tests" / "fixtures" / "ravdess" / "Actor_01" / "03-01-05-01-01-01-01.flac"
FIXTURE_48K = ROOT / "tests" / "fixtures" / "ravdess-48k" / "Actor_01" / "03-01-08-01-02-02-01.wav"


def median_ms(fn, repeats: int, warmup: int = 3) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def make_inputs(tmp: Path) -> dict[str, Path]:
    import soundfile as sf
    out = {}
    for name, src, suffix in (("22k mono flac", FIXTURE_22K, ".flac"), ("48k stereo wav", FIXTURE_48K, ".wav")):
        y, sr = sf.read(src, dtype="float32", always_2d=True)
        path = tmp / f"clip3s_{sr}_{y.shape[1]}ch{suffix}"
        sf.write(path, y[: 3 * sr], sr, subtype="PCM_16")
        out[name] = path
    return out


def make_bundles(tmp: Path) -> dict[str, Path]:
    import numpy as np

    from emoaugnet import bundle
    from emoaugnet import model as model_mod
    from emoaugnet.params import load
    p = load(ROOT / "params.yaml")
    size = p.num_frames * p.features.num_channels
    out = {}
    for layout in ("flat", "frames"):
        mp = dataclasses.replace(p.model, input_layout=layout)
        net = model_mod.build(mp, len(p.classes), p.num_frames, p.features.num_channels)
        bundle.save(tmp / layout, net, np.zeros(size, np.float32), np.ones(size, np.float32), p.classes, mp,
                    p.features, p.audio, p.num_frames, p.features.num_channels, "float32")
        out[layout] = tmp / layout
    return out


def bench_layout(layout: str, directory: Path, inputs: dict[str, Path], repeats: int) -> None:
    import numpy as np

    from emoaugnet import bundle, features
    from emoaugnet import inference as predict
    start = time.perf_counter()
    b = bundle.load(directory)
    load_ms = 1000 * (time.perf_counter() - start)
    pp = predict.PredictParams()
    predictor = predict.Predictor(b, pp)
    print(f"\n[{layout}] {b.model.count_params():,} parameters; bundle.load {load_ms:.0f} ms")
    for name, path in inputs.items():
        one = [(str(path), None)]
        total = median_ms(lambda: list(predictor.classify(one)), repeats)
        rec = predict.read_windows(path, b.audio_params, pp)
        clips = np.stack([w.samples for w in rec.windows])
        frames = features.extract(clips, b.audio_params.sample_rate, b.feature_params)
        read = median_ms(lambda: predict.read_windows(path, b.audio_params, pp), repeats)
        feat = median_ms(lambda: features.extract(clips, b.audio_params.sample_rate, b.feature_params), repeats)
        model = median_ms(lambda: b.predict_frames(frames), repeats)
        x = b.inputs(frames)
        eager_repeats = max(3, repeats // 5) if layout == "flat" else repeats
        eager = median_ms(lambda: np.asarray(b.model(x, training=False)), eager_repeats, warmup=1)
        print(f"  {name}, {len(rec.windows)} window(s): per file {total:.1f} ms "
              f"(read {read:.1f} + features {feat:.1f} + model {model:.1f}); "
              f"baseline eager model call {eager:.1f} ms -> model {eager / model:.1f}x faster")
    path = inputs["22k mono flac"]
    many = [(str(path), None)] * 64
    batched = median_ms(lambda: list(predictor.classify(many)), max(3, repeats // 5), warmup=1) / len(many)
    single = median_ms(lambda: list(predictor.classify(many[:1])), repeats)
    print(f"  64 files in one call: {batched:.1f} ms per file vs {single:.1f} ms one call per file "
          f"-> batching {single / batched:.2f}x")


def bench_startup(directory: Path, path: Path, repeats: int) -> None:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}

    def run(*args: str) -> float:
        start = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "emoaugnet", "predict", *args], cwd=ROOT, env=env,
                              capture_output=True, text=True)
        if proc.returncode != 0:
            raise SystemExit(f"predict failed ({proc.returncode}): {proc.stderr[-2000:]}")
        return time.perf_counter() - start

    helps = [run("--help") for _ in range(repeats)]
    ones = [run("--model", str(directory), str(path)) for _ in range(repeats)]
    h, o = statistics.median(helps), statistics.median(ones)
    print(f"\nstart-up (frames model, fresh process, median of {repeats}): `--help` {h:.2f} s; "
          f"one file {o:.2f} s; difference {o - h:.2f} s (TensorFlow import, model build + load, first call)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--startup-repeats", type=int, default=3)
    args = parser.parse_args()
    print(f"bench_predict: {os.cpu_count()} CPUs (load average {os.getloadavg()[0]:.1f}), "
          f"{args.repeats} repeats, medians")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        inputs = make_inputs(tmp)
        bundles = make_bundles(tmp)
        for layout in ("frames", "flat"):
            bench_layout(layout, bundles[layout], inputs, args.repeats)
        bench_startup(bundles["frames"], inputs["22k mono flac"], args.startup_repeats)


if __name__ == "__main__":
    main()
