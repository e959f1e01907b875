"""Score a model the way a new user meets it: ``Classifier`` on a corpus folder, single-file and adapted.

    python tools/score_release.py --corpus tess --folder ../shared/corpora/tess-yaf \\
        [--model DIR] [--recordings 1,5,20,all] [--draws 3] [--seed 0] [--out FILE]

``--folder``: a local copy of a corpus the project reads (``--corpus``: its reader in
``emoaugnet/data/corpora/``; labels from its file names, mapped to the classes by params.yaml's
``corpora.<corpus>.label_map``; unmapped labels dropped). ``--model``: a model folder (default: the model
shipped in the package, as ``Classifier()`` with nothing named). Each recording is classified on its own
(single file), its UA taken on the model's leading class (a "not sure" answer's first candidate; how many
were answered, and how many of those right, beside it); then, per speaker and per N of ``--recordings``, N of the speaker's recordings drawn at
random (no labels) are given as the speaker's (``Classifier.open(speaker=...)``, what
``emoaugnet predict --speaker-norm`` does), and every recording of the speaker is classified; the model
that answers is the one the package's rule picks (``emoaugnet/inference/model_dir.py``: the shipped
speaker-adapted member from its ``min_recordings``, else the single-file model). UA (mean recall over
the classes present) over all the corpus's recordings, mean over ``--draws`` draws. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from emoaugnet.data.corpora import REGISTRY  # noqa: E402  (the project root on the path first)
from emoaugnet.evaluation.scoring import scores  # noqa: E402
from emoaugnet.inference.api import Classifier  # noqa: E402
from emoaugnet.model.backend import cpu_model  # noqa: E402


def labelled(corpus: str, folder: Path, params: Path) -> list[tuple[str, str, str]]:
    """(path, speaker, class) of every recording in ``folder`` whose label maps to a class."""
    label_map = yaml.safe_load(params.read_text())["corpora"][corpus]["label_map"]
    found = REGISTRY[corpus].scan(folder)
    rows = [(str(f.source), str(f.speaker), label_map.get(f.emotion)) for f in found.files]
    return sorted(r for r in rows if r[2] is not None)


def top(result: dict) -> str | None:
    """The model's leading class for a result (a "not sure" one included), None for an error or silence."""
    probs = result.get("probabilities")
    return max(probs, key=probs.get) if probs else None


def ua(rows: list[tuple[str, str, str]], answers: dict[str, str | None], classes: tuple[str, ...]) -> float:
    truth = np.array([classes.index(c) for _, _, c in rows])
    # an error or a too-short file counts as wrong: -1 is no class
    guess = np.array([classes.index(answers[p]) if answers.get(p) in classes else -1 for p, _, _ in rows])
    return scores(truth, guess, classes)["unweighted_accuracy"]


def not_sure(rows: list[tuple[str, str, str]], results: dict[str, dict]) -> dict[str, float | None]:
    """Share of recordings answered (not "not sure") and the accuracy on those."""
    kept = [(results[p].get("emotion"), c) for p, _, c in rows if results[p].get("result") != "uncertain"]
    return {"answered": round(len(kept) / len(rows), 4),
            "accuracy_answered": round(float(np.mean([e == c for e, c in kept])), 4) if kept else None}


def recall(rows: list[tuple[str, str, str]], answers: dict[str, str | None], classes: tuple[str, ...]) -> dict[str, float]:
    """Per-class recall of the classes present."""
    return {c: round(float(np.mean([answers.get(p) == c for p, _, t in rows if t == c])), 4)
            for c in classes if any(t == c for _, _, t in rows)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", required=True, choices=sorted(REGISTRY))
    ap.add_argument("--folder", required=True, type=Path)
    ap.add_argument("--model", default=None, help="a model folder (default: the shipped model)")
    ap.add_argument("--params", type=Path, default=ROOT / "params.yaml")
    ap.add_argument("--recordings", default="1,5,20,all", help="numbers of a speaker's recordings given")
    ap.add_argument("--draws", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()

    rows = labelled(args.corpus, args.folder, args.params)
    single = Classifier.open(args.model)
    classes = single.classes
    start = time.perf_counter()
    results = {r["path"]: r for r in single.predict_files([p for p, _, _ in rows])}
    answers = {p: top(r) for p, r in results.items()}
    out = {"corpus": args.corpus, "recordings": len(rows), "speakers": sorted({s for _, s, _ in rows}),
           "model": single.label, "single_file": ua(rows, answers, classes),
           "single_file_recall": recall(rows, answers, classes), "single_file_not_sure": not_sure(rows, results),
           "adapted": {},
           "seconds_single_file": round(time.perf_counter() - start, 1),
           "machine": f"{cpu_model()}, {platform.machine()}"}
    rng = np.random.default_rng(args.seed)
    for n in filter(None, args.recordings.split(",")):     # --recordings '': single file only
        values, used = [], set()
        for _ in range(args.draws if n != "all" else 1):
            answers = {}
            for speaker in out["speakers"]:
                mine = [p for p, s, _ in rows if s == speaker]
                given = mine if n == "all" else list(rng.choice(mine, size=min(int(n), len(mine)), replace=False))
                clf = Classifier.open(args.model, speaker=given)
                used.add(clf.label)
                answers.update((r["path"], top(r)) for r in clf.predict_files(mine))
            values.append(ua(rows, answers, classes))
        out["adapted"][n] = {"unweighted_accuracy": round(float(np.mean(values)), 4), "draws": len(values),
                             "answered_by": sorted(used)}
        print(f"score_release: N={n}: {out['adapted'][n]}", file=sys.stderr, flush=True)
    text = json.dumps(out, indent=1)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
