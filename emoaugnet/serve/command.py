"""``emoaugnet serve``: its arguments, the model loaded once, the refusals at start-up, uvicorn.

Kept free of heavy imports at module level, so ``emoaugnet --help`` stays fast.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction) -> None:
    from emoaugnet.cli import DEFAULT_EXPORT, DEFAULT_MODELS
    sv = sub.add_parser("serve", help="an HTTP service and a page: upload or record speech, see its emotions",
                        description="Serve a model over HTTP: POST /api/predict answers what `emoaugnet "
                                    "predict` prints for the uploaded file; GET / is a page to upload or "
                                    "record speech. See docs/serving.md.")
    sv.add_argument("--model", default=None,
                    help=f"model folder, as for predict (default: {DEFAULT_EXPORT} when it holds an ONNX "
                         f"export, else {DEFAULT_MODELS})")
    sv.add_argument("--backend", choices=("auto", "onnx", "keras"), default="auto",
                    help="auto (default): onnxruntime when the folder has model.onnx, else Keras")
    sv.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1, this machine only)")
    sv.add_argument("--port", type=int, default=8000, help="port (default: 8000)")
    sv.add_argument("--max-upload-mb", type=float, default=20.0,
                    help="largest upload accepted, MiB; larger ones get 413 (default: 20)")
    sv.add_argument("--max-seconds", type=float, default=60.0,
                    help="longest recording classified, seconds; longer ones get 422 (default: 60)")
    sv.add_argument("--workers", type=int, default=None,
                    help="recordings classified at once, on threads beside the event loop "
                         "(default: the number of CPUs, at most 4; 1 for a Keras model)")
    sv.add_argument("--hop", type=float, default=None,
                    help="seconds between analysis windows of long recordings (default: half the model's window)")
    sv.add_argument("--silence-rms", type=float, default=0.001,
                    help="a window whose RMS is below this is reported as silence (default: 0.001)")


def serve(args: argparse.Namespace) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from emoaugnet import bundle
    from emoaugnet.api import Classifier
    from emoaugnet.cli import DEFAULT_EXPORT, DEFAULT_MODELS, KERAS_MISSING, model_folder, runtime_line
    try:
        import uvicorn

        from emoaugnet.serve.app import Limits, create_app
    except ModuleNotFoundError as exc:
        print(f"serve: {exc.name} is not installed: the service needs the serve extra "
              f"(pip install 'emoaugnet[serve]')", file=sys.stderr)
        return 2
    folder = model_folder(args)
    if args.model is None and not Path(folder).exists():
        print(f"serve: no model: neither {DEFAULT_EXPORT}/ (an ONNX export) nor {DEFAULT_MODELS}/ (a Keras "
              f"bundle) in {Path.cwd()}; pass --model DIR", file=sys.stderr)
        return 2
    try:
        classifier = Classifier.from_dir(folder, args.backend, hop=args.hop, silence_rms=args.silence_rms)
        if getattr(classifier.model.model_params, "speaker_norm", False):
            raise ValueError(f"{folder} was trained with model.speaker_norm: true; it needs several recordings "
                             f"of one speaker together (predict --speaker-norm), which one upload is not")
        workers = args.workers or (1 if classifier.backend == "keras" else min(4, os.cpu_count() or 1))
        limits = Limits(int(args.max_upload_mb * 2 ** 20), args.max_seconds, workers)
    except (bundle.BundleError, ValueError) as exc:
        print(f"serve: {exc}", file=sys.stderr)
        return 2
    except ModuleNotFoundError as exc:
        print(f"serve: {folder}: {KERAS_MISSING.format(exc.name)}", file=sys.stderr)
        return 2
    runtime = runtime_line(classifier.model)
    app = create_app(classifier, limits, Path(folder).resolve().name, runtime)
    print(f"serve: {folder}: {runtime}; {workers} worker(s); http://{args.host}:{args.port}/", file=sys.stderr,
          flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", access_log=False,
                timeout_graceful_shutdown=5)
    return 0

