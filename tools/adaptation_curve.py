"""Speaker adaptation against the number of a speaker's recordings: from how many does it win?

    python tools/adaptation_curve.py --models cv_sweep/NAME/models[,cv_sweep/NAME2/models] --features data/features \\
        [--single cv_sweep/OTHER/models] [--recordings 1,3,5,10,20] [--draws 5] [--out curve.json]

``--models``: the fold models (``fold_K/``) of a cross-validation whose ``model.feature_norm`` is
``speaker`` (``tools/cv_sweep.py run`` or ``dvc exp run -S 'cv.folds=[...]'``). For each fold model and each
of its test speakers (``split.test_speakers`` in its ``model.json``), N of the speaker's original
recordings, drawn at random without their labels, give the per-channel statistics
(:func:`emoaugnet.model.speaker_norm.statistics`, what ``predict --speaker-norm`` takes from the files it is
given); every original recording of the speaker is then classified with them, the N included (the
statistics use no label, as with `predict --speaker-norm`, which takes them from the files it classifies).
Several ``--models`` folders (comma-separated): fold K is the average of their fold-K models (an ensemble,
as ``predict`` averages a folder of models), which must have been tested on the same speakers. UA (mean recall over the
classes) per fold, averaged over ``--draws`` draws; the table is the mean and sd over folds. "all" is every
recording of the speaker, as the cross-validation scored it. ``--single``: fold models that need no
statistics (per-utterance normalisation), scored on the same recordings, for the row to beat.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from emoaugnet.evaluation.scoring import scores  # noqa: E402  (the project root on the path first)
from emoaugnet.inference import ensemble  # noqa: E402
from emoaugnet.model import bundle, normalisation, speaker_norm  # noqa: E402
from emoaugnet.store import shards  # noqa: E402


def fold_dirs(models: Path) -> list[Path]:
    found = sorted(models.glob("fold_*"), key=lambda p: int(p.name.split("_")[1]))
    if not found:
        raise SystemExit(f"{models}: no fold_K/ model folders")
    return found


def fold_model(folders: list[Path], fold: str) -> bundle.Bundle | ensemble.Ensemble:
    """Fold ``fold``'s model of each folder: the one, or their :class:`~emoaugnet.inference.ensemble.Ensemble`."""
    members = [bundle.load(folder / fold) for folder in folders]
    if len(members) == 1:
        return members[0]
    return ensemble.per_fold(members, [str(folder / fold) for folder in folders])


def test_originals(b: bundle.Bundle, features: Path) -> shards.Samples:
    corpora = b.split.get("corpora")
    if not corpora or not b.split.get("test_speakers"):
        raise SystemExit(f"a fold model's model.json names no training corpora or test speakers ({b.split})")
    return shards.load_features(features, corpora, speakers=b.split["test_speakers"], variants=[0])


def adapted_ua(b: bundle.Bundle, test: shards.Samples, n: int | None, rng: np.random.Generator) -> float:
    """UA on ``test`` with each speaker's statistics from ``n`` of their recordings (None: all of them)."""
    z = np.empty_like(test.features)
    for speaker in np.unique(test.speaker):
        rows = np.flatnonzero(test.speaker == speaker)
        enrol = rows if n is None or n >= len(rows) else rng.choice(rows, n, replace=False)
        mean, std = speaker_norm.statistics(test.features[enrol])
        z[rows] = speaker_norm.apply(test.features[rows], mean, std)
    return scores(test.label, b.predict_frames(z).argmax(axis=1), b.classes)["unweighted_accuracy"]


def curve(models: list[Path], features: Path, counts: list[int], draws: int, seed: int) -> dict[str, list[float]]:
    per_fold: dict[str, list[float]] = {str(n): [] for n in counts} | {"all": []}
    for fold in fold_dirs(models[0]):
        b = fold_model(models, fold.name)
        if normalisation.method(b) != "speaker":
            raise SystemExit(f"{fold}: trained with model.feature_norm: {normalisation.method(b)}; this tool "
                             "measures speaker-normalised models (pass those with --single)")
        test = test_originals(b, features)
        rng = np.random.default_rng([seed, int(fold.name.split("_")[1])])
        for n in counts:
            per_fold[str(n)].append(float(np.mean([adapted_ua(b, test, n, rng) for _ in range(draws)])))
        per_fold["all"].append(adapted_ua(b, test, None, rng))
        print(f"{fold.name}: " + ", ".join(f"N={k} {100 * v[-1]:.1f}%" for k, v in per_fold.items()), flush=True)
    return per_fold


def single_file(models: Path, features: Path) -> list[float]:
    out = []
    for fold in fold_dirs(models):
        b = bundle.load(fold)
        test = normalisation.for_model(b, test_originals(b, features))
        out.append(scores(test.label, b.predict_frames(test.features).argmax(axis=1), b.classes)["unweighted_accuracy"])
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", required=True, help="fold models of a speaker-normalised CV (several, comma-"
                        "separated: each fold's models averaged)")
    parser.add_argument("--features", required=True, type=Path, help="the feature store they were trained from")
    parser.add_argument("--single", type=Path, help="fold models of a single-file CV, scored alongside")
    parser.add_argument("--recordings", default="1,3,5,10,20", help="numbers of recordings per speaker")
    parser.add_argument("--draws", type=int, default=5, help="random draws of the recordings per number")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, help="write the per-fold figures here as JSON")
    args = parser.parse_args(argv)
    counts = [int(n) for n in args.recordings.split(",")]
    result = {"recordings_per_speaker": curve([Path(m) for m in args.models.split(",")], args.features, counts, args.draws, args.seed)}
    if args.single:
        result["single_file"] = single_file(args.single, args.features)
    print("| recordings per speaker | UA, mean +- sd over folds | per fold |\n|---|---|---|")
    rows = [(f"{k} (adapted)", v) for k, v in result["recordings_per_speaker"].items()]
    rows += [("single file (no statistics)", result["single_file"])] if args.single else []
    for name, values in rows:
        v = 100 * np.array(values)
        print(f"| {name} | {v.mean():.1f} +- {v.std(ddof=1 if len(v) > 1 else 0):.1f}% | {', '.join(f'{x:.1f}' for x in v)} |")
    if args.out:
        args.out.write_text(json.dumps({**result, "draws": args.draws, "seed": args.seed}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
