"""Late fusion, measured: a cross-validated network's class probabilities averaged with the classic tool's
(eGeMAPS functionals + RBF SVM, emoaugnet/evaluation/baseline.py) on the same folds' test speakers.

    python tools/fusion_cv.py --network cv_sweep/NAME --egemaps data/egemaps --out fusion.json
    python tools/fusion_cv.py --network cv_sweep/NAME --egemaps data/egemaps --weights 0.3,0.5,0.7
    python tools/fusion_cv.py --network cv_sweep/NAME --egemaps data/egemaps \
        --cross cv_sweep_cross --corpora tess,emodb      # also each fold's pair on corpora none saw

``--network``: a folder of ``tools/cv_sweep.py`` (one configuration or an ``ensemble_...`` of several),
whose ``reports/fold_K/predictions.csv`` hold each test recording's probabilities. For each fold K, the
SVM is fit as ``baseline_cv`` fits it (C and gamma chosen on the fold's validation speakers, each
speaker's functionals standardised by that speaker's recordings when ``baseline.speaker_norm``, the
default) and refit with Platt scaling for probabilities on speaker-grouped folds
(:func:`emoaugnet.evaluation.baseline.fit_calibrated`, as the released part is fit); the fold's
test speakers must be the network's (checked). Printed per fold and as mean +- sd: the network's UA,
the SVM's, and the UA of ``w * network + (1 - w) * SVM`` for each weight ``w`` of ``--weights`` (fixed in
advance, never chosen on the test speakers). The folds and classes come from ``--params``.

``--cross``: the folder ``tools/cv_sweep.py cross`` wrote for the same configuration's fold models
(``fold_K/C/predictions.csv``, ``ensemble/C/predictions.csv``); each fold's SVM is then scored on every
recording of each corpus C of ``--corpora`` (standardised as for the folds), and averaged with fold K's
network there; the ensemble row averages the five SVMs' probabilities with the ensemble's.

``--predictions DIR``: each fold's averaged probabilities (weight: the first of ``--weights``) written as a
fold's reports, ``DIR/reports/fold_K/predictions.csv``; ``tools/calibration_report.py --cv DIR --cross-fit``
then scores and fits the "not sure" thresholds of the averaged answer (``--write`` puts them into the
released part's ``classic.json``, :mod:`emoaugnet.evaluation.baseline_export`).

The network's probabilities must be of the same kind as the SVM's statistics: a speaker-normalised
network (``model.feature_norm: speaker``) with ``baseline.speaker_norm: true`` (both use each test
speaker's recordings: the speaker-adapted setting), a single-file network with ``baseline.speaker_norm:
false`` (``--svm-global``).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from emoaugnet.evaluation import baseline, calibration_report, scoring  # noqa: E402
from emoaugnet.params import load  # noqa: E402
from emoaugnet.training import folds, splits  # noqa: E402


def network_probabilities(report: Path, classes: tuple[str, ...]) -> dict[str, np.ndarray]:
    """``corpus/utterance`` -> class probabilities of the originals in a fold's ``predictions.csv``."""
    try:
        keys, probs, _ = calibration_report.read_keyed(report, classes, originals=True)
    except calibration_report.CalibrationReportError as exc:
        raise SystemExit(str(exc)) from None
    return dict(zip(keys, probs))


def check_kind(network: Path, speaker_norm: bool, default: str) -> None:
    """Refuse a per-speaker network beside a global SVM, or the other way round (the configuration's
    ``config.json`` written by ``tools/cv_sweep.py``; an ``ensemble_`` folder: its members')."""
    names = network.name.removeprefix("ensemble_").split("+") if network.name.startswith("ensemble_") \
        else [network.name]
    for name in names:
        config = network.parent / name / "config.json"
        if not config.is_file():
            raise SystemExit(f"{config}: not found; --network is a tools/cv_sweep.py configuration folder")
        norm = json.loads(config.read_text())["overrides"].get("model.feature_norm", default)
        if (norm == "speaker") != speaker_norm:
            raise SystemExit(f"{name}: model.feature_norm is {norm}, the SVM "
                             f"{'standardises per speaker' if speaker_norm else 'globally'}: "
                             f"{'leave out' if norm == 'speaker' else 'add'} --svm-global")


def scored(labels: np.ndarray, a: np.ndarray, b: np.ndarray, classes: tuple[str, ...],
           weights: list[float]) -> dict[str, float]:
    """The UA of the network's probabilities ``a``, the SVM's ``b`` and their averages."""
    return {"network": ua(labels, a, classes), "svm": ua(labels, b, classes),
            **{f"fusion_{w:g}": ua(labels, w * a + (1 - w) * b, classes) for w in weights}}


def aligned(net: dict[str, np.ndarray], samples, where: str) -> np.ndarray:
    keys = splits.keys(samples)
    if set(keys) != set(net):
        raise SystemExit(f"{where}: the network's test recordings ({len(net)}) are not the SVM's ({len(keys)}): "
                         f"other folds or corpora")
    return np.stack([net[key] for key in keys])


def summarise(rows: list[dict], names: list[str]) -> dict[str, dict[str, float]]:
    return {name: {"mean": statistics.mean(r[name] for r in rows),
                   "sd": statistics.stdev(r[name] for r in rows) if len(rows) > 1 else 0.0} for name in names}


