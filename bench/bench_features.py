"""Benchmark: the augment + features stages against a plain per-file reference loop, same files, same run.

    python bench/bench_features.py                 # 120 files (6 per actor), 3 repeats
    python bench/bench_features.py --all           # every kept file of the local copy (1,040)
    python bench/bench_features.py --files 40 --repeats 5 --corpus-dir /path/to/ravdess

Stages: ``emoaugnet.store.augment.run`` then ``emoaugnet.store.feature_shards.run`` (their process pools, ``augment.workers`` /
``features.workers`` from params.yaml unless ``--workers``), writing shards to a temporary folder.
Reference: what the paper's code does, one process: ``librosa.load`` each file (same 2.5 s window),
pad, then per variant ``np.random`` draws with ``librosa.effects.pitch_shift`` / ``time_stretch``,
``np.roll`` and the 0.035 * U * max noise, pad/crop, and ZCR, RMS, MFCC with librosa per clip, the
features kept in memory. Each measurement runs in a fresh process after a one-file warm-up (imports and
numba compilation are not timed); peak memory is ``ru_maxrss`` of that process (RUSAGE_SELF) and of its
largest child (RUSAGE_CHILDREN: a pool worker for the stages; for the reference, a short helper process
that libraries fork, counted at the parent's size at fork time). The stages' total peak is at most
main + workers x child. Prints medians over ``--repeats`` and the speed ratio.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

DEFAULT_CORPUS = ROOT.parent / "shared" / "corpora" / "ravdess"


def select_rows(corpus_dir: Path, files: int | None, params):
    """Kept RAVDESS files as manifest rows, taken round-robin over actors so every worker has work."""
    from emoaugnet.data.corpora import ravdess
    from emoaugnet.data.manifest import Utterance

    label_map = params.corpus("ravdess").label_map
    per_actor: dict[int, list] = {}
    for f in ravdess.scan(corpus_dir).files:
        label = label_map.get(f.emotion)
        if label is None:
            continue
        per_actor.setdefault(int(f.speaker), []).append(
            Utterance(f.utterance, str(f.source), "ravdess", f.speaker, f.gender, f.emotion,
                      label, 0.0, params.audio.sample_rate, 1))
    rows, queues = [], [list(v) for _, v in sorted(per_actor.items())]
    while any(queues) and (files is None or len(rows) < files):
        for queue in queues:
            if queue and (files is None or len(rows) < files):
                rows.append(queue.pop(0))
    if not rows:
        raise SystemExit(f"{corpus_dir}: no kept RAVDESS files found")
    return rows


def reference_loop(paths: list[str], params) -> list:
    """The plain per-file loop (paper style): load, augment with librosa/numpy, extract per clip."""
    import librosa
    import numpy as np

    sr, n = params.audio.sample_rate, params.audio.num_samples
    t, fp = params.augment.transforms, params.features

    def fit(y):
        return y[:n] if len(y) >= n else np.pad(y, (0, n - len(y)))

    def step(y, name):
        if name == "noise":
            amp = t["noise"]["scale"] * np.random.uniform() * np.amax(y)
            return y + amp * np.random.normal(size=y.shape[0])
        if name == "pitch":
            return librosa.effects.pitch_shift(
                y, sr=sr, n_steps=np.random.uniform(t["pitch"]["min_semitones"], t["pitch"]["max_semitones"]))
        if name in ("slow", "fast"):
            return librosa.effects.time_stretch(
                y, rate=np.random.uniform(t[name]["min_rate"], t[name]["max_rate"]))
        if name == "shift":
            m = int(t["shift"]["max_samples"])
            return np.roll(y, np.random.randint(-m, m + 1))
        raise ValueError(name)

    def extract(y):
        zcr = np.squeeze(librosa.feature.zero_crossing_rate(y, frame_length=fp.frame_length,
                                                            hop_length=fp.hop_length))
        rms = np.squeeze(librosa.feature.rms(y=y, frame_length=fp.frame_length, hop_length=fp.hop_length))
        mfcc = librosa.feature.mfcc(y=y, sr=sr, n_mfcc=fp.n_mfcc, n_fft=fp.frame_length,
                                    hop_length=fp.hop_length)
        return np.hstack((zcr, rms, np.ravel(mfcc.T)))

    np.random.seed(params.seed)
    out = []
    for path in paths:
        data, _ = librosa.load(path, sr=sr, offset=params.audio.offset, duration=params.audio.duration)
        data = fit(data)
        out.append(extract(data))
        for chain in params.augment.variants:
            y = data
            for name in chain:
                y = step(y, name).astype(np.float32)     # float32 throughout, as the stages use
            out.append(extract(fit(y)))
    return out


def run_stages(rows, params, workers: int | None, folder: Path) -> dict:
    from emoaugnet.store import augment, feature_shards

    t0 = time.perf_counter()
    report = augment.run("ravdess", rows, params, folder / "augmented", folder / "report.json",
                         workers=workers, progress=False)
    t1 = time.perf_counter()
    summary = feature_shards.run("ravdess", params.features, folder / "augmented", folder / "features",
                           workers=workers, progress=False)
    t2 = time.perf_counter()
    return {"augment_s": t1 - t0, "features_s": t2 - t1, "samples": summary["samples"],
            "augmented_samples": report["samples"]}


def measure(kind: str, corpus_dir: Path, files: int | None, workers: int | None) -> dict:
    """One timed run in this (fresh) process, after a one-file warm-up."""
    from emoaugnet.params import load

    params = load(ROOT / "params.yaml")
    rows = select_rows(corpus_dir, files, params)
    with tempfile.TemporaryDirectory(prefix="bench_features_") as tmp:
        if kind == "stages":
            run_stages(rows[:1], params, 1, Path(tmp) / "warm")
        else:
            reference_loop([rows[0].path], params)
        t0 = time.perf_counter()
        result = run_stages(rows, params, workers, Path(tmp) / "run") if kind == "stages" else \
            {"samples": len(reference_loop([r.path for r in rows], params))}
        wall = time.perf_counter() - t0
    result.update(kind=kind, files=len(rows), wall_s=wall,
                  self_maxrss_mib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  children_maxrss_mib=resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus-dir", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--files", type=int, default=120, help="kept files to process (default 120)")
    parser.add_argument("--all", action="store_true", help="every kept file of the corpus")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workers", type=int, default=None, help="stage workers (default: params.yaml)")
    parser.add_argument("--measure", choices=["stages", "reference"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    files = None if args.all else args.files
    if args.measure:
        print(json.dumps(measure(args.measure, args.corpus_dir, files, args.workers)))
        return
    if not args.corpus_dir.is_dir():
        raise SystemExit(f"{args.corpus_dir}: no local RAVDESS copy (pass --corpus-dir)")

    runs: dict[str, list[dict]] = {"stages": [], "reference": []}
    for repeat in range(args.repeats):
        for kind in ("stages", "reference"):
            cmd = [sys.executable, __file__, "--measure", kind, "--corpus-dir", str(args.corpus_dir),
                   "--repeats", "1"] + (["--all"] if args.all else ["--files", str(args.files)]) + \
                  ([] if args.workers is None else ["--workers", str(args.workers)])
            out = subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=ROOT).stdout
            result = json.loads(out.strip().splitlines()[-1])
            runs[kind].append(result)
            print(f"repeat {repeat + 1} {kind:9s}: {result['wall_s']:7.2f} s, "
                  f"{result['samples'] / result['wall_s']:6.1f} clips/s", flush=True)

    def med(kind, key):
        return statistics.median(r[key] for r in runs[kind])

    n_files, n_clips = runs["stages"][0]["files"], runs["stages"][0]["samples"]
    print(f"\n{n_files} files -> {n_clips} clips (original + {n_clips // n_files - 1} variants each), "
          f"median of {args.repeats} repeats")
    print(f"{'':24s}{'wall s':>9s}{'clips/s':>10s}{'peak MiB main':>15s}{'peak MiB child':>16s}")
    for kind, name in (("stages", "augment+features stages"), ("reference", "reference loop")):
        wall = med(kind, "wall_s")
        print(f"{name:24s}{wall:9.2f}{n_clips / wall:10.1f}{med(kind, 'self_maxrss_mib'):15.0f}"
              f"{med(kind, 'children_maxrss_mib'):16.0f}")
    print(f"  of which augment {med('stages', 'augment_s'):.2f} s, features {med('stages', 'features_s'):.2f} s")
    print(f"speed-up (reference wall / stages wall): {med('reference', 'wall_s') / med('stages', 'wall_s'):.2f}x")


if __name__ == "__main__":
    main()
