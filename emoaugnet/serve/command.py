"""``emoaugnet serve``: its arguments, the model loaded once, the refusals at start-up, uvicorn.

Kept free of heavy imports at module level, so ``emoaugnet --help`` stays fast.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction) -> None:
    from emoaugnet.inference.commands import DEFAULT_EXPORT, DEFAULT_MODELS, add_window_options
    sv = sub.add_parser("serve", help="an HTTP service and a page: upload or record speech, see its emotions",
                        description="Serve a model over HTTP: POST /api/predict answers what `emoaugnet "
                                    "predict` prints for the uploaded file; GET / is a page to upload or "
                                    "record speech. See docs/serving.md.")
    sv.add_argument("--model", default=None,
                    help=f"model folder, as for predict (default: {DEFAULT_EXPORT} when it holds an ONNX "
                         f"export, else {DEFAULT_MODELS}; with neither here, the model shipped in the package)")
    sv.add_argument("--backend", choices=("auto", "onnx", "keras"), default="auto",
                    help="auto (default): onnxruntime when the folder has model.onnx, else Keras")
    sv.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1, this machine only)")
    sv.add_argument("--port", type=int, default=8000, help="port (default: 8000)")
    sv.add_argument("--max-upload-mb", type=float, default=20.0,
                    help="largest upload accepted, MiB; larger ones get 413 (default: 20)")
    sv.add_argument("--max-seconds", type=float, default=60.0,
                    help="longest recording classified, seconds; longer ones get 422 (default: 60)")
    sv.add_argument("--workers", type=int, default=None,
                    help="recordings classified at once, on threads beside the event loop, each onnxruntime "
                         "call on the CPUs / workers threads (default: the number of CPUs, at most 4, so one "
                         "thread each; 1 for a Keras model)")
    sv.add_argument("--queue", type=int, default=16,
                    help="recordings that may wait for a worker; past workers + queue, requests get 503 with "
                         "Retry-After at once (default: 16)")
    sv.add_argument("--read-timeout", type=float, default=30.0,
                    help="seconds a client has to send a request's head, and again its body; a slower one is "
                         "cut (connection closed, or 408) (default: 30)")
    add_window_options(sv)


def serve(args: argparse.Namespace) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from emoaugnet.inference.commands import open_classifier, runtime_line
    try:
        import uvicorn

        from emoaugnet.serve.app import Limits, create_app
        from emoaugnet.serve.deadlines import h11_protocol
    except ModuleNotFoundError as exc:
        print(f"serve: {exc.name} is not installed: the service needs the serve extra "
              f"(pip install 'emoaugnet[serve]')", file=sys.stderr)
        return 2
    from emoaugnet.inference.predictor import PredictParams
    try:
        pp = PredictParams(hop=args.hop, silence_rms=args.silence_rms)
    except ValueError as exc:
        print(f"serve: {exc}", file=sys.stderr)
        return 2
    # The worker threads are the parallelism: each onnxruntime call gets the CPUs divided by the workers
    # (one thread each by default). onnxruntime's default pool, one thread per core shared by the workers'
    # concurrent calls, cost 14 % more CPU per request (docs/serving.md, Concurrency).
    cpus = os.cpu_count() or 1
    workers = args.workers or min(4, cpus)
    threads = max(1, cpus // max(1, workers))
    # model_dir's rule picks the folder (a stale export never wins); the predictor refuses a model that
    # needs a speaker's statistics, which one upload cannot give (emoaugnet.model.normalisation)
    classifier = open_classifier("serve", args, pp, threads=threads)
    if classifier is None:
        return 2
    if classifier.backend == "keras" and not args.workers:
        workers = 1
    try:
        limits = Limits(int(args.max_upload_mb * 2 ** 20), args.max_seconds, workers, args.queue, args.read_timeout)
    except ValueError as exc:
        print(f"serve: {exc}", file=sys.stderr)
        return 2
    folder = classifier.path
    runtime = runtime_line(classifier.model)
    app = create_app(classifier, limits, Path(folder).resolve().name, runtime)
    each = f" ({threads} onnxruntime thread(s) each)" if classifier.backend == "onnx" else ""
    print(f"serve: {classifier.label}: {runtime}; {workers} worker(s){each}, queue {limits.queue}; "
          f"http://{args.host}:{args.port}/", file=sys.stderr, flush=True)
    # On SIGTERM uvicorn stops accepting, lets the requests in flight finish (a body still arriving has
    # read_timeout, then its classification: the grace below covers both), then raises the signal again
    # with the handler it found: this one, so the command returns 0 instead of dying by the signal.
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: None)
    try:
        uvicorn.run(app, host=args.host, port=args.port, log_level="warning", access_log=False,
                    http=h11_protocol(limits.read_timeout), timeout_graceful_shutdown=limits.read_timeout + 30)
    finally:
        signal.signal(signal.SIGTERM, previous)
    return 0

