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

``--classic EGEMAPS --params PARAMS``: the curve of the network averaged with the classic tool, as the
shipped member answers (:mod:`emoaugnet.inference.classic`): each fold's eGeMAPS + SVM fit as
tools/fusion_cv.py fits it (per speaker, on the fold's training speakers of ``PARAMS``' folds), each test
speaker's functionals standardised by the same N recordings that gave the network its statistics, and the
answer ``w x`` the network's probabilities ``+ (1 - w) x`` the SVM's (``--weight``, default
``baseline.fusion_weight``). With fewer than :data:`emoaugnet.inference.classic.MIN_RECORDINGS` (5)
recordings the member answers with the network alone, and so does this curve. ``--single-classic``: the
same for ``--single``'s fold models with an SVM on globally standardised functionals (tools/fusion_cv.py
``--svm-global``).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from emoaugnet.evaluation import baseline  # noqa: E402  (the project root on the path first)
from emoaugnet.evaluation.scoring import scores  # noqa: E402
from emoaugnet.inference import ensemble  # noqa: E402
from emoaugnet.inference.classic import MIN_RECORDINGS  # noqa: E402
from emoaugnet.model import bundle, normalisation, speaker_norm  # noqa: E402
from emoaugnet.store import shards  # noqa: E402
from emoaugnet.training import folds, splits  # noqa: E402


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


class Svm:
    """A fold's eGeMAPS + SVM, fit as tools/fusion_cv.py fits it, and the raw functionals of the fold's test
    recordings in the order of the network's ``test``."""

    def __init__(self, p, egemaps: Path, fold: int, test: shards.Samples, speaker: bool, weight: float):
        fp = folds.fold_params(p, fold).split
        self.model, _ = baseline.fit_calibrated(splits.make(fp, p.seed, p.corpora_to_run, egemaps,
                                                            normalise_speakers=speaker), p.baseline)
        raw = splits.make(fp, p.seed, p.corpora_to_run, egemaps, normalise_speakers=False).test
        index = {key: i for i, key in enumerate(splits.keys(raw))}
        missing = [key for key in splits.keys(test) if key not in index]
        if missing or len(index) != len(test):
            raise SystemExit(f"{egemaps}: fold {fold}'s test recordings are not the network's ({len(index)} against "
                             f"{len(test)}; e.g. {missing[:1]}): other --params folds or another store")
        self.raw = raw.subset(np.array([index[key] for key in splits.keys(test)]))
        self.speaker, self.weight = speaker, weight

    def probabilities(self, rows: np.ndarray, enrol: np.ndarray | None = None) -> np.ndarray:
        """The SVM's probabilities of ``rows``, standardised by the functionals of ``enrol`` (per speaker)."""
        part = self.raw.subset(rows)
        if self.speaker:
            stats = speaker_norm.statistics(self.raw.features[enrol])
            part = replace(part, features=speaker_norm.apply(part.features, *stats))
        return baseline.probabilities(self.model, part)

    def fuse(self, network: np.ndarray, svm: np.ndarray) -> np.ndarray:
        return self.weight * network + (1 - self.weight) * svm


def adapted_ua(b: bundle.Bundle, test: shards.Samples, n: int | None, rng: np.random.Generator,
               svm: Svm | None = None) -> float:
    """UA on ``test`` with each speaker's statistics from ``n`` of their recordings (None: all of them);
    averaged with ``svm``'s answers from :data:`MIN_RECORDINGS` recordings on."""
    z = np.empty_like(test.features)
    other = np.zeros((len(test), len(b.classes)))
    fused = np.zeros(len(test), bool)
    for speaker in np.unique(test.speaker):
        rows = np.flatnonzero(test.speaker == speaker)
        enrol = rows if n is None or n >= len(rows) else rng.choice(rows, n, replace=False)
        mean, std = speaker_norm.statistics(test.features[enrol])
        z[rows] = speaker_norm.apply(test.features[rows], mean, std)
        if svm is not None and len(enrol) >= MIN_RECORDINGS:
            other[rows], fused[rows] = svm.probabilities(rows, enrol), True
    probs = b.predict_frames(z).astype(np.float64)
    if svm is not None:
        probs[fused] = svm.fuse(probs[fused], other[fused])
    return scores(test.label, probs.argmax(axis=1), b.classes)["unweighted_accuracy"]


