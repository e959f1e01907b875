"""Run the store's per-speaker jobs on a Dask cluster (``dask.distributed``), when ``store.scheduler`` says so.

``store.scheduler`` (:func:`emoaugnet.params.scheduler_target`): ``local-cluster:N`` starts a
``LocalCluster`` of N single-threaded worker processes for the stage and stops it after; a scheduler
address (``tcp://HOST:PORT``) connects to a running cluster (docs/operations.md says how to start one).
Dask is an optional extra (``pip install 'emoaugnet[dask]'``), imported only here.

Each job is one Dask task (``pure=False``: a rerun computes again). The worker hands it to a
single-threaded child process of its own (``python -m emoaugnet.store.dask_jobs``, started once per worker
thread; killed with its worker), which runs it in the calling
process's folder (the stages' paths are relative to the project root, so every worker must see the
project, its raw audio and its output folders at the same path, e.g. on a shared filesystem) with one
BLAS thread, as the local pool does: the shards are byte-identical to the local pool's. The child is
needed because augment seeds Python's ``random`` module right before each chain and audiomentations
draws from it (:func:`emoaugnet.store.augmentations.apply_chain`), while a Dask worker's own threads draw
from the same module between the two: run in the worker itself, some variants came out different. A worker that
dies mid-job (killed, out of memory, its machine gone) is noticed by the scheduler, which runs the job
again on another worker (up to ``distributed.scheduler.allowed-failures`` times, 3 by default); a shard
is written under a temporary name and renamed when whole (:func:`emoaugnet.store.shards.shard_writer`),
so the dead attempt leaves at most a ``.tmp-*`` file, which the stage removes
(:func:`emoaugnet.store.shards.remove_leftovers`). A job that raises stops the stage with its error.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pickle
import signal
import struct
import subprocess
import sys
import threading
import uuid
from typing import Any, Callable, Iterator, Sequence

from threadpoolctl import threadpool_limits

from emoaugnet.params import scheduler_target
from emoaugnet.store.shards import StoreError

#: Seconds to wait for a scheduler at an address (or a local cluster) to answer.
CONNECT_TIMEOUT = 30


_children = threading.local()     # per worker thread: its child process (subprocess.Popen)


def _send(stream: Any, value: Any) -> None:
    data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(struct.pack("<Q", len(data)) + data)
    stream.flush()


def _receive(stream: Any) -> Any:
    head = stream.read(8)
    if len(head) < 8:
        raise EOFError
    (size,) = struct.unpack("<Q", head)
    return pickle.loads(stream.read(size))


def _serve(parent: int) -> None:
    """The child (``python -m emoaugnet.store.dask_jobs PARENT_PID``): run ``(fn, job, folder)`` requests from
    stdin one at a time, single-threaded, one BLAS thread; answer on the original stdout (what a job prints
    goes to stderr). It is killed with its Dask worker (Linux: ``PR_SET_PDEATHSIG``), so a job of a killed
    worker does not go on writing; elsewhere it exits when stdin closes."""
    if sys.platform.startswith("linux"):
        import ctypes
        ctypes.CDLL(None).prctl(1, signal.SIGKILL)          # 1: PR_SET_PDEATHSIG
    if os.getppid() != parent:                              # the worker died before that took effect
        return
    answers = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    threadpool_limits(1)
    requests = os.fdopen(0, "rb")
    while True:
        try:
            fn, job, folder = _receive(requests)
        except EOFError:
            return
        try:
            if os.getcwd() != folder:
                try:
                    os.chdir(folder)
                except OSError as exc:
                    raise StoreError(f"a Dask worker cannot enter the project folder {folder} ({exc.strerror}): "
                                     "the workers must see the project at the same path (a shared "
                                     "filesystem)") from None
            answer = ("ok", fn(job))
        except Exception as exc:            # the job's own error, raised again in the caller
            answer = ("error", exc)
        try:
            try:
                _send(answers, answer)
            except (pickle.PicklingError, TypeError, AttributeError):
                _send(answers, ("error", StoreError(f"{type(answer[1]).__name__}: {answer[1]}")))
        except BrokenPipeError:
            return


class _InChild:
    """Picklable task: ``(index, fn(job))``, run in ``folder`` by the worker thread's child process."""

    def __init__(self, fn: Callable[[Any], Any], folder: str):
        self.fn, self.folder = fn, folder

    def __call__(self, index: int, job: Any) -> tuple[int, Any]:
        child = getattr(_children, "process", None)
        if child is None or child.poll() is not None:
            child = _children.process = subprocess.Popen(
                [sys.executable, "-m", "emoaugnet.store.dask_jobs", str(os.getpid())],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        try:
            _send(child.stdin, (self.fn, job, self.folder))
            status, value = _receive(child.stdout)
        except (EOFError, BrokenPipeError):
            child.kill()
            raise StoreError(f"the process running job {index} on a Dask worker died "
                             f"(exit status {child.wait()}; out of memory?)") from None
        if status == "error":
            raise value
        return index, value


@contextlib.contextmanager
def client_for(scheduler: str) -> Iterator[Any]:
    """A ``dask.distributed.Client`` for ``store.scheduler`` (a LocalCluster started and stopped here for
    ``local-cluster:N``); :class:`StoreError` when Dask is missing or the scheduler cannot be reached."""
    kind, target = scheduler_target(scheduler)
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError as exc:
        raise StoreError(f"store.scheduler is {scheduler!r}, which needs Dask ({exc.name} is not installed): "
                         "pip install 'emoaugnet[dask]', or set store.scheduler: local") from None
    if kind == "local-cluster":
        with LocalCluster(n_workers=target, threads_per_worker=1, processes=True, dashboard_address="127.0.0.1:0",
                          silence_logs=logging.ERROR) as cluster, Client(cluster) as client:
            yield client
        return
    try:
        client = Client(target, timeout=CONNECT_TIMEOUT)
    except OSError as exc:
        raise StoreError(f"store.scheduler: cannot reach the Dask scheduler at {target} ({exc}); start it "
                         "(docs/operations.md) or set store.scheduler: local") from None
    with client:
        yield client


def run_on_dask(fn: Callable[[Any], Any], jobs: Sequence[Any], scheduler: str, name: str) -> Iterator[tuple[int, Any]]:
    """Yield ``(index, fn(jobs[index]))`` for every job as it finishes on ``scheduler``'s cluster."""
    from dask.distributed import as_completed
    from distributed.scheduler import KilledWorker
    task = _InChild(fn, os.getcwd())
    run = uuid.uuid4().hex[:8]
    with client_for(scheduler) as client:
        futures = [client.submit(task, index, job, key=f"{name}-{run}-{index}", pure=False)
                   for index, job in enumerate(jobs)]
        try:
            for future in as_completed(futures):
                try:
                    yield future.result()
                except KilledWorker as exc:
                    raise StoreError(f"{name}: job {future.key} was running on a worker that died each time it "
                                     f"was tried ({exc}); see the workers' logs (out of memory?)") from None
        finally:
            client.cancel(futures)


if __name__ == "__main__":
    _serve(int(sys.argv[1]))
