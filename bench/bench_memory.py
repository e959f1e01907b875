"""Benchmark: peak memory of the augment and features stages on an IEMOCAP-shaped corpus, at 1x and 2x.

    python bench/bench_memory.py                                  # this checkout, 1x and 2x
    python bench/bench_memory.py --baseline /tmp/old              # also an older checkout, same run
    python bench/bench_memory.py --variants 2 --seconds 4 --repeats 3

The corpus is laid out as IEMOCAP_full_release (``SessionN/dialog/EmoEvaluation/*.txt`` label lines,
``SessionN/sentences/wav/<dialog>/<utterance>.wav``) and read by the real parser
(:func:`emoaugnet.data.corpora.iemocap.scan`). It holds IEMOCAP's 5,680 utterances whose label the default
label map keeps, with the real label counts (neu 1,708, ang 1,103, sad 1,084, exc 1,041, hap 595,
sur 107, fea 40, dis 2), spread over the ten speakers (session x gender) in proportion to the real
sessions' sizes (Ses01-05: 1,819, 1,811, 2,136, 2,103, 2,170 of 10,039 utterances), so a speaker has
about 570 utterances. The audio is synthetic (16 kHz mono PCM, ``--seconds`` long, 40 distinct seeded
signals hard-linked under every name: the memory of a stage does not depend on what is said).
``2x`` lists every utterance twice (a second id, same audio), so every speaker doubles: the test of
"bounded by one utterance, not by the speaker or the corpus".

To keep a run feasible on a small CPU: ``--variants`` augmentation chains (default 1, the noise chain:
2 samples per utterance; params.yaml has 10) and ``workers = 1`` (one process, so peak RSS is the
stage's whole footprint). Each measurement runs in a fresh process (``--measure``): imports, then the
stage's library function (:func:`emoaugnet.store.augment.run`, :func:`emoaugnet.store.feature_shards.run`) on the
manifest rows; it reports ``ru_maxrss`` (RUSAGE_SELF) after the imports and a one-clip warm-up
(librosa and numba load lazily) and at the end. Prints the CPU
model and the medians over ``--repeats``; with ``--baseline`` the same measurements of another checkout
(e.g. ``git archive <commit> | tar -x -C /tmp/old``), in the same run, and the ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]
KEPT_LABELS = {"neu": 1708, "ang": 1103, "sad": 1084, "exc": 1041, "hap": 595, "sur": 107, "fea": 40, "dis": 2}
SESSION_SIZES = {1: 1819, 2: 1811, 3: 2136, 4: 2103, 5: 2170}
DISTINCT_SIGNALS = 40
SR = 16000



def speaker_counts() -> dict[tuple[int, str], int]:
    """Kept utterances per (session, gender), proportional to the real session sizes, summing to 5,680."""
    total, whole = sum(KEPT_LABELS.values()), sum(SESSION_SIZES.values())
    per_session = {s: total * n // whole for s, n in SESSION_SIZES.items()}
    per_session[5] += total - sum(per_session.values())
    return {(s, g): n // 2 + (n % 2 if g == "F" else 0) for s, n in per_session.items() for g in "FM"}


def build_corpus(folder: Path, seconds: float) -> Path:
    """IEMOCAP_full_release layout under ``folder`` (see the module doc); returns the release folder."""
    root = folder / "IEMOCAP_full_release"
    rng = np.random.default_rng(0)
    signals = []
    t = np.arange(int(seconds * SR)) / SR
    for i in range(DISTINCT_SIGNALS):
        path = folder / "signals" / f"{i}.wav"
        path.parent.mkdir(parents=True, exist_ok=True)
        f0 = 100 + 150 * rng.random()
        y = sum(np.sin(2 * np.pi * f0 * k * t + rng.random()) / k for k in range(1, 8))
        y *= 0.5 + 0.5 * np.sin(2 * np.pi * (2 + 3 * rng.random()) * t)   # syllable-like envelope
        y = 0.2 * y / np.max(np.abs(y)) + 0.005 * rng.standard_normal(len(t))
        sf.write(str(path), y.astype(np.float32), SR, subtype="PCM_16")
        signals.append(path)
    labels = [label for label, n in KEPT_LABELS.items() for _ in range(n)]
    random.Random(0).shuffle(labels)
    index = 0
    for (session, gender), count in sorted(speaker_counts().items()):
        sess = root / f"Session{session}"
        dialogs: dict[str, list[str]] = {}
        for u in range(count):
            dialog = f"Ses{session:02d}{gender}_impro{u // 40 + 1:02d}"
            utt = f"{dialog}_{gender}{u % 40:03d}"
            start = 1.0 + 5 * (u % 40)
            dialogs.setdefault(dialog, []).append(
                f"[{start:.4f} - {start + seconds:.4f}]\t{utt}\t{labels[index]}\t[2.5000, 2.5000, 2.5000]")
            wav = sess / "sentences" / "wav" / dialog / f"{utt}.wav"
            wav.parent.mkdir(parents=True, exist_ok=True)
            os.link(signals[index % DISTINCT_SIGNALS], wav)
            index += 1
        for dialog, lines in dialogs.items():
            txt = sess / "dialog" / "EmoEvaluation" / f"{dialog}.txt"
            txt.parent.mkdir(parents=True, exist_ok=True)
            txt.write_text("% [START_TIME - END_TIME] TURN_NAME EMOTION [V, A, D]\n\n" + "\n".join(lines) + "\n")
    return root


def measure(stage: str, corpus: Path, scale: int, variants: int, out: Path) -> dict:
    """In a fresh process whose ``sys.path`` starts with the code to measure: one stage, workers = 1."""
    from emoaugnet.store import augment, feature_shards
    from emoaugnet.data.corpora import iemocap
    from emoaugnet.data.manifest import Utterance
    from emoaugnet.params import from_dict, override
    import yaml

    tree = yaml.safe_load((ROOT / "params.yaml").read_text())
    override(tree, "augment.variants", tree["augment"]["variants"][:variants])
    override(tree, "run.corpora", ["iemocap"])
    p = from_dict(tree)
    label_map = p.corpus("iemocap").label_map
    rows = []
    for copy in range(scale):
        for f in iemocap.scan(corpus).files:
            rows.append(Utterance(f.utterance + ("" if copy == 0 else f"_copy{copy}"), str(f.source), "iemocap",
                                  f.speaker, f.gender, f.emotion, label_map[f.emotion] or "", 0.0, SR, 1))
    # warm-up, so that lazily imported libraries (librosa, numba, scipy) count as start-up, not as the
    # stage's memory: one clip through the stage's own code (augment chains / feature extraction)
    import numpy as np
    from emoaugnet.store import features
    if stage == "augment":
        augment.augment_clip(np.full(p.audio.num_samples, 0.01, np.float32), "warm-up", p)
    else:
        features.extract(np.full((1, p.audio.num_samples), 0.01, np.float32), p.audio.sample_rate, p.features)
    imports = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if stage == "augment":
        report = augment.run("iemocap", rows, p, out / "augmented", out / "augment.json", workers=1, progress=False)
        samples = report["samples"]
    else:
        samples = feature_shards.run("iemocap", p.features, out / "augmented", out / "features", workers=1,
                                     progress=False)["samples"]
    largest = max(sum(r.speaker == s for r in rows) for s in {r.speaker for r in rows})
    return {"stage": stage, "code": str(Path(augment.__file__).parents[1]), "utterances": len(rows), "largest_speaker": largest, "samples": samples,
            "imports_mib": imports, "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def run_one(code: Path, stage: str, corpus: Path, scale: int, variants: int, out: Path) -> dict:
    cmd = [sys.executable, __file__, "--measure", stage, "--code", str(code), "--corpus", str(corpus),
           "--scale", str(scale), "--variants", str(variants), "--out", str(out)]
    env = {**os.environ, "PYTHONPATH": str(code)}
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=code)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--variants", type=int, default=1, help="augmentation chains (default 1; params.yaml: 10)")
    parser.add_argument("--seconds", type=float, default=3.0, help="length of each synthetic recording")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--baseline", type=Path, help="another checkout to measure in the same run")
    parser.add_argument("--measure", choices=["augment", "features"], help=argparse.SUPPRESS)
    parser.add_argument("--code", type=Path, default=ROOT, help=argparse.SUPPRESS)
    parser.add_argument("--corpus", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--scale", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        sys.path.insert(0, str(args.code))
        print(json.dumps(measure(args.measure, args.corpus, args.scale, args.variants, args.out)))
        return

    from emoaugnet.model import backend   # not at the top: a --measure child must import the code under test

    codes = {"this checkout": ROOT, **({"baseline": args.baseline.resolve()} if args.baseline else {})}
    print(f"CPU: {backend.cpu_model()}, {os.cpu_count()} cores; {args.variants} augmentation chain(s), "
          f"{args.seconds} s synthetic 16 kHz "
          f"recordings, workers 1, median of {args.repeats} run(s)", flush=True)
    results: dict[tuple[str, int, str], list[dict]] = {}
    with tempfile.TemporaryDirectory(prefix="bench_memory_") as tmp:
        corpus = build_corpus(Path(tmp), args.seconds)
        for repeat in range(args.repeats):
            for scale in args.scales:
                for name, code in codes.items():
                    out = Path(tmp) / "out"
                    for stage in ("augment", "features"):
                        r = run_one(code, stage, corpus, scale, args.variants, out)
                        results.setdefault((name, scale, stage), []).append(r)
                        print(f"repeat {repeat + 1} {name} {scale}x {stage}: {r['utterances']:,} utterances "
                              f"(largest speaker {r['largest_speaker']:,}), {r['samples']:,} samples, "
                              f"peak {r['peak_mib']:.0f} MiB (imports {r['imports_mib']:.0f})", flush=True)
                    shutil.rmtree(out)

    def med(name, scale, stage, key):
        return statistics.median(r[key] for r in results[(name, scale, stage)])

    print(f"\npeak RSS, MiB (median of {args.repeats}; in brackets: above imports + warm-up)")
    print(f"{'code':16s}{'corpus':>8s}{'utterances':>12s}{'largest spk':>13s}{'augment':>16s}{'features':>16s}")
    for name in codes:
        for scale in args.scales:
            cells = [f"{med(name, scale, s, 'peak_mib'):.0f} ({med(name, scale, s, 'peak_mib') - med(name, scale, s, 'imports_mib'):.0f})"
                     for s in ("augment", "features")]
            r = results[(name, scale, "augment")][0]
            print(f"{name:16s}{scale:>7d}x{r['utterances']:>12,}{r['largest_speaker']:>13,}{cells[0]:>16s}{cells[1]:>16s}")
    if len(args.scales) > 1:
        lo, hi = min(args.scales), max(args.scales)
        for name in codes:
            print(f"{name}: {hi}x / {lo}x peak: " + ", ".join(
                f"{s} {med(name, hi, s, 'peak_mib') / med(name, lo, s, 'peak_mib'):.2f}" for s in ("augment", "features")))
    if args.baseline:
        for scale in args.scales:
            print(f"{scale}x, this checkout / baseline peak: " + ", ".join(
                f"{s} {med('this checkout', scale, s, 'peak_mib') / med('baseline', scale, s, 'peak_mib'):.2f}"
                for s in ("augment", "features")))


if __name__ == "__main__":
    main()
