"""Benchmark: `emoaugnet predict DIR --output FILE` on many short files, 1 and 2 worker processes.

    python bench/bench_predict_batch.py                      # 10,000 clips, 3 repeats
    python bench/bench_predict_batch.py --files 2000 --repeats 5 --model export

Inputs: ``--files`` clips of 1-2 s (length and start drawn with a fixed seed) cut from the 64 fixture
RAVDESS recordings (tests/fixtures/ravdess, 22,050 Hz mono), written as 16-bit WAV into a temporary folder.
Model: ``--model`` (default: the shipped model).

Printed: the CPU model, CPU count and load average (before and after); the single-file figure, the
median of ``Classifier.predict_file`` over ``--single`` of the clips (model loaded, after 5 warm-up
calls) in this process; then for each worker count the median wall time over ``--repeats`` of the whole
command in a fresh process (start-up, model loading and the workers' start included; worker counts
alternate within each repeat, so both run under the same load on a shared machine), files/s, the
per-file cost (wall time / files) and its ratio to the single-file figure, and the 2-worker speed-up.
Each run writes a fresh output whose line count is checked.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "ravdess"
WORKERS = (1, 2)


def make_clips(folder: Path, count: int, seed: int = 0) -> list[Path]:
    import numpy as np
    import soundfile as sf
    sources = [sf.read(p, dtype="float32") for p in sorted(FIXTURES.rglob("*.flac"))]
    rng = np.random.default_rng(seed)
    paths = []
    for i in range(count):
        y, sr = sources[i % len(sources)]
        n = min(len(y), int(rng.uniform(1.0, 2.0) * sr))
        start = int(rng.integers(0, len(y) - n + 1))
        sub = folder / f"{i // 1000:02d}"
        sub.mkdir(parents=True, exist_ok=True)
        path = sub / f"clip_{i:05d}.wav"
        sf.write(path, y[start:start + n], sr, subtype="PCM_16")
        paths.append(path)
    return paths


def cpu_line() -> str:
    """The CPU's model name, family and model number (the name alone says "AMD EPYC" on some clouds)."""
    from emoaugnet.model import backend   # its CPU helpers import no Keras
    fields = {}
    for line in Path("/proc/cpuinfo").read_text().splitlines() if Path("/proc/cpuinfo").exists() else []:
        key, _, value = line.partition(":")
        fields.setdefault(key.strip(), value.strip())
    extra = f", CPU family {fields['cpu family']} model {fields['model']}" if "cpu family" in fields else ""
    return f"{backend.cpu_model()}{extra}, {os.cpu_count()} CPUs"


def loads() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def headline(name: str, what: str) -> str:
    """``name: CPU, load average, date; what``: the first line a benchmark prints."""
    return f"{name}: {cpu_line()}, load average {loads()} (1, 5, 15 min), {time.strftime('%Y-%m-%d %H:%M')}; {what}"


def single_file_ms(model: str, clips: list[Path], count: int) -> float:
    from emoaugnet.inference.api import Classifier
    clf = Classifier.from_dir(model)
    for path in clips[:5]:
        clf.predict_file(path)
    times = []
    for path in clips[5:5 + count]:
        start = time.perf_counter()
        result = clf.predict_file(path)
        times.append(time.perf_counter() - start)
        assert result["result"] != "error", result
    return 1000 * statistics.median(times)


def run_predict(model: str, folder: Path, out: Path, workers: int, files: int) -> float:
    out.unlink(missing_ok=True)
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "emoaugnet", "predict", "--model", model, "--no-progress",
                           "--workers", str(workers), "--output", str(out), str(folder)],
                          capture_output=True, text=True, cwd=ROOT)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"predict --workers {workers} failed ({proc.returncode}): {proc.stderr[-2000:]}")
    lines = out.read_bytes().count(b"\n")
    if lines != files:
        raise SystemExit(f"predict --workers {workers} wrote {lines} results for {files} files")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--single", type=int, default=200, help="clips timed one by one for the single-file figure")
    parser.add_argument("--model", default=str(ROOT / "emoaugnet" / "shipped"))
    args = parser.parse_args()
    print(headline("bench_predict_batch", f"{args.files} clips of 1-2 s, medians of {args.repeats} runs"))
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        start = time.perf_counter()
        clips = make_clips(tmp / "clips", args.files)
        print(f"  made {len(clips)} clips in {time.perf_counter() - start:.1f} s")
        single = single_file_ms(args.model, clips, args.single)
        print(f"  Classifier.predict_file, one clip, model loaded: {single:.2f} ms (median of {args.single})")
        times: dict[int, list[float]] = {w: [] for w in WORKERS}
        for repeat in range(args.repeats):
            for workers in (WORKERS if repeat % 2 == 0 else WORKERS[::-1]):
                times[workers].append(run_predict(args.model, tmp / "clips", tmp / "out.jsonl", workers, args.files))
                print(f"  repeat {repeat + 1}, {workers} worker(s): {times[workers][-1]:.1f} s "
                      f"(load average {os.getloadavg()[0]:.2f})", flush=True)
    median = {w: statistics.median(t) for w, t in times.items()}
    print("\n| workers | wall time (median) | files/s | per file | per file / predict_file |\n|---|---|---|---|---|")
    for workers in WORKERS:
        per_file = 1000 * median[workers] / args.files
        print(f"| {workers} | {median[workers]:.1f} s | {args.files / median[workers]:.0f} | {per_file:.2f} ms "
              f"| {per_file / single:.2f} |")
    print(f"\nsingle file (Classifier.predict_file): {single:.2f} ms, {1000 / single:.0f} files/s; "
          f"2 workers / 1 worker: {median[1] / median[2]:.2f}x; load average after {loads()}")


if __name__ == "__main__":
    main()