def curve(models: list[Path], features: Path, counts: list[int], draws: int, seed: int,
          classic: tuple | None = None) -> dict[str, list[float]]:
    """Per N, each fold's UA averaged over ``draws``; ``classic``: (params, eGeMAPS store, weight) to average
    each fold's SVM in."""
    per_fold: dict[str, list[float]] = {str(n): [] for n in counts} | {"all": []}
    for fold in fold_dirs(models[0]):
        b = fold_model(models, fold.name)
        if normalisation.method(b) != "speaker":
            raise SystemExit(f"{fold}: trained with model.feature_norm: {normalisation.method(b)}; this tool "
                             "measures speaker-normalised models (pass those with --single)")
        test = test_originals(b, features)
        k = int(fold.name.split("_")[1])
        svm = None if classic is None else Svm(classic[0], classic[1], k, test, True, classic[2])
        rng = np.random.default_rng([seed, k])
        for n in counts:
            per_fold[str(n)].append(float(np.mean([adapted_ua(b, test, n, rng, svm) for _ in range(draws)])))
        per_fold["all"].append(adapted_ua(b, test, None, rng, svm))
        print(f"{fold.name}: " + ", ".join(f"N={k} {100 * v[-1]:.1f}%" for k, v in per_fold.items()), flush=True)
    return per_fold


def single_file(models: list[Path], features: Path, classic: tuple | None = None) -> list[float]:
    """Each fold's UA of single-file models (several: averaged), each file on its own; ``classic`` as in
    :func:`curve`, with the SVM on globally standardised functionals."""
    out = []
    for fold in fold_dirs(models[0]):
        b = fold_model(models, fold.name)
        test = test_originals(b, features)
        probs = b.predict_frames(normalisation.for_model(b, test).features).astype(np.float64)
        if classic is not None:
            svm = Svm(classic[0], classic[1], int(fold.name.split("_")[1]), test, False, classic[2])
            probs = svm.fuse(probs, svm.probabilities(np.arange(len(test))))
        out.append(scores(test.label, probs.argmax(axis=1), b.classes)["unweighted_accuracy"])
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", required=True, help="fold models of a speaker-normalised CV (several, comma-"
                        "separated: each fold's models averaged)")
    parser.add_argument("--features", required=True, type=Path, help="the feature store they were trained from")
    parser.add_argument("--single", help="fold models of a single-file CV (several, comma-separated: averaged), "
                        "scored alongside")
    parser.add_argument("--classic", type=Path, default=None, metavar="EGEMAPS",
                        help="average each fold's eGeMAPS + SVM (per speaker) in; the eGeMAPS store of the same "
                             "recordings (paths.egemaps)")
    parser.add_argument("--single-classic", action="store_true",
                        help="with --classic and --single: average the single-file models with a globally "
                             "standardised SVM")
    parser.add_argument("--params", default=str(ROOT / "params.yaml"),
                        help="with --classic: the params whose cv folds and baseline the SVMs follow")
    parser.add_argument("--weight", type=float, default=None,
                        help="with --classic: the network's share (default: baseline.fusion_weight)")
    parser.add_argument("--recordings", default="1,3,5,10,20", help="numbers of recordings per speaker")
    parser.add_argument("--draws", type=int, default=5, help="random draws of the recordings per number")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, help="write the per-fold figures here as JSON")
    args = parser.parse_args(argv)
    counts = [int(n) for n in args.recordings.split(",")]
    if args.single_classic and not (args.classic and args.single):
        parser.error("--single-classic averages --single's models with --classic's SVM: give both")
    classic = None
    if args.classic:
        from emoaugnet.params import load
        p = load(args.params)
        classic = (p, args.classic, p.baseline.fusion_weight if args.weight is None else args.weight)
    result = {"recordings_per_speaker": curve([Path(m) for m in args.models.split(",")], args.features, counts,
                                              args.draws, args.seed, classic)}
    if args.single:
        result["single_file"] = single_file([Path(m) for m in args.single.split(",")], args.features,
                                            classic if args.single_classic else None)
    if classic is not None:
        result["classic"] = {"egemaps": str(args.classic), "weight": classic[2], "min_recordings": MIN_RECORDINGS,
                             "single_file": bool(args.single_classic)}
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
