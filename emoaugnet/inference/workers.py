"""Classify many files on worker processes, each with its own model (its own onnxruntime session).

:func:`classify` hands the files out in chunks of :data:`CHUNK` (their windows are classified together,
as in one process) to ``workers`` processes started with ``spawn`` (no onnxruntime thread state is
forked); each loads the model once, with one onnxruntime and one BLAS thread, so the workers do not fight
over the cores. Results come back a chunk at a time: in input order (``ordered``, for standard output) or
as each chunk finishes (for ``--output``, where every result is written as soon as it is known). One
worker, or no more files than one chunk, runs in the calling process with the model already loaded
there. A Keras model always runs in the calling process (TensorFlow uses every core by itself).

The workers compute exactly what the calling process would: the same model folder, the same
:class:`~emoaugnet.inference.predictor.PredictParams`, the same speaker statistics (``--speaker-norm``), the
same classic part bound to them (:class:`emoaugnet.inference.classic.Partner`, its model loaded again there).
A worker that dies (killed, out of memory) stops the run with :class:`WorkerError`; the results written
so far stay, and a rerun with ``--output`` finishes the rest.
"""

from __future__ import annotations

import os
import signal
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Iterator, Sequence

from emoaugnet.errors import EmoAugNetError

#: Files per task: large enough that the windows of several short files share one model call, small
#: enough that a kill loses little work in flight and the workers finish together.
CHUNK = 16
#: Chunks queued per worker at a time (bounds the memory of finished results waiting in order).
QUEUED = 4
_THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")

_predictor: Any = None     # the worker process's Predictor (set by _start)


class WorkerError(EmoAugNetError, RuntimeError):
    """A worker process died; the message says so and how to resume."""


def _start(model_dir: str, backend: str, params: Any, speaker_stats: Any, partner: Any) -> None:
    """Worker initialiser: one thread per library, SIGINT left to the parent, the model loaded once."""
    global _predictor
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for name in _THREAD_VARIABLES:          # before numpy is first imported in this process
        os.environ[name] = "1"
    from emoaugnet.inference.api import load_model
    from emoaugnet.inference.predictor import Predictor
    _predictor = Predictor(load_model(model_dir, backend, threads=1), params, speaker_stats=speaker_stats,
                           partner=partner)


def _classify(chunk: list[tuple[str, str | None]]) -> list[dict[str, Any]]:
    return list(_predictor.classify(chunk))


def effective_workers(clf: Any, workers: int, files: int) -> int:
    """Processes worth starting for ``files`` files: at most one per chunk, 1 for a Keras model."""
    if clf.backend == "keras" or clf.path is None:
        return 1
    return max(1, min(workers, -(-files // CHUNK)))


def classify(clf: Any, items: Sequence[tuple[str, str | None]], workers: int,
             ordered: bool = True) -> Iterator[dict[str, Any]]:
    """Results for :func:`emoaugnet.inference.predictor.expand`'s ``items`` from ``clf``'s model on
    ``workers`` processes (see the module doc); :class:`WorkerError` when one dies."""
    workers = effective_workers(clf, workers, len(items))
    if workers == 1:
        yield from clf.classify(items)
        return
    import multiprocessing
    chunks = [list(items[i:i + CHUNK]) for i in range(0, len(items), CHUNK)]
    pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"), initializer=_start,
                               initargs=(str(clf.path), clf.backend, clf.params, clf.predictor.speaker_stats,
                                         clf.predictor.partner))
    finished = False
    try:
        yield from _results(pool, chunks, workers * QUEUED, ordered)
        finished = True
    except BrokenProcessPool:
        raise WorkerError("a worker process died (killed, or out of memory); the results written so far "
                          "are kept: with --output FILE, rerun the same command to classify the rest") from None
    finally:
        # all done: wait for the idle workers to exit, so none is still being joined while the interpreter
        # shuts down (its wake-up pipe could be closed under it: "Bad file descriptor"); else do not wait
        pool.shutdown(wait=finished, cancel_futures=True)


def _results(pool: ProcessPoolExecutor, chunks: list[list], queued: int, ordered: bool) -> Iterator[dict]:
    """Submit at most ``queued`` chunks ahead; yield each chunk's results in order or as they finish."""
    pending: list = []
    following = iter(chunks)
    for chunk in following:
        pending.append(pool.submit(_classify, chunk))
        if len(pending) >= queued:
            break
    while pending:
        if ordered:
            done = [pending[0]]
            pending[0].result()
        else:
            done = list(wait(pending, return_when=FIRST_COMPLETED).done)
        for future in done:
            pending.remove(future)
            yield from future.result()
            chunk = next(following, None)
            if chunk is not None:
                pending.append(pool.submit(_classify, chunk))
