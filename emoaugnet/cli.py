"""The ``emoaugnet`` command (``python -m emoaugnet``): what a user runs outside the DVC pipeline.

- ``emoaugnet predict [--model DIR] [--backend auto|onnx|keras] FILE_OR_FOLDER...``: one JSON object
  (``--csv``: one row; ``--timeline``: a table of windows; ``--segments``: the answer and its segments) per
  file, ``--plot FILE.png`` draws the segments and the smoothed probabilities; windows and silence as
  described in :mod:`emoaugnet.inference.predictor`. With an ONNX export
  (``model.onnx`` in the folder) it runs on onnxruntime and never imports Keras or TensorFlow.
  Exit status: 0 every file classified (or silent), 1 some file could not be read, 2 bad model or arguments.
  Its first line on stderr names what runs the model: the Keras backend, device and precision
  (:func:`emoaugnet.model.backend.describe`), or onnxruntime. ``--workers N`` (default: the CPUs) classifies
  on worker processes (:mod:`emoaugnet.inference.workers`); ``--output FILE.jsonl`` appends each result as it
  is known and a rerun resumes (:mod:`emoaugnet.inference.results_file`).
- ``emoaugnet export [--model DIR] [--out DIR]``: a Keras bundle -> an ONNX export (:mod:`emoaugnet.inference.onnx_export`);
  a folder of bundles (``cv/models``) -> one export per bundle.
- ``predict --model`` may name a folder of models (``cv/models``, ``cv/export``): their probabilities are
  averaged (:mod:`emoaugnet.inference.ensemble`).
- ``emoaugnet serve [--model DIR] [--host 127.0.0.1] [--port 8000]``: an HTTP service and a page on the
  same inference code (:mod:`emoaugnet.serve`; docs/serving.md).
- ``emoaugnet release [--export DIR] [--to emoaugnet/shipped] [--speaker-export DIR ...]``: a fresh export
  (and its speaker-adapted member) into the package, with its card (:mod:`emoaugnet.release.release`); ``emoaugnet info [--model DIR] [--json]``: print a released model's card
  (the shipped model's by default; :mod:`emoaugnet.release.card`, no numpy or onnxruntime import).
- ``emoaugnet summary``: the layer table of the network params.yaml describes (Table I).
- ``emoaugnet show-augment [--shard FILE] [--utterance ID] [-o PNG]``: one utterance's original and
  augmented variants from an augment shard (:mod:`emoaugnet.store.augment_figures`).
- ``emoaugnet --version``. ``summary``, ``export`` and ``show-augment`` need an extra beyond the core install;
  without it they print one line naming it and exit 2 (:mod:`emoaugnet.hints`).

Heavy imports (librosa, Keras) happen after argument parsing, so ``--help`` answers at once. The module is
long because it holds every subcommand's arguments and output in one place; the work is in the modules named.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
from pathlib import Path
from typing import Any, Sequence

from emoaugnet import __version__
from emoaugnet.inference.commands import (DEFAULT_EXPORT, DEFAULT_MODELS, add_classic_option, add_window_options,
                                          as_flags, open_classifier, runtime_line)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="emoaugnet", description="EmoAugNet speech emotion recognition.")
    parser.add_argument("--version", action="version", version=f"emoaugnet {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    pr = sub.add_parser("predict", help="classify the emotion of audio files with a trained model",
                        description="Classify the emotion of audio files with a trained model (one JSON "
                                    "object per file).",
                        epilog="Windows and silence: see emoaugnet/inference/predictor.py. Exit status: 0 all files "
                               "classified (or silent), 1 some file could not be read (or a worker process "
                               "died), 2 bad model or arguments.")
    pr.add_argument("paths", nargs="+", metavar="FILE_OR_FOLDER",
                    help="audio files, or folders searched recursively for audio files")
    pr.add_argument("--model", default=None,
                    help=f"model folder: an ONNX export or a Keras bundle, or a folder of them (e.g. cv/models, "
                         f"the cross-validation fold models), whose probabilities are averaged, or a project "
                         f"folder (default: here: {DEFAULT_EXPORT}/ when it was exported from the bundle in "
                         f"{DEFAULT_MODELS}/ beside it, else {DEFAULT_MODELS}/ with a warning; with neither "
                         f"here, the model shipped in the package: `emoaugnet info` prints its card)")
    pr.add_argument("--backend", choices=("auto", "onnx", "keras"), default="auto",
                    help="auto (default): onnxruntime when the folder has model.onnx, else Keras")
    add_classic_option(pr)
    out = pr.add_mutually_exclusive_group()
    out.add_argument("--csv", action="store_true", help="write a CSV table instead of JSON lines")
    out.add_argument("--timeline", action="store_true",
                     help="print a table per file: one row per window (start, end, emotion, probabilities)")
    out.add_argument("--segments", action="store_true",
                     help="print each file's answer and its segments: runs of windows with one emotion (or "
                          "not sure, or silence), after smoothing, with their mean probability")
    pr.add_argument("--plot", metavar="FILE.png", default=None,
                    help="also draw each file's window probabilities over time into this image (matplotlib)")
    add_window_options(pr)
    pr.add_argument("--min-duration", type=float, default=None,
                    help="a recording shorter than this many seconds gets the result too_short, not an "
                         "emotion (default: 0.5, emoaugnet.inference.predictor.MIN_DURATION)")
    pr.add_argument("--speaker-norm", action="store_true",
                    help="speaker adaptation, for a model trained with model.feature_norm: speaker: all the files given "
                         "are one speaker's, and their features are standardised by that speaker's statistics "
                         "(read from these files, unlabelled) before the model sees them")
    pr.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                    help="progress bar on stderr, with rate and time left (default: when stderr is a terminal)")
    pr.add_argument("--output", metavar="FILE.jsonl", default=None,
                    help="append the JSON lines to this file, each as soon as it is known (with workers: when its "
                         "chunk of 16 files is done); a rerun skips the files already in it (a torn last line left "
                         "by a kill is cut off), so an interrupted run resumes where it stopped")
    pr.add_argument("--workers", type=int, default=os.cpu_count() or 1, metavar="N",
                    help="worker processes, each with its own copy of the model (default: the number of CPUs, "
                         "%(default)s here; ONNX models only: a Keras model runs in one process)")
    ex = sub.add_parser("export", help="export a trained model bundle to ONNX (for predict without Keras)",
                        description="Write model.onnx, features.npz and model.json into --out: the model as "
                                    "ONNX plus everything the features need, checked against Keras.")
    ex.add_argument("--model", default=DEFAULT_MODELS,
                    help=f"Keras model bundle folder, or a folder of them such as cv/models (each exported to "
                         f"--out/<its name>) (default: {DEFAULT_MODELS})")
    ex.add_argument("--out", default=DEFAULT_EXPORT, help=f"export folder (default: {DEFAULT_EXPORT})")
    sub.add_parser("summary", help="print the network's layer table for params.yaml",
                   description="Print the layer table of the network params.yaml describes.")
    sa = sub.add_parser("show-augment", help="draw one utterance's original and augmented variants (PNG)",
                        description="Draw one utterance's original and augmented variants from an augment "
                                    "shard: waveform and log-mel spectrogram per variant, titled by chain and "
                                    "drawn parameters.")
    sa.add_argument("--shard", help="augment shard (default: the first of <paths.augmented>/<corpus>/)")
    sa.add_argument("--corpus", help="corpus whose shards to look in (default: the first of run.corpora)")
    sa.add_argument("--speaker", help="speaker whose shard to use (default: the first)")
    sa.add_argument("--utterance", help="utterance id (default: the shard's first)")
    sa.add_argument("-o", "--output", default="augment.png", help="PNG to write (default: augment.png)")
    sa.add_argument("--colours", type=int, default=128,
                    help="store the PNG with a palette of this many colours, 0 for full colour (default: 128)")
    from emoaugnet.serve.command import add_parser as add_serve
    add_serve(sub)
    rl = sub.add_parser("release", help="copy a freshly made ONNX export into the package, with its model card",
                        description="Check the export (fresh, speaker-independent, releasable licences, params.yaml "
                                    "still describes it) and copy it into --to with card.json; write MODEL_CARD.md "
                                    "from the card. See docs/release.md.")
    rl.add_argument("--export", default=DEFAULT_EXPORT, help=f"the ONNX export (default: {DEFAULT_EXPORT})")
    rl.add_argument("--models", default=DEFAULT_MODELS,
                    help=f"the bundle the export must have been made from (default: {DEFAULT_MODELS})")
    rl.add_argument("--reports", default="reports", help="where the measured figures are (default: reports)")
    rl.add_argument("--cv", default=None, help="the cross-validation summary (default: <reports>/cv/metrics.json)")
    rl.add_argument("--to", default="emoaugnet/shipped", help="the package's model folder (default: emoaugnet/shipped)")
    rl.add_argument("--card", default="MODEL_CARD.md", help="the readable card to write (default: MODEL_CARD.md)")
    rl.add_argument("--params", default="params.yaml", help="the params file (default: params.yaml)")
    rl.add_argument("--allow-dirty", action="store_true",
                    help="release even when the git tree has uncommitted changes to tracked files (refused "
                         "otherwise: the card's commit would not be what the model was made from); the card "
                         "records it and the files that differed")
    rl.add_argument("--speaker-export", default=None, metavar="DIR",
                    help="also release this ONNX export, trained with model.feature_norm: speaker, as the "
                         "speaker-adapted member (used for several recordings of one speaker)")
    rl.add_argument("--speaker-models", default=None, metavar="DIR", help="the bundle --speaker-export was made from")
    rl.add_argument("--adaptation", default=None, metavar="FILE",
                    help="tools/adaptation_curve.py's JSON for --speaker-export's configuration (with --keep-models: "
                         "the member's curve again, e.g. averaged with its classic part): its figures and "
                         "from how many recordings it beats the single-file model")
    rl.add_argument("--min-recordings", type=int, default=None, metavar="N",
                    help="with --adaptation: the member answers from N recordings of a speaker (one of the curve's "
                         "numbers) instead of the fewest whose cross-validation beats the single-file model; needs "
                         "--why, the measurement behind it (the card records both and the rule's number)")
    rl.add_argument("--why", default=None, metavar="TEXT", help="with --min-recordings: why")
    rl.add_argument("--classic", action="append", default=[], metavar="DIR",
                    help="an eGeMAPS + SVM of `dvc repro baseline_export@all` (classic.onnx, classic.json) whose "
                         "answers a model averages in: the single-file model's when fit on globally standardised "
                         "functionals, the --speaker-export member's when fit per speaker; give it twice for both")
    rl.add_argument("--fusion", action="append", default=[], metavar="FILE",
                    help="one for each --classic, in the same order: tools/fusion_cv.py --out's figures for its "
                         "model's configuration and it")
    rl.add_argument("--keep-models", action="store_true",
                    help="with --classic: release the models already in --to again as they are (checked against "
                         "their card), adding each classic part beside the model it fits")
    inf = sub.add_parser("info", help="print a released model's card (the shipped model's by default)",
                         description="Print the card of the model shipped in the package (or of --model DIR).")
    inf.add_argument("--model", default=None, help="a released model folder holding card.json "
                                                   "(default: the shipped model)")
    inf.add_argument("--json", action="store_true", help="print card.json itself")
    return parser


def predict(args: argparse.Namespace) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    # the settings and the model folder are checked before numpy, onnxruntime or Keras is imported
    # (no model: an answer in well under a second)
    from emoaugnet.inference.predictor import PredictParams
    try:
        pp = PredictParams(hop=args.hop, silence_rms=args.silence_rms,
                           **({} if args.min_duration is None else {"min_duration": args.min_duration}))
    except ValueError as exc:
        print(f"predict: {as_flags(exc)}", file=sys.stderr)
        return 2
    if args.workers < 1:
        print(f"predict: --workers must be >= 1; got {args.workers}", file=sys.stderr)
        return 2
    if args.output and (args.csv or args.timeline or args.segments):
        print("predict: --output writes JSON lines; leave out --csv / --timeline / --segments", file=sys.stderr)
        return 2
    clf = open_classifier("predict", args, pp, args.paths if args.speaker_norm else None)
    if clf is None:
        return 2
    from emoaugnet.inference.predictor import expand
    model = clf.model
    # stdout carries the results, so the device line goes to stderr, first; models run in float32
    print(f"predict: {runtime_line(model)}", file=sys.stderr, flush=True)
    if args.model is None:            # nothing named: say which model the rule picked (the shipped one?)
        print(f"predict: model: {clf.label}", file=sys.stderr, flush=True)
    items = expand(args.paths)
    classes = model.classes
    output = None
    if args.output:
        from emoaugnet.inference.results_file import ResultsFileError, open_results
        try:
            output = open_results(args.output)
        except ResultsFileError as exc:
            print(f"predict: --output {exc}", file=sys.stderr)
            return 2
        if output.dropped:
            print(f"predict: {args.output}: cut off an incomplete last line ({output.dropped} bytes, left by "
                  "an interrupted run); its file is classified again", file=sys.stderr)
        todo = [item for item in items if item[0] not in output.done]
        if len(todo) < len(items):
            print(f"predict: {args.output}: {len(items) - len(todo)} of {len(items)} files already there, "
                  f"{len(todo)} to go", file=sys.stderr)
        items = todo
    writer = csv.writer(sys.stdout, lineterminator="\n") if args.csv else None
    if writer:
        from emoaugnet.inference.predictor import csv_header
        writer.writerow(csv_header(classes))
    results: list[dict[str, Any]] | None = [] if args.plot else None
    from emoaugnet.inference.workers import WorkerError
    try:
        failed = _write(clf, items, classes, writer, args.progress, args.timeline, results, args.segments,
                        args.workers, output)
    except BrokenPipeError:           # e.g. piped into `head`: stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except WorkerError as exc:
        print(f"predict: {exc}", file=sys.stderr)
        return 1
    finally:
        if output:
            output.close()
    if output:                        # the errors of earlier runs count too: they are in the same file
        failed += output.errors
        print(f"predict: {args.output}: {len(output.done) + len(items)} results", file=sys.stderr)
    if failed:
        print(f"predict: {failed} of {len(items) + (len(output.done) if output else 0)} files could not be "
              "classified", file=sys.stderr)
    if args.plot:
        from emoaugnet.inference import timeline
        try:
            timeline.plot(results, classes, args.plot)
        except (ValueError, OSError) as exc:
            print(f"predict: --plot {args.plot}: {exc}", file=sys.stderr)
            return 1
    return 1 if failed else 0


def _write(clf: Any, items: list[tuple[str, str | None]], classes: Sequence[str],
           writer: Any, progress: bool | None, timeline: bool = False,
           results: list[dict[str, Any]] | None = None, segments: bool = False, workers: int = 1,
           output: Any = None) -> int:
    """Print one JSON line (CSV row, timeline table, segment list) per result, or append it to ``output``
    (a :class:`emoaugnet.inference.results_file.ResultsFile`), keeping them in ``results`` when given;
    returns how many files failed."""
    from tqdm import tqdm

    from emoaugnet.inference import segments as segments_mod, timeline as timeline_mod, workers as workers_mod
    from emoaugnet.inference.predictor import csv_row
    failed = 0
    disable = None if progress is None else not progress   # None: only on a terminal
    with tqdm(total=len(items), unit="file", desc="predict", file=sys.stderr, disable=disable, leave=False) as bar:
        for result in workers_mod.classify(clf, items, workers, ordered=output is None):
            bar.update(1)
            if result["result"] == "error":
                failed += 1
                tqdm.write(f"predict: {result['path']}: {result['error']}", file=sys.stderr)
            elif result.get("warning"):
                tqdm.write(f"predict: {result['path']}: {result['warning']}", file=sys.stderr)
            if results is not None:
                results.append(result)
            if output:
                output.write(result)
                continue
            if writer:
                writer.writerow(csv_row(result, classes))
            elif timeline:
                print("\n".join(timeline_mod.table(result, classes)))
            elif segments:
                print("\n".join(segments_mod.lines(result)))
            else:
                print(json.dumps(result))
            sys.stdout.flush()
    return failed


def summary(args: argparse.Namespace) -> int:
    from emoaugnet.model import network as model_mod
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


def export(args: argparse.Namespace) -> int:
    from emoaugnet.model import bundle as bundle_mod
    from emoaugnet.inference import ensemble
    from emoaugnet.inference.onnx_export import export as export_model
    # a folder of bundles (cv/models): each into --out/<its name>
    pairs = ([(d, Path(args.out) / d.name) for d in ensemble.member_dirs(args.model)]
             if ensemble.is_ensemble(args.model) else [(Path(args.model), Path(args.out))])
    try:
        exported = [(out, export_model(src, out)) for src, out in pairs]
    except bundle_mod.BundleError as exc:
        print(f"export: {exc}", file=sys.stderr)
        return 2
    for out, entry in exported:
        print(f"export: {out / entry['file']} (opset {entry['opset']}, largest difference from Keras "
              f"{entry['max_abs_diff_vs_keras']:.2g}), features.npz, model.json")
    return 0


def show_augment(args: argparse.Namespace) -> int:
    from emoaugnet.store import shards
    from emoaugnet.params import ParamsError
    try:
        shard = args.shard
        if shard is None:
            from emoaugnet.params import load
            p = load()
            corpus = args.corpus or p.corpora_to_run[0]
            found = shards.shards(p.paths.augmented, [corpus])
            if args.speaker is not None:
                found = [s for s in found if s.name == shards.shard_name(args.speaker)]
                if not found:
                    raise shards.StoreError(f"{p.paths.augmented}/{corpus}: no shard for speaker {args.speaker!r}")
            shard = found[0]
        from emoaugnet.store.augment_figures import utterance_figure
        from emoaugnet.evaluation.figures import save_png
        path = save_png(utterance_figure(shard, args.utterance), args.output, dpi=72, colours=args.colours or None)
    except (ParamsError, shards.StoreError) as exc:
        print(f"show-augment: {exc}", file=sys.stderr)
        return 2
    print(f"show-augment: wrote {path} from {shard}")
    return 0


def serve(args: argparse.Namespace) -> int:
    from emoaugnet.serve.command import serve as run_service
    return run_service(args)


def release(args: argparse.Namespace) -> int:
    from emoaugnet.model.bundle import BundleError
    from emoaugnet.release.card import CardError
    from emoaugnet.data.licences import LicenceError
    from emoaugnet.params import ParamsError
    from emoaugnet.release.release import ReleaseError, release as release_model
    try:
        if (args.min_recordings is None) != (args.why is None) or (args.min_recordings is not None
                                                                   and args.adaptation is None):
            raise ReleaseError("--min-recordings N goes with --why TEXT and --adaptation FILE (the curve it is on)")
        chosen = None if args.min_recordings is None else (args.min_recordings, args.why)
        if args.keep_models:
            from emoaugnet.release.classic_part import add_to_release
            if not args.classic:
                raise ReleaseError("--keep-models adds a classic part: give --classic DIR and --fusion FILE")
            if args.speaker_export or args.speaker_models or args.export != DEFAULT_EXPORT:
                raise ReleaseError("--keep-models releases the models already in --to: leave out --export, "
                                   "--speaker-export and --speaker-models")
            card = add_to_release(Path(args.to), args.classic, args.fusion, Path(args.params).resolve().parent,
                                  Path(args.card), args.allow_dirty,
                                  None if args.adaptation is None else Path(args.adaptation), chosen)
            print(f"release: {card['name']}: the models of {card['models_released_as']} in {args.to}, averaged "
                  f"with the eGeMAPS + SVM from {', '.join(args.classic)}; {args.card}")
            return 0
        card = release_model(args.export, args.to, args.models, args.reports, args.cv, args.card, args.params,
                             args.speaker_export, args.speaker_models, args.adaptation,
                             allow_dirty=args.allow_dirty, classic=args.classic, fusion=args.fusion, chosen=chosen)
    except (ReleaseError, LicenceError, BundleError, ParamsError, CardError, OSError) as exc:
        print(f"release: {exc}", file=sys.stderr)
        return 2
    what = ", ".join(f"{m['folder']}/" for m in card.get("models") or []) or "model.onnx, features.npz, model.json"
    print(f"release: {card['name']} from {args.export} into {args.to} ({what}, card.json) and {args.card}; "
          f"{len(card['figures'])} measured figures"
          + (f"; speaker-adapted member from {args.speaker_export} (from {card['speaker_model']['min_recordings']} "
             "recordings of a speaker)" if "speaker_model" in card else "")
          + (f"; averaged with the eGeMAPS + SVM from {', '.join(args.classic)}" if args.classic else "")
          + ("; warning: the git tree had uncommitted changes (--allow-dirty; the card says so)" if card["dirty"]
             else ""))
    return 0


def info(args: argparse.Namespace) -> int:
    from emoaugnet.release import card as card_mod
    try:
        card = card_mod.read(args.model) if args.model else card_mod.read()
    except card_mod.CardError as exc:
        print(f"info: {exc}", file=sys.stderr)
        return 2
    try:
        print(json.dumps(card, indent=1, sort_keys=True) if args.json else card_mod.render(card), flush=True)
    except BrokenPipeError:           # e.g. piped into `head`: stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0


COMMANDS = {"predict": predict, "export": export, "summary": summary, "show-augment": show_augment,
            "serve": serve, "release": release, "info": info}


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except ModuleNotFoundError as exc:
        from emoaugnet import hints
        if args.command not in hints.NEEDS:     # predict and serve say it themselves; elsewhere it is a bug
            raise
        print(hints.missing_extra(args.command, exc), file=sys.stderr)   # summary, export, show-augment
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
