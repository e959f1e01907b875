"""``emoaugnet serve``: its arguments, the model loaded once, the refusals at start-up, uvicorn.

Kept free of heavy imports at module level, so ``emoaugnet --help`` stays fast.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import io
import json
import os
import signal
import sys
from pathlib import Path

#: The environment variable that hands a service process (``--processes`` above 1) the command's settings.
SETTINGS_ENV = "EMOAUGNET_SERVE_SETTINGS"


def add_parser(sub: argparse._SubParsersAction) -> None:
    from emoaugnet.inference.commands import (DEFAULT_EXPORT, DEFAULT_MODELS, add_classic_option,
                                              add_window_options)
    sv = sub.add_parser("serve", help="an HTTP service and a page: upload or record speech, see its emotions",
                        description="Serve a model over HTTP: POST /api/predict answers what `emoaugnet "
                                    "predict` prints for the uploaded file; GET / is a page to upload or "
                                    "record speech. See docs/serving.md.")
    sv.add_argument("--model", default=None,
                    help=f"model folder, as for predict (default: {DEFAULT_EXPORT} when it holds an ONNX "
                         f"export, else {DEFAULT_MODELS}; with neither here, the model shipped in the package)")
    sv.add_argument("--backend", choices=("auto", "onnx", "keras"), default="auto",
                    help="auto (default): onnxruntime when the folder has model.onnx, else Keras")
    add_classic_option(sv)
    sv.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1, this machine only)")
    sv.add_argument("--port", type=int, default=8000, help="port (default: 8000)")
    sv.add_argument("--max-upload-mb", type=float, default=20.0,
                    help="largest upload accepted, MiB; larger ones get 413 (default: 20)")
    sv.add_argument("--max-seconds", type=float, default=60.0,
                    help="longest recording classified, seconds; longer ones get 422 (default: 60)")
    sv.add_argument("--processes", type=int, default=1,
                    help="service processes sharing the port, each with the model loaded, its own workers "
                         "and queue: Python runs one thread at a time per process, so one process keeps about "
                         "1.5 of 2 CPUs busy; 2 on a 2-core machine uses both (docs/serving.md) (default: 1)")
    sv.add_argument("--workers", type=int, default=None,
                    help="recordings each process classifies at once, on threads beside its event loop, each "
                         "onnxruntime call on CPUs / (workers x processes) threads, at least 1 (default: the "
                         "number of CPUs, at most 4; 1 for a Keras model)")
    sv.add_argument("--queue", type=int, default=16,
                    help="recordings that may wait for a worker, per process; past workers + queue, requests "
                         "get 503 with Retry-After at once (default: 16)")
    sv.add_argument("--http", choices=("auto", "httptools", "h11"), default="auto",
                    help="HTTP parser: httptools (C) or h11 (pure Python); auto (default): httptools where "
                         "installed (the serve extra installs it)")
    sv.add_argument("--read-timeout", type=float, default=30.0,
                    help="seconds a client has to send a request's head, and again its body; a slower one is "
                         "cut (connection closed, or 408) (default: 30)")
    add_window_options(sv)


def serve(args: argparse.Namespace) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from emoaugnet.inference.commands import open_classifier, runtime_line
    try:
        import uvicorn

        from emoaugnet.serve import listeners
        from emoaugnet.serve.app import Limits
        from emoaugnet.serve.deadlines import parser_name, protocol
    except ModuleNotFoundError as exc:
        print(f"serve: {exc.name} is not installed: the service needs the serve extra "
              f"(pip install 'emoaugnet[serve]')", file=sys.stderr)
        return 2
    from emoaugnet.inference.predictor import PredictParams
    try:
        pp = PredictParams(hop=args.hop, silence_rms=args.silence_rms)
        http = protocol(args.http)
        if args.processes < 1:
            raise ValueError(f"--processes is {args.processes}; must be >= 1")
        if args.processes > 1 and not listeners.REUSE_PORT:
            raise ValueError("--processes above 1 needs SO_REUSEPORT (Linux, macOS, BSD): one socket per process")
    except ValueError as exc:
        print(f"serve: {exc}", file=sys.stderr)
        return 2
    # The worker threads are the parallelism: each onnxruntime call gets the CPUs divided by all the workers
    # (one thread each by default). onnxruntime's default pool, one thread per core shared by the workers'
    # concurrent calls, cost 14 % more CPU per request (docs/serving.md, Concurrency).
    cpus = os.cpu_count() or 1
    workers = args.workers or min(4, cpus)
    threads = max(1, cpus // max(1, workers * args.processes))
    # model_dir's rule picks the folder (a stale export never wins); the predictor refuses a model that
    # needs a speaker's statistics, which one upload cannot give (emoaugnet.model.normalisation). With
    # several processes this load is the check: each process loads the model again, the same way.
    classifier = open_classifier("serve", args, pp, threads=threads)
    if classifier is None:
        return 2
    if classifier.backend == "keras" and not args.workers:
        workers = 1
    try:
        limits = Limits(int(args.max_upload_mb * 2 ** 20), args.max_seconds, workers, args.queue, args.read_timeout,
                        args.processes)
    except ValueError as exc:
        print(f"serve: {exc}", file=sys.stderr)
        return 2
    runtime = runtime_line(classifier.model)
    each = f" ({threads} onnxruntime thread(s) each)" if classifier.backend == "onnx" else ""
    print(f"serve: {classifier.label}: {runtime}; {args.processes} process(es), {workers} worker(s){each} "
          f"and a queue of {limits.queue} in each; HTTP parser {parser_name(http)}; http://{args.host}:{args.port}/",
          file=sys.stderr, flush=True)
    options = dict(host=args.host, port=args.port, log_level="warning", access_log=False, http=http,
                   timeout_graceful_shutdown=limits.read_timeout + 30)
    # On SIGTERM uvicorn stops accepting, lets the requests in flight finish (a body still arriving has
    # read_timeout, then its classification: the grace above covers both), then raises the signal again
    # with the handler it found: this one, so the command returns 0 instead of dying by the signal.
    try:
        # bound without SO_REUSEPORT: a port another program (or another service) holds is refused
        sockets = listeners.bind(args.host, args.port)
    except OSError as exc:
        print(listeners.refusal(args.host, args.port, exc), file=sys.stderr)
        return 1
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: None)
    try:
        if args.processes == 1:
            server = uvicorn.Server(uvicorn.Config(service_app(classifier, limits), **options))
            try:
                server.run(sockets=sockets)
            except KeyboardInterrupt:              # Ctrl+C: uvicorn stopped as on SIGTERM, then re-raised it
                pass
            finally:
                listeners.close(sockets)
            return 0 if server.started else 2
        # each process loads the folder this one resolved, with the backend it found (a process uvicorn
        # restarts later loads the same model, whatever the working folder holds by then)
        os.environ[SETTINGS_ENV] = json.dumps({
            "model": str(Path(classifier.path).resolve()), "backend": classifier.backend, "hop": args.hop,
            "silence_rms": args.silence_rms, "threads": threads, "limits": dataclasses.asdict(limits),
            "no_classic": args.no_classic})
        del classifier
        return listeners.supervise(uvicorn.Config(f"{__name__}:{process_app.__name__}", factory=True,
                                                  workers=args.processes, timeout_worker_healthcheck=60, **options),
                                   sockets)
    finally:
        signal.signal(signal.SIGTERM, previous)


def process_app():
    """The application of one service process (``--processes`` above 1), called by uvicorn in that process:
    the model the command opened, opened again from the settings in :data:`SETTINGS_ENV`."""
    from emoaugnet.inference.commands import open_classifier
    from emoaugnet.inference.predictor import PredictParams
    from emoaugnet.serve.app import Limits
    settings = json.loads(os.environ[SETTINGS_ENV])
    limits = Limits(**settings["limits"])
    said = io.StringIO()                      # the notes the command printed once already (which model, ...)
    with contextlib.redirect_stderr(said):
        classifier = open_classifier("serve", argparse.Namespace(model=settings["model"], backend=settings["backend"],
                                                                 no_classic=settings["no_classic"]),
                                     PredictParams(hop=settings["hop"], silence_rms=settings["silence_rms"]),
                                     threads=settings["threads"])
    if classifier is None:                    # the command opened it a moment ago: the folder changed since
        from uvicorn.config import STARTUP_FAILURE
        print(said.getvalue().strip() or "serve: the model could not be opened again", file=sys.stderr, flush=True)
        sys.exit(STARTUP_FAILURE)             # uvicorn's supervisor does not restart it, and stops
    return service_app(classifier, limits)


def service_app(classifier, limits):
    """The application of this process, the command's one or a service process's: ``classifier`` under
    ``limits``, named by its model's folder, with the head timeout of ``limits`` set on the protocol class."""
    from emoaugnet.inference.commands import runtime_line
    from emoaugnet.serve.app import create_app
    from emoaugnet.serve.deadlines import HeadTimeout
    HeadTimeout.read_timeout = limits.read_timeout
    return create_app(classifier, limits, Path(classifier.path).resolve().name, runtime_line(classifier.model))
