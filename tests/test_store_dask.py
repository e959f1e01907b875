"""The store on Dask (`store.scheduler`): augment and features on a LocalCluster of 2 worker processes write
shards byte-identical to the local pool's, and a worker SIGKILLed mid-job is replaced: Dask runs its job
again and the stage still writes every shard whole, on real fixture recordings."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import threading
import time
from pathlib import Path

import pytest

from emoaugnet.params import ParamsError, scheduler_target
from emoaugnet.store import augment, feature_shards
from helpers.featurestore import fixture_rows, params
from helpers.needs import missing

P = params()


def needs_dask():
    try:
        import dask.distributed  # noqa: F401
    except ImportError:
        missing("Dask is not installed: pip install -r requirements.txt (or '.[dask]')")


def store_files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@pytest.fixture(scope="module")
def local_store(tmp_path_factory, ravdess_fixture):
    """The local pool's shards of 6 real utterances of 3 actors (augment, then features), and its report."""
    root = tmp_path_factory.mktemp("local")
    rows = fixture_rows(ravdess_fixture, actors=(1, 2, 4), per_actor=2)
    augment.run("ravdess", rows, P, root / "augmented", root / "report.json", workers=2, progress=False)
    feature_shards.run("ravdess", P.features, root / "augmented", root / "features", workers=2, progress=False)
    return root, rows


@pytest.fixture(scope="module")
def cluster():
    """A LocalCluster of 2 single-threaded worker processes and a client of it (shared by the tests below)."""
    needs_dask()
    import logging

    from dask.distributed import Client, LocalCluster
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address="127.0.0.1:0",
                      silence_logs=logging.CRITICAL) as running, Client(running) as client:
        yield running, client


def test_store_scheduler_accepts_local_a_local_cluster_or_an_address_and_nothing_else():
    assert scheduler_target("local") == ("local", None) and P.scheduler == "local"
    assert scheduler_target("local-cluster:2") == ("local-cluster", 2)
    assert scheduler_target("tcp://10.0.0.5:8786") == ("address", "tcp://10.0.0.5:8786")
    for bad in ("dask", "local-cluster:0", "local-cluster:two", "10.0.0.5:8786", "http://host:8786"):
        with pytest.raises(ParamsError, match=r"`store.scheduler` is .*allowed values: local .*local-cluster:N"):
            params(**{"store.scheduler": bad})


@pytest.mark.slow      # starts clusters of worker processes
def test_a_local_cluster_of_two_workers_writes_the_local_pools_shards_byte_for_byte(local_store, cluster, tmp_path):
    root, rows = local_store
    on_dask = dataclasses.replace(P, scheduler="local-cluster:2")          # the stage starts its own cluster
    report = augment.run("ravdess", rows, on_dask, tmp_path / "augmented", tmp_path / "report.json", progress=False)
    assert report["shards"] == 3
    summary = feature_shards.run("ravdess", P.features, tmp_path / "augmented", tmp_path / "features",
                                 progress=False, scheduler=cluster[0].scheduler_address)   # a running one
    assert summary["samples"] == 6 * P.num_variants
    for part in ("augmented", "features"):
        assert store_files(tmp_path / part) == store_files(root / part), part
    assert (tmp_path / "report.json").read_bytes() == (root / "report.json").read_bytes()


@pytest.mark.slow      # kills a worker of the cluster
def test_a_worker_killed_mid_job_is_replaced_and_the_stage_still_writes_whole_shards(local_store, cluster,
                                                                                      tmp_path):
    root, rows = local_store
    out = tmp_path / "augmented"
    running, client = cluster
    on_dask = dataclasses.replace(P, scheduler=running.scheduler_address)
    done: dict = {}
    stage = threading.Thread(target=lambda: done.update(report=augment.run(
        "ravdess", rows, on_dask, out, tmp_path / "report.json", progress=False)), daemon=True)
    stage.start()
    deadline = time.monotonic() + 120
    victim = None
    while victim is None:                  # a shard being written: a job is mid-way on some worker
        assert time.monotonic() < deadline and stage.is_alive(), "no job was seen mid-way"
        if list(out.glob(".tmp-speaker_*")):
            busy = {w: keys for w, keys in client.processing().items() if keys}
            for address, keys in busy.items():
                victim = client.run(os.getpid, workers=[address])[address]
                break
        time.sleep(0.01)
    os.kill(victim, signal.SIGKILL)
    stage.join(timeout=180)
    assert not stage.is_alive(), "the stage did not finish within 180 s of the kill"
    assert victim not in client.run(os.getpid).values()                    # the worker is gone
    story = client.run_on_scheduler(lambda dask_scheduler: [tuple(s[:3]) for s in dask_scheduler.story(*keys)])
    for key in keys:                       # each job of the killed worker was sent to a worker again
        assert sum(s[0] == key and s[2] == "processing" for s in story) >= 2, (key, story)
    assert done["report"]["shards"] == 3
    assert store_files(out) == store_files(root / "augmented")     # whole shards, no .tmp-* left behind
    assert json.loads((tmp_path / "report.json").read_text()) == json.loads((root / "report.json").read_text())
