"""Benchmark: predict on Keras vs the ONNX export (onnxruntime), both layouts, side by side in one run.

    python bench/bench_predict.py                       # 20 repeats, 5 start-ups per configuration
    python bench/bench_predict.py --repeats 50 --startup-repeats 9

Models: params.yaml's network with its initial weights in the paper's ``flat`` layout and the ``frames``
layout, saved with :func:`emoaugnet.model.bundle.save` and exported with :func:`emoaugnet.inference.onnx_export.export`
into a temporary folder (latency does not depend on the weights). Inputs: the first 3.0 s of a 22,050 Hz
mono fixture FLAC and of the official 48 kHz stereo WAV (tests/fixtures/ravdess-48k), so reading,
resampling, features and the model are all timed.

Printed, medians over ``--repeats`` after 3 warm-up calls (Keras and ONNX calls alternate, so both run
under the same load on a shared machine), for each layout and input:
- per clip: ``Predictor.classify`` on one file with the model loaded (Keras: librosa features + a traced
  Keras call; ONNX: numpy features + onnxruntime), its parts (features, model), and Keras / ONNX;
- start-up: ``python -m emoaugnet predict --model DIR FILE`` in a fresh process, one 3 s file, median of
  ``--startup-repeats`` (after one unmeasured run that warms the disk cache), and ``--help`` for reference.
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
from typing import Callable

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

FIXTURE_22K = ROOT / "tests" / "fixtures" / "ravdess" / "Actor_01" / "03-01-05-01-01-01-01.flac"
FIXTURE_48K = ROOT / "tests" / "fixtures" / "ravdess-48k" / "Actor_01" / "03-01-08-01-02-02-01.wav"
LAYOUTS = ("frames", "flat")



def median_ms(fns: dict[str, Callable[[], object]], repeats: int, warmup: int = 3) -> dict[str, float]:
    """Median ms of each function, called in turn within every repeat, so that all of them run under
    the same machine load (this matters on a shared machine)."""
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {name: 1000 * statistics.median(t) for name, t in times.items()}


def make_inputs(tmp: Path) -> dict[str, Path]:
    import soundfile as sf
    out = {}
    for name, src, suffix in (("22k mono flac", FIXTURE_22K, ".flac"), ("48k stereo wav", FIXTURE_48K, ".wav")):
        y, sr = sf.read(src, dtype="float32", always_2d=True)
        path = tmp / f"clip3s_{sr}_{y.shape[1]}ch{suffix}"
        sf.write(path, y[: 3 * sr], sr, subtype="PCM_16")
        out[name] = path
    return out


def make_models(tmp: Path) -> dict[tuple[str, str], Path]:
    """``(layout, "keras" | "onnx")`` -> model folder."""
    import numpy as np

    from emoaugnet.model import bundle
    from emoaugnet.model import network as model_mod
    from emoaugnet.inference.onnx_export import export
    from emoaugnet.params import load
    p = load(ROOT / "params.yaml")
    size = p.num_frames * p.features.num_channels
    out = {}
    for layout in LAYOUTS:
        mp = dataclasses.replace(p.model, input_layout=layout)
        net = model_mod.build(mp, len(p.classes), p.num_frames, p.features.num_channels)
        bundle.save(tmp / layout, net, np.zeros(size, np.float32), np.ones(size, np.float32), p.classes, mp,
                    p.features, p.audio, p.num_frames, p.features.num_channels, "float32")
        export(tmp / layout, tmp / f"{layout}-onnx")
        out[layout, "keras"], out[layout, "onnx"] = tmp / layout, tmp / f"{layout}-onnx"
    return out


def bench_latency(models: dict[tuple[str, str], Path], inputs: dict[str, Path], repeats: int) -> list[str]:
    import numpy as np

    from emoaugnet.inference import predictor as inference
    from emoaugnet.inference.api import load_model
    rows = []
    kinds = ("keras", "onnx")
    for layout in LAYOUTS:
        loaded = {kind: load_model(models[layout, kind], kind) for kind in kinds}
        predictors = {kind: inference.Predictor(m, inference.PredictParams()) for kind, m in loaded.items()}
        for name, path in inputs.items():
            rec = inference.read_windows(path, loaded["onnx"].audio_params, inference.PredictParams())
            clips = np.stack([w.samples for w in rec.windows])
            frames = loaded["keras"].extract(clips)
            fns = {}
            for kind in kinds:
                m, predictor = loaded[kind], predictors[kind]
                fns[kind, "total"] = lambda p=predictor: list(p.classify([(str(path), None)]))
                fns[kind, "features"] = lambda m=m: m.extract(clips)
                fns[kind, "model"] = lambda m=m: m.predict_frames(frames)
            t = median_ms(fns, repeats)
            for kind in kinds:
                print(f"  [{layout}] {name}, {kind:5}: per clip {t[kind, 'total']:6.1f} ms "
                      f"(features {t[kind, 'features']:5.1f} + model {t[kind, 'model']:6.1f} + reading the file)")
            ratio = t["keras", "total"] / t["onnx", "total"]
            rows.append(f"| {layout} | per 3 s clip, {name} | {t['keras', 'total']:.1f} ms | {t['onnx', 'total']:.1f} ms "
                        f"| {ratio:.1f}x |")
    return rows


def bench_startup(models: dict[tuple[str, str], Path], path: Path, repeats: int) -> list[str]:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}

    def run(*args: str) -> float:
        start = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "emoaugnet", "predict", *args], cwd=ROOT, env=env,
                              capture_output=True, text=True)
        if proc.returncode != 0:
            raise SystemExit(f"predict failed ({proc.returncode}): {proc.stderr[-2000:]}")
        return time.perf_counter() - start

    def median_s(runs: dict[str, tuple[str, ...]]) -> dict[str, float]:
        for args in runs.values():                  # warm the disk cache
            run(*args)
        times: dict[str, list[float]] = {name: [] for name in runs}
        for _ in range(repeats):                    # in turn, as in median_ms
            for name, args in runs.items():
                times[name].append(run(*args))
        return {name: statistics.median(t) for name, t in times.items()}

    rows = []
    print(f"  `predict --help`: {median_s({'help': ('--help',)})['help']:.2f} s")
    for layout in LAYOUTS:
        t = median_s({kind: ("--model", str(models[layout, kind]), "--backend", kind, str(path))
                      for kind in ("keras", "onnx")})
        print(f"  [{layout}] start-up, one file: keras {t['keras']:.2f} s, onnx {t['onnx']:.2f} s")
        rows.append(f"| {layout} | start-up + one file (fresh process) | {t['keras']:.2f} s | {t['onnx']:.2f} s "
                    f"| {t['keras'] / t['onnx']:.1f}x |")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--startup-repeats", type=int, default=5)
    args = parser.parse_args()
    from emoaugnet.model import backend   # its CPU helpers import no Keras
    print(f"bench_predict: {backend.cpu_model()}, {os.cpu_count()} CPUs (load average {os.getloadavg()[0]:.1f}), "
          f"{time.strftime('%Y-%m-%d')}; medians of {args.repeats} (latency) and {args.startup_repeats} (start-up)")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        inputs = make_inputs(tmp)
        models = make_models(tmp)
        print("per-clip latency, model loaded:")
        rows = bench_latency(models, inputs, args.repeats)
        print("start-up:")
        rows += bench_startup(models, inputs["22k mono flac"], args.startup_repeats)
    print("\n| layout | measure | Keras (TensorFlow) | ONNX (onnxruntime) | Keras / ONNX |\n|---|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
