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

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from emoaugnet.evaluation import calibration_report as report  # noqa: E402  (the project root on the path first)
from emoaugnet.evaluation.figures import save_png  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cv", type=Path, default=Path("cv"), help="the cross-validation folder (paths.cv)")
    parser.add_argument("--png", type=Path, default=ROOT / "docs" / "figures" / "calibration.png")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures as JSON here")
    parser.add_argument("--model", type=Path, default=None, help="one model on its own split instead of the folds")
    parser.add_argument("--source", type=Path, default=None, help="with --model: the corpus folder")
    parser.add_argument("--corpus", default="ravdess", help="with --model: which corpus --source holds")
    args = parser.parse_args(argv)
    if (args.model is None) != (args.source is None):
        parser.error("--model and --source go together")
    try:
        if args.model is not None:
            from emoaugnet.params import load
            label_map = load().corpus(args.corpus).label_map
            runs = [report.split_run(args.model, args.corpus, args.source, label_map)]
            title = f"{runs[0].name}; temperature and thresholds from its validation speakers"
        else:
            runs = report.read_runs(args.cv)
            title = (f"{len(runs)} cross-validation test folds ({args.cv}); each fold's temperature and "
                     "thresholds from its own validation speakers")
    except report.CalibrationReportError as exc:
        print(f"calibration_report: {exc}", file=sys.stderr)
        return 2
    figures = report.pooled(runs)
    print("\n".join(report.table(figures)))
    save_png(report.figure(runs, title), args.png)
    print(f"calibration_report: {args.png}")
    if args.json:
        args.json.write_text(json.dumps({**figures, "tradeoff": report.tradeoff(runs)}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
