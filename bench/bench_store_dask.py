"""Benchmark: the augment + features stages on the local process pool and on a 2-worker Dask LocalCluster.

    python bench/bench_store_dask.py                          # 2,000 utterances, all variants, 3 repeats
    python bench/bench_store_dask.py --variants 2 --repeats 3 # original + the first 2 chains, 3 repeats

Corpus: ``--utterances`` synthetic utterances (20 speakers), each a fixture RAVDESS recording
(tests/fixtures/ravdess, 22,050 Hz) at a gain drawn with a fixed seed, written as 16-bit WAV into a
temporary folder, with the fixture's label. Params: params.yaml's, with the first ``--variants`` chains of
``augment.variants`` (all by default). Each run calls :func:`emoaugnet.store.augment.run` then
:func:`emoaugnet.store.feature_shards.run` in this process, with ``store.scheduler: local`` (2 workers) and
``store.scheduler: local-cluster:2`` (a LocalCluster of 2 single-threaded worker processes, started and
stopped by each stage, and timed with it), alternating within each repeat so both run under the same load.

Printed: the CPU model, CPU count and load average (before and after); per scheduler the median wall time
of augment, features and both over ``--repeats``, clips/s (clips = utterances x (1 + variants), each
augmented and its features computed) and the LocalCluster / local ratio; and whether the two schedulers'
shards are byte-identical.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
from bench_predict_batch import headline, loads  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures" / "ravdess"
SCHEDULERS = ("local", "local-cluster:2")
SPEAKERS = 20


def make_corpus(folder: Path, count: int, params) -> list:
    """``count`` utterances of :data:`SPEAKERS` speakers: fixture recordings at a drawn gain, as WAV."""
    import numpy as np
    import soundfile as sf

    from emoaugnet.data.corpora import ravdess
    from emoaugnet.data.manifest import Utterance
    label_map = params.corpus("ravdess").label_map
    sources = [(f, *sf.read(f.source, dtype="float32")) for f in ravdess.scan(FIXTURES).files
               if label_map.get(f.emotion)]
    rng = np.random.default_rng(0)
    rows = []
    for i in range(count):
        f, y, sr = sources[i % len(sources)]
        speaker = str(1 + i % SPEAKERS)
        path = folder / f"speaker_{speaker}" / f"utt_{i:05d}.wav"
        path.parent.mkdir(parents=True, exist_ok=True)
        sf.write(path, y * np.float32(rng.uniform(0.5, 1.0)), sr, subtype="PCM_16")
        rows.append(Utterance(f"utt_{i:05d}", str(path), "ravdess", speaker, f.gender, f.emotion,
                              label_map[f.emotion], len(y) / sr, sr, 1))
    return rows


def run_once(rows: list, params, scheduler: str, out: Path) -> tuple[float, float]:
    from emoaugnet.store import augment, feature_shards
    shutil.rmtree(out, ignore_errors=True)
    p = dataclasses.replace(params, scheduler=scheduler)
    start = time.perf_counter()
    augment.run("ravdess", rows, p, out / "augmented", out / "report.json", workers=2, progress=False)
    middle = time.perf_counter()
    feature_shards.run("ravdess", p.features, out / "augmented", out / "features", workers=2, progress=False,
                       scheduler=scheduler)
    return middle - start, time.perf_counter() - middle


def same_bytes(a: Path, b: Path) -> bool:
    files = sorted(p.relative_to(a) for p in a.rglob("*.h5"))
    return files == sorted(p.relative_to(b) for p in b.rglob("*.h5")) and \
        all((a / f).read_bytes() == (b / f).read_bytes() for f in files)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--utterances", type=int, default=2000)
    parser.add_argument("--variants", type=int, default=None, help="augmentation chains used (default: all)")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    from emoaugnet.params import load
    params = load(ROOT / "params.yaml")
    chains = params.augment.variants[:args.variants] if args.variants is not None else params.augment.variants
    params = dataclasses.replace(params, augment=dataclasses.replace(params.augment, variants=chains))
    clips = args.utterances * params.num_variants
    print(headline("bench_store_dask", f"{args.utterances} utterances x {params.num_variants} variants = {clips} "
                                       f"clips, {SPEAKERS} speakers, medians of {args.repeats}"))
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        start = time.perf_counter()
        rows = make_corpus(tmp / "corpus", args.utterances, params)
        print(f"  made the corpus in {time.perf_counter() - start:.1f} s")
        times: dict[str, list[tuple[float, float]]] = {s: [] for s in SCHEDULERS}
        for repeat in range(args.repeats):
            for scheduler in (SCHEDULERS if repeat % 2 == 0 else SCHEDULERS[::-1]):
                aug, feat = run_once(rows, params, scheduler, tmp / scheduler)
                times[scheduler].append((aug, feat))
                print(f"  repeat {repeat + 1}, {scheduler}: augment {aug:.1f} s, features {feat:.1f} s "
                      f"(load average {os.getloadavg()[0]:.2f})", flush=True)
        identical = same_bytes(tmp / SCHEDULERS[0], tmp / SCHEDULERS[1])
    print("\n| scheduler | augment | features | both | clips/s |\n|---|---|---|---|---|")
    total = {}
    for scheduler, runs in times.items():
        aug, feat = statistics.median(a for a, _ in runs), statistics.median(f for _, f in runs)
        total[scheduler] = statistics.median(a + f for a, f in runs)
        print(f"| {scheduler} | {aug:.1f} s | {feat:.1f} s | {total[scheduler]:.1f} s | "
              f"{clips / total[scheduler]:.1f} |")
    print(f"\nLocalCluster / local pool (clips/s): {total['local'] / total['local-cluster:2']:.2f}; shards "
          f"byte-identical: {'yes' if identical else 'NO'}; load average after {loads()}")


if __name__ == "__main__":
    main()
