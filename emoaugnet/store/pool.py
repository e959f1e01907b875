"""Run one job per shard on a process pool, with a progress bar; results never depend on the pool size.

Each worker (and the calling process when ``workers == 1``) is limited to one BLAS thread, so the
workers do not fight over the cores, and a matrix product gives the same bits whatever the pool size.
With ``store.scheduler`` other than ``local`` the jobs run on a Dask cluster instead
(:mod:`emoaugnet.store.dask_jobs`, one BLAS thread per job there too), with the same results.
"""

from __future__ import annotations

import multiprocessing
from typing import Any, Callable, Iterator, Sequence

from threadpoolctl import threadpool_limits
from tqdm import tqdm


def _init_worker() -> None:
    threadpool_limits(1)


def run_jobs(fn: Callable[[Any], Any], jobs: Sequence[Any], weights: Sequence[int], workers: int,
             desc: str, unit: str, progress: bool = True, scheduler: str = "local") -> Iterator[Any]:
    """Yield ``fn(job)`` for every job (in completion order), advancing the bar by the job's weight;
    ``scheduler``: ``store.scheduler`` (``local``: ``workers`` processes here; else a Dask cluster)."""
    workers = max(1, min(workers, len(jobs)))
    bar = tqdm(total=sum(weights), desc=desc, unit=unit, disable=not progress, dynamic_ncols=True)
    try:
        if scheduler != "local":
            from emoaugnet.store.dask_jobs import run_on_dask
            for index, result in run_on_dask(fn, jobs, scheduler, desc.replace(" ", "-")):
                yield result
                bar.update(weights[index])
            return
        if workers == 1:
            with threadpool_limits(1):
                for job, weight in zip(jobs, weights):
                    yield fn(job)
                    bar.update(weight)
            return
        # fork: workers inherit the imported modules, so they start at once
        methods = multiprocessing.get_all_start_methods()
        context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
        with context.Pool(workers, initializer=_init_worker, maxtasksperchild=None) as pool:
            for index, result in pool.imap_unordered(_indexed(fn), list(enumerate(jobs))):
                yield result
                bar.update(weights[index])
    finally:
        bar.close()


class _indexed:
    """Picklable wrapper returning ``(index, fn(job))``."""

    def __init__(self, fn: Callable[[Any], Any]):
        self.fn = fn

    def __call__(self, item: tuple[int, Any]) -> tuple[int, Any]:
        index, job = item
        return index, self.fn(job)
