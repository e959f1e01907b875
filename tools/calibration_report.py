"""Calibration on the cross-validation test folds: the ECE table, the reliability diagram, the trade-off.

    python tools/calibration_report.py [--cv cv] [--png docs/figures/calibration.png] [--json FILE]
    python tools/calibration_report.py --model DIR --source CORPUS_FOLDER [--corpus ravdess] [--png FILE]

Reads every evaluated fold under ``<--cv>/reports/fold_K`` (``predictions.csv``: the network's test
probabilities; ``metrics.json``: the calibration fitted on that fold's validation speakers), applies each
fold's temperature and "not sure" thresholds to its own test speakers, and prints a markdown table (per
fold and pooled: T, thresholds, ECE before / after, share answered, accuracy on those and on all); writes
the reliability diagram and the answered-vs-accuracy curve to ``--png`` (and the figures to ``--json``).
The folds come from ``dvc exp run -S 'cv.folds=[0,1,2,3,4]' -S 'cv.summary=[all]'`` with a version that
calibrates (a fold trained before is refused, naming it).

With ``--cross-fit``, the folds' reports need no calibration (any version's, e.g. ``tools/cv_sweep.py``'s
``<out>/<config>``): each fold is scored with a calibration fitted on the other folds' test speakers; and with
``--write BUNDLE`` one calibration fitted on all the folds' test predictions is written into that Keras
bundle's ``model.json`` (a model of the same configuration trained on all those speakers, to release;
export it again afterwards: ``emoaugnet export`` or ``dvc repro export``), or, for the averaged folds of
``tools/fusion_cv.py --predictions``, into a classic part's ``classic.json`` (``dvc repro baseline_export@all``).

With ``--model`` instead (an export or bundle, e.g. the shipped model ``emoaugnet/shipped``): that one
model on its own split, without retraining. Its validation and test speakers' recordings are read from
``--source`` (a corpus folder, labels mapped by params.yaml's ``corpora.<corpus>.label_map``) and
predicted; the calibration is fitted on the validation ones and scored on the test ones.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Mapping

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from emoaugnet.evaluation import calibration_report as report  # noqa: E402  (the project root on the path first)
from emoaugnet.evaluation.figures import save_png  # noqa: E402


def split_run(model_dir: Path, corpus: str, source: Path,
              label_map: Mapping[str, str | None]) -> report.Run:
    """The model in ``model_dir`` on its validation / test speakers of ``corpus`` (recordings under ``source``,
    labels through ``label_map``): calibration fitted on the validation predictions, test predictions to score."""
    import dataclasses

    from emoaugnet.data.corpora import REGISTRY
    from emoaugnet.inference.api import Classifier, load_model
    from emoaugnet.model import calibration as cal
    model = load_model(model_dir)
    split = model.split
    if not split.get("test_speakers") or not split.get("val_speakers"):
        raise report.CalibrationReportError(f"{model_dir}: its model.json names no validation and test speakers")
    clf = Classifier(dataclasses.replace(model, calibration=cal.NONE), path=model_dir)   # the network's own
    found = [f for f in REGISTRY[corpus].scan(source).files if label_map.get(f.emotion) in clf.classes]
    parts = {}
    for part in ("val", "test"):
        files = [f for f in found if f.speaker in {str(s) for s in split[f"{part}_speakers"]}]
        if not files:
            raise report.CalibrationReportError(f"{source}: no {corpus} recordings of the {part} speakers "
                                                f"{split[f'{part}_speakers']}")
        results = clf.predict_files([f.source for f in files])
        bad = [f"{r['path']}: {r['error']}" for r in results if r["result"] == "error"]
        if bad:
            raise report.CalibrationReportError(f"{len(bad)} recordings could not be read: " + "; ".join(bad[:3]))
        # a recording predict calls silent (or too short) has no probabilities: it is left out, as predict
        # would answer it without an emotion
        kept = [(r, f) for r, f in zip(results, files) if r["probabilities"] is not None]
        parts[part] = (np.array([[r["probabilities"][c] for c in clf.classes] for r, _ in kept]),
                       np.array([clf.classes.index(label_map[f.emotion]) for _, f in kept]))
    return report.Run(f"{Path(model_dir).name}, test speakers {', '.join(map(str, split['test_speakers']))}",
                      *parts["test"], cal.fit(*parts["val"]))


def write_calibration(bundle_dir: Path, c, cv_dir: Path | None = None) -> str | None:
    """Put ``c`` into a Keras bundle's ``model.json``, or a classic part's ``classic.json`` (the averaged
    answer's, from tools/fusion_cv.py --predictions in ``cv_dir``, at the part's weight), atomically; what
    went wrong, or None."""
    from emoaugnet.atomic import write_text
    from emoaugnet.inference import classic
    from emoaugnet.inference.model_dir import is_bundle
    part = (bundle_dir / classic.CONFIG_FILE).is_file()
    config_path = bundle_dir / (classic.CONFIG_FILE if part else "model.json")
    if not part and not is_bundle(bundle_dir):
        return (f"{bundle_dir}: no Keras bundle (model.json and model.weights.h5) nor classic part "
                f"({classic.CONFIG_FILE}) to write a calibration into")
    config = json.loads(config_path.read_text())
    if part:          # the folds must be the network and this SVM averaged at the weight it answers with
        chosen = [json.loads((d / "metrics.json").read_text()).get("chosen", {}) for d in report.fold_folders(cv_dir)]
        weights = {c.get("fusion_weight") for c in chosen}
        if weights != {config.get("fusion_weight")}:
            return (f"{cv_dir}: folds averaged at weight {sorted(map(str, weights))}, {config_path} answers at "
                    f"{config.get('fusion_weight')}; write them with tools/fusion_cv.py --predictions and that "
                    "weight first in --weights")
        norms = {c.get("speaker_norm") for c in chosen}
        if norms != {config.get("speaker_norm")}:
            said = {True: "per speaker", False: "globally", None: "as they do not record (written before it was"}
            return (f"{cv_dir}: folds averaged with the SVM standardised "
                    f"{' and '.join(said[n] + ('' if n is not None else ' recorded)') for n in norms)}, {config_path} "
                    f"standardises {said[bool(config.get('speaker_norm'))]}; write them with tools/fusion_cv.py "
                    "--predictions" + ("" if config.get("speaker_norm") else " --svm-global"))
    config["calibration"] = c.to_config()
    write_text(config_path, json.dumps(config, indent=1, sort_keys=True) + "\n")
    print(f"calibration_report: {config_path}: temperature {c.temperature:.3g}, not sure under top "
          f"{c.min_probability:g} or lead {c.min_margin:g}"
          + ("" if part else "; export it again (emoaugnet export)"))
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cv", type=Path, default=Path("cv"), help="the cross-validation folder (paths.cv)")
    parser.add_argument("--png", type=Path, default=ROOT / "docs" / "figures" / "calibration.png")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures as JSON here")
    parser.add_argument("--model", type=Path, default=None, help="one model on its own split instead of the folds")
    parser.add_argument("--source", type=Path, default=None, help="with --model: the corpus folder")
    parser.add_argument("--corpus", default="ravdess", help="with --model: which corpus --source holds")
    parser.add_argument("--cross-fit", action="store_true",
                        help="fit each fold's calibration on the other folds' test speakers (reports of any version)")
    parser.add_argument("--write", type=Path, default=None, metavar="BUNDLE",
                        help="with --cross-fit: write the calibration of all folds pooled into BUNDLE/model.json")
    args = parser.parse_args(argv)
    if (args.model is None) != (args.source is None):
        parser.error("--model and --source go together")
    if args.write is not None and not args.cross_fit:
        parser.error("--write goes with --cross-fit")
    try:
        if args.model is not None:
            from emoaugnet.params import load
            label_map = load().corpus(args.corpus).label_map
            runs = [split_run(args.model, args.corpus, args.source, label_map)]
            title = f"{runs[0].name}; temperature and thresholds from its validation speakers"
        elif args.cross_fit:
            runs = report.cross_fitted(args.cv)
            title = f"{len(runs)} cross-validation test folds ({args.cv.name});\n{report.CROSS_FITTED}"
        else:
            runs = report.read_runs(args.cv)
            title = (f"{len(runs)} cross-validation test folds ({args.cv}); each fold's temperature and "
                     "thresholds from its own validation speakers")
    except report.CalibrationReportError as exc:
        print(f"calibration_report: {exc}", file=sys.stderr)
        return 2
    figures = report.pooled(runs)
    if args.cross_fit:
        figures["pooled"]["fitted_on"] = report.CROSS_FITTED
    if args.write is not None:
        written = write_calibration(args.write, report.fit_on_folds(args.cv), args.cv)
        if written:
            print(f"calibration_report: {written}", file=sys.stderr)
            return 2
    print("\n".join(report.table(figures)))
    save_png(report.figure(runs, title), args.png)
    print(f"calibration_report: {args.png}")
    if args.json:
        args.json.write_text(json.dumps({**figures, "tradeoff": report.tradeoff(runs)}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
