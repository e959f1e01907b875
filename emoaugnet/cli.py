"""The ``emoaugnet`` command (``python -m emoaugnet``): what a user runs outside the DVC pipeline.

- ``emoaugnet predict [--model DIR] FILE_OR_FOLDER...``: one JSON object (``--csv``: one row) per file;
  windows and silence as described in :mod:`emoaugnet.inference`. Exit status: 0 every file classified
  (or silent), 1 some file could not be read, 2 bad model or arguments. Its first line on stderr names
  the Keras backend, device and precision (:func:`emoaugnet.backend.describe`).
- ``emoaugnet summary``: the layer table of the network params.yaml describes (Table I).

Heavy imports (librosa, Keras) happen after argument parsing, so ``--help`` answers at once.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
from typing import Any, Sequence


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="emoaugnet", description="EmoAugNet speech emotion recognition.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    pr = sub.add_parser("predict", help="classify the emotion of audio files with a trained model",
                        description="Classify the emotion of audio files with a trained model (one JSON "
                                    "object per file).",
                        epilog="Windows and silence: see emoaugnet/inference.py. Exit status: 0 all files "
                               "classified (or silent), 1 some file could not be read, 2 bad model or arguments.")
    pr.add_argument("paths", nargs="+", metavar="FILE_OR_FOLDER",
                    help="audio files, or folders searched recursively for audio files")
    pr.add_argument("--model", default="models", help="model bundle folder (default: models)")
    pr.add_argument("--csv", action="store_true", help="write a CSV table instead of JSON lines")
    pr.add_argument("--hop", type=float, default=None,
                    help="seconds between analysis windows of long recordings (default: half the model's window)")
    pr.add_argument("--silence-rms", type=float, default=0.001,
                    help="a window whose RMS is below this is reported as silence (default: 0.001)")
    pr.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                    help="progress bar on stderr (default: when stderr is a terminal)")
    sub.add_parser("summary", help="print the network's layer table for params.yaml",
                   description="Print the layer table of the network params.yaml describes.")
    return parser


def predict(args: argparse.Namespace) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from emoaugnet import bundle as bundle_mod   # imports Keras
    from emoaugnet.inference import PredictParams, Predictor, expand
    if args.hop is not None and args.hop <= 0 or args.silence_rms < 0:
        print("predict: --hop must be > 0 and --silence-rms >= 0", file=sys.stderr)
        return 2
    from emoaugnet import backend
    # stdout carries the results, so the device line goes to stderr; bundles load in float32
    print(f"predict: {backend.describe('float32')}", file=sys.stderr, flush=True)
    try:
        model = bundle_mod.load(args.model)
        predictor = Predictor(model, PredictParams(hop=args.hop, silence_rms=args.silence_rms))
    except (bundle_mod.BundleError, ValueError) as exc:
        print(f"predict: {exc}", file=sys.stderr)
        return 2
    items = expand(args.paths)
    classes = model.classes
    writer = csv.writer(sys.stdout, lineterminator="\n") if args.csv else None
    if writer:
        from emoaugnet.inference import csv_header
        writer.writerow(csv_header(classes))
    try:
        failed = _write(predictor, items, classes, writer, args.progress)
    except BrokenPipeError:           # e.g. piped into `head`: stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    if failed:
        print(f"predict: {failed} of {len(items)} files could not be classified", file=sys.stderr)
    return 1 if failed else 0


def _write(predictor: Any, items: list[tuple[str, str | None]], classes: Sequence[str],
           writer: Any, progress: bool | None) -> int:
    """Print one JSON line (or CSV row) per result; returns how many files failed."""
    from tqdm import tqdm

    from emoaugnet.inference import csv_row
    failed = 0
    disable = None if progress is None else not progress   # None: only on a terminal
    with tqdm(total=len(items), unit="file", desc="predict", file=sys.stderr, disable=disable, leave=False) as bar:
        for result in predictor.classify(items):
            bar.update(1)
            if result["result"] == "error":
                failed += 1
                tqdm.write(f"predict: {result['path']}: {result['error']}", file=sys.stderr)
            elif result.get("warning"):
                tqdm.write(f"predict: {result['path']}: {result['warning']}", file=sys.stderr)
            if writer:
                writer.writerow(csv_row(result, classes))
            else:
                print(json.dumps(result))
            sys.stdout.flush()
    return failed


def summary(args: argparse.Namespace) -> int:
    from emoaugnet import model as model_mod
    from emoaugnet.params import ParamsError, load
    try:
        p = load()
    except ParamsError as exc:
        print(f"summary: {exc}", file=sys.stderr)
        return 2
    net = model_mod.build(p.model, len(p.classes), p.num_frames, p.features.num_channels)
    for line in model_mod.summary_lines(net):
        print(line)
    shape = model_mod.input_shape(p.model.input_layout, p.num_frames, p.features.num_channels)
    print(f"input layout: {p.model.input_layout} {shape}; conv activation: {p.model.conv_activation}; "
          f"dense activation: {p.model.dense_activation}; precision: {p.train.precision}")
    return 0


COMMANDS = {"predict": predict, "summary": summary}


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    return COMMANDS[args.command](args)


if __name__ == "__main__":
    raise SystemExit(main())