def cross_rows(p, cross: Path, corpora: list[str], models: dict[int, object], egemaps: Path,
               weights: list[float]) -> dict[str, dict]:
    """Per corpus: each fold's network and SVM on all of it, and the ensemble's (module doc)."""
    from emoaugnet.evaluation import loco
    out = {}
    for corpus in corpora:
        test = loco.split(p, corpus, egemaps, parts=("test",), normalise_speakers=p.baseline.speaker_norm,
                          train_on=p.corpora_to_run).test
        rows, svms = [], []
        for k, model in models.items():
            where = cross / f"fold_{k}" / corpus
            svms.append(baseline.probabilities(model, test))
            rows.append({"fold": k, **scored(test.label, aligned(network_probabilities(where, p.classes), test, str(where)),
                                            svms[-1], p.classes, weights)})
        where = cross / "ensemble" / corpus
        ensemble = scored(test.label, aligned(network_probabilities(where, p.classes), test, str(where)),
                          np.mean(svms, axis=0), p.classes, weights)
        out[corpus] = {"recordings": len(test), "folds": rows, "fold_mean": summarise(rows, list(ensemble)),
                       "ensemble": ensemble}
    return out


def write_fused(out: Path, split: splits.Split, probs: np.ndarray, classes: tuple[str, ...], fold: int,
                weight: float, speaker_norm: bool) -> None:
    """Fold ``fold``'s averaged probabilities as an evaluated fold's reports (``predictions.csv`` ...)."""
    out.mkdir(parents=True, exist_ok=True)
    metrics = {"protocol": split.protocol, **scoring.scores(split.test.label, probs.argmax(axis=1), classes),
               "model": f"late fusion: {weight:g} x network + {1 - weight:g} x eGeMAPS SVM", "fold": fold,
               "chosen": {"fusion_weight": weight, "speaker_norm": speaker_norm}}
    scoring.write_reports(out, metrics, split, probs, classes)


def ua(labels: np.ndarray, probs: np.ndarray, classes: tuple[str, ...]) -> float:
    return float(scoring.scores(labels, probs.argmax(axis=1), classes)["unweighted_accuracy"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--network", required=True, type=Path, help="a tools/cv_sweep.py configuration folder")
    parser.add_argument("--egemaps", required=True, type=Path, help="the eGeMAPS store (paths.egemaps)")
    parser.add_argument("--params", default=str(ROOT / "params.yaml"))
    parser.add_argument("--svm-global", action="store_true",
                        help="the SVM on globally standardised functionals (baseline.speaker_norm false), beside "
                             "a single-file network")
    parser.add_argument("--weights", default="0.5", help="the network's weights in the average (default 0.5)")
    parser.add_argument("--cross", type=Path, default=None,
                        help="tools/cv_sweep.py cross's --out folder for the same fold models")
    parser.add_argument("--corpora", default="tess,emodb", help="with --cross: the corpora it scored")
    parser.add_argument("--out", type=Path, default=None, help="write the figures as JSON here")
    parser.add_argument("--predictions", type=Path, default=None, metavar="DIR",
                        help="write each fold's averaged probabilities (the first of --weights) as DIR/reports/"
                             "fold_K/predictions.csv, what tools/calibration_report.py --cv DIR reads")
    args = parser.parse_args(argv)
    p = load(args.params)
    if args.svm_global:
        p = replace(p, baseline=replace(p.baseline, speaker_norm=False))
    check_kind(args.network, p.baseline.speaker_norm, p.model.feature_norm)
    weights = [float(w) for w in args.weights.split(",")]
    rows, models = [], {}
    for k in p.cv_folds:
        report = args.network / "reports" / f"fold_{k}"
        split = splits.make(folds.fold_params(p, k).split, p.seed, p.corpora_to_run, args.egemaps,
                            normalise_speakers=p.baseline.speaker_norm)
        if tuple(split.test.classes) != tuple(p.classes):
            raise SystemExit(f"{args.egemaps}: classes {list(split.test.classes)}, not --params' {list(p.classes)}")
        a = aligned(network_probabilities(report, p.classes), split.test, f"fold {k} ({report})")
        models[k], _ = baseline.fit_calibrated(split, p.baseline)
        rows.append({"fold": k, "test_speakers": sorted(set(map(str, split.test.speaker))),
                     "recordings": len(split.test),
                     **scored(split.test.label, a, baseline.probabilities(models[k], split.test), p.classes, weights)})
        print(json.dumps(rows[-1]), flush=True)
        if args.predictions:
            w, svm = weights[0], baseline.probabilities(models[k], split.test)
            write_fused(args.predictions / "reports" / f"fold_{k}", split, w * a + (1 - w) * svm, p.classes, k, w,
                        p.baseline.speaker_norm)
    names = ["network", "svm", *(f"fusion_{w:g}" for w in weights)]
    summary = summarise(rows, names)
    for name in names:
        print(f"{name}: {100 * summary[name]['mean']:.1f} +- {100 * summary[name]['sd']:.1f}% "
              f"({', '.join(f'{100 * r[name]:.1f}' for r in rows)})")
    cross = cross_rows(p, args.cross, args.corpora.split(","), models, args.egemaps, weights) if args.cross else {}
    for corpus, got in cross.items():
        for name in names:
            print(f"{corpus} {name}: fold models' mean {100 * got['fold_mean'][name]['mean']:.1f}%, "
                  f"ensemble {100 * got['ensemble'][name]:.1f}%")
    if args.out:
        args.out.write_text(json.dumps({"network": str(args.network), "egemaps": str(args.egemaps),
                                        "speaker_norm": p.baseline.speaker_norm, "folds": rows,
                                        "summary": summary, "cross": cross}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
