"""The ``emoaugnet`` command (``python -m emoaugnet``): what a user runs outside the DVC pipeline.

- ``emoaugnet predict [--model DIR] FILE_OR_FOLDER...``: one JSON object (``--csv``: one row) per file;
  windows and silence as described in :mod:`emoaugnet.inference`. Exit status: 0 every file classified
  (or silent), 1 some file could not be read, 2 bad model or arguments.
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
    pr.add_argument("--speaker-norm", action="store_true",
                    help="speaker adaptation, for a model trained with model.speaker_norm: all the files given "
                         "are one speaker's, and their features are standardised by that speaker's statistics "
                         "(read from these files, unlabelled) before the model sees them")
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
    items = expand(args.paths)
    try:
        model = bundle_mod.load(args.model)
        if model.model_params.speaker_norm != args.speaker_norm:
            raise ValueError(f"{args.model} was trained with model.speaker_norm: "
                             f"{str(model.model_params.speaker_norm).lower()}; "
                             + ("pass --speaker-norm and the recordings of one speaker"
                                if model.model_params.speaker_norm else "leave out --speaker-norm"))
        pp = PredictParams(hop=args.hop, silence_rms=args.silence_rms)
        stats = speaker_statistics(items, model, pp) if args.speaker_norm else None
        predictor = Predictor(model, pp, speaker_stats=stats)
    except (bundle_mod.BundleError, ValueError) as exc:
        print(f"predict: {exc}", file=sys.stderr)
        return 2
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


def speaker_statistics(items: list[tuple[str, str | None]], bundle: Any, pp: Any) -> tuple[Any, Any]:
    """Per-channel mean / sd over the voiced windows of every readable file in ``items``: the statistics
    a ``model.speaker_norm`` model standardises one speaker's features by (:mod:`emoaugnet.speaker_norm`).
    Unreadable files are skipped here (``classify`` reports them)."""
    import numpy as np

    from emoaugnet import audio, features, inference, speaker_norm
    frames = []
    for path, error in items:
        try:
            rec = inference.read_windows(path, bundle.audio_params, pp) if error is None else None
        except (audio.AudioError, OSError, ValueError):
            rec = None
        voiced = [w.samples for w in rec.windows if not w.silent] if rec else []
        if voiced:
            frames.append(features.extract(np.stack(voiced), bundle.audio_params.sample_rate, bundle.feature_params))
    if not frames:
        raise ValueError("--speaker-norm: no readable, voiced recording to take the speaker's statistics from")
    return speaker_norm.statistics(np.concatenate(frames))


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
