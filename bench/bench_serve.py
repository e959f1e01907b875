"""Benchmark: ``emoaugnet serve`` under concurrent clients on 127.0.0.1, against predict without HTTP.

    python bench/bench_serve.py                            # 8 clients x 50 requests, 2 rounds; 1 client x 50
    python bench/bench_serve.py --clients 8 --requests 50 --rounds 2
    python bench/bench_serve.py --soak 10000               # then 10,000 requests from 8 clients
    python bench/bench_serve.py --serve-args "--processes 2"   # two service processes
    python bench/bench_serve.py --serve-args "--processes 2" --spread 60   # how connections split over them

Model (``--model``): ``shipped`` (default), the model ``emoaugnet serve`` serves when given none: the one
inside the package, every network of it (emoaugnet/shipped/); ``frames`` or ``flat``: params.yaml's network
in that input layout (``flat``: the paper's 2,376 x 1, about eight times the model cost of ``frames``) with
initial weights, exported to ONNX in a temporary folder (latency does not depend on the weights;
bench_predict.make_models); or a model folder. Input: the first 3.0 s of a
22,050 Hz mono fixture FLAC (bench_predict.make_inputs). The server is the real command
(``python -m emoaugnet serve``, default workers and queue, plus ``--serve-args``, e.g. ``"--processes 2"``) in a
subprocess; the clients are aiohttp tasks in this process, each sending its requests one after another
(multipart upload, as the page does). The server's CPU time and memory are those of its process and its
descendants (the service processes of ``--processes``).

Printed: the CPU (:func:`emoaugnet.model.backend.cpu_model`) and load average before and after; the
baseline first, in the same run: ``Classifier.predict_file`` on the same file in this process, on one thread
(one onnxruntime thread, as each of the service's workers calls it), repeated (median; measured again before
each round with the server idle, the median over all its calls so far: the machine's speed drifts), and the ceiling it
implies, its rate times min(workers of all processes, CPUs) (what the server's worker threads
could do with no HTTP at all, if one call kept one CPU busy); its CPU time per call, and the CPU-time
ceiling: the CPUs divided by it (where onnxruntime's pool spreads one call over several CPUs, the first
ceiling counts them twice; this one is what the baseline's own CPU cost allows); per round, throughput (requests/s over the round's
wall time) and its ratio to both ceilings, p50 / p95 latency, errors (any status but 200, an answer other than an emotion or "not sure", or a
failed connection), the server's RSS after the round and its peak (VmHWM), the CPU time per request of the
server and of the clients, the CPUs each service process kept busy (with ``--processes``: an uneven share of
the clients' connections shows), and the rate that CPU cost allows on the CPUs if nothing else ran (on a shared
machine, the figure other jobs' load changes least); then one client alone (HTTP cost without queueing)
and the ratio of its median latency to the baseline. ``--soak N``: N more requests from ``--clients``
clients, the server's RSS every 1,000, errors, and the files the requests left in the server's temp folder.
``--spread N``: N times, ``--clients`` connections opened at once, each asking ``/api/health`` which process
answers; how often each split of them over the service processes came (e.g. ``4/4: 16``).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import os
import shlex
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench"), str(ROOT / "tests")]
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def tree(pid: int) -> list[int]:
    """``pid`` and its descendants (the service processes of ``serve --processes``), from /proc."""
    out = [pid]
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            children = (task / "children").read_text().split()
        except OSError:
            continue
        for child in children:
            out += tree(int(child))
    return out


def temp_files(folder: Path) -> set[Path]:
    return {p for p in folder.rglob("*") if not p.is_dir()}


def memory_kib(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (peak RSS) of a process and its descendants (multiprocessing's resource tracker
    too), each summed over them, KiB, from /proc."""
    out = {"VmRSS": 0, "VmHWM": 0}
    for one in tree(pid):
        try:
            lines = Path(f"/proc/{one}/status").read_text().splitlines()
        except OSError:
            continue
        for line in lines:
            key, _, value = line.partition(":")
            if key in out:
                out[key] += int(value.split()[0])
    return out


async def drive(url: str, data: bytes, clients: int, total: int,
                every: int = 0, report=None) -> tuple[float, list[float], int]:
    """``clients`` tasks sending ``total`` uploads between them, each one after another; (wall s, latencies
    s, errors). With ``every``, ``report(done, errors)`` is called after each ``every`` requests."""
    import aiohttp
    latencies: list[float] = []
    errors = 0
    sent = 0

    async def client(session: aiohttp.ClientSession) -> None:
        nonlocal errors, sent
        while sent < total:
            sent += 1
            form = aiohttp.FormData()
            form.add_field("file", data, filename="clip.flac", content_type="audio/flac")
            start = time.perf_counter()
            try:
                async with session.post(url + "/api/predict", data=form) as response:
                    body = await response.json()
                    # an answer: an emotion, or "not sure" (the shipped model's calibrated thresholds)
                    ok = response.status == 200 and body.get("probabilities") is not None
            except aiohttp.ClientError:
                ok = False
            latencies.append(time.perf_counter() - start)
            errors += not ok
            if every and len(latencies) % every == 0:
                report(len(latencies), errors)

    connector = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=120)) as session:
        start = time.perf_counter()
        await asyncio.gather(*(client(session) for _ in range(clients)))
        return time.perf_counter() - start, latencies, errors


def service_processes(pid: int) -> list[int]:
    """The processes that answer requests: ``pid`` itself with one process, else its children that run the
    service (``serve --processes``: uvicorn's supervisor starts them; multiprocessing's helpers left out)."""
    children = []
    for child in tree(pid)[1:]:
        try:
            if b"multiprocessing.spawn" in Path(f"/proc/{child}/cmdline").read_bytes():
                children.append(child)
        except OSError:
            continue
    return children or [pid]


def cpu_seconds(pid: int | None = None) -> float:
    """User + system CPU seconds of a process and its descendants, all their threads (this process alone
    without ``pid``)."""
    if pid is None:
        return sum(os.times()[:2])
    total = 0.0
    for one in tree(pid):
        try:
            fields = Path(f"/proc/{one}/stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


class Baseline:
    """``Classifier.predict_file(clip)`` on one thread (onnxruntime's too: one thread per call, as each worker
    of the service runs it), after 3 warm-up calls; :meth:`measure` adds calls, and the figures are over
    every call so far (measured again before each round, so a machine whose speed drifts moves both)."""

    def __init__(self, model: Path, clip: Path, classic_part: bool = True):
        from emoaugnet.inference.api import Classifier, choose
        from emoaugnet.inference.predictor import PredictParams
        choice, speaker = choose(model, "auto", None)
        self.classifier = Classifier.open_choice(choice, "auto", PredictParams(), speaker, 1, classic_part=classic_part)
        self.clip = clip
        self.times: list[float] = []
        self.cpu, self.calls = 0.0, 0
        for _ in range(3):
            self.classifier.predict_file(clip)

    def measure(self, repeats: int) -> tuple[float, float]:
        """Add ``repeats`` calls; the median seconds of all calls so far and their mean CPU seconds."""
        cpu = cpu_seconds()
        for _ in range(repeats):
            start = time.perf_counter()
            self.classifier.predict_file(self.clip)
            self.times.append(time.perf_counter() - start)
        self.cpu, self.calls = self.cpu + cpu_seconds() - cpu, self.calls + repeats
        return statistics.median(self.times), self.cpu / self.calls


def pick_model(name: str, tmp: Path) -> Path:
    """The folder ``--model`` names: the shipped model's, an exported untrained layout's, or the path."""
    if name == "shipped":
        from emoaugnet.inference.model_dir import SHIPPED
        return SHIPPED
    if name in ("frames", "flat"):
        from bench_predict import make_models
        return make_models(tmp / "models")[name, "onnx"]
    if not Path(name).is_dir():
        raise SystemExit(f"--model {name}: not shipped, frames, flat or a folder")
    return Path(name)


def port(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else values[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--requests", type=int, default=50, help="requests per client per round")
    parser.add_argument("--rounds", type=int, default=2, help="rounds at --clients (memory should stay flat)")
    parser.add_argument("--baseline-repeats", type=int, default=50)
    parser.add_argument("--model", default="shipped",
                        help="shipped (default: the package's model) | frames | flat (params.yaml's network in "
                             "that layout, initial weights) | a model folder")
    parser.add_argument("--no-classic", action="store_true",
                        help="the network alone, in the baseline and the service (serve --no-classic): the figures "
                             "of the model before its classic part")
    parser.add_argument("--serve-args", default="", metavar="ARGS",
                        help="more options for `emoaugnet serve`, one string (e.g. '--workers 4 --processes 2')")
    parser.add_argument("--soak", type=int, default=0, metavar="N",
                        help="then N requests from --clients clients, RSS every 1,000 (e.g. 10000)")
    parser.add_argument("--spread", type=int, default=0, metavar="N",
                        help="then N times --clients connections at once: how they split over the processes")
    args = parser.parse_args()

    from bench_predict import make_inputs

    from emoaugnet.model.backend import cpu_model
    from helpers import service
    print(f"CPU: {cpu_model()}, {os.cpu_count()} logical CPUs; load average before: {load()}", flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-serve-") as tmp_name:
        tmp = Path(tmp_name)
        clip = make_inputs(tmp)["22k mono flac"]
        model = pick_model(args.model, tmp)
        print(f"model: {args.model} ({model})", flush=True)
        data = clip.read_bytes()
        base = Baseline(model, clip, not args.no_classic)
        direct, direct_cpu = base.measure(args.baseline_repeats)
        serve_args = shlex.split(args.serve_args) + (["--no-classic"] if args.no_classic else [])
        with service.process(model, tmp / "tmp", *serve_args) as (url, proc):
            health = service.get(url + "/api/health")
            processes = health["limits"]["processes"]
            workers = health["limits"]["workers"] * processes
            ceiling = min(workers, os.cpu_count() or 1) / direct
            cpu_ceiling = (os.cpu_count() or 1) / direct_cpu
            print(f"baseline, Classifier.predict_file without HTTP, same file, median of {args.baseline_repeats}: "
                  f"{1000 * direct:.1f} ms ({1 / direct:.1f} per second on one thread); ceiling for {workers} "
                  f"workers on {os.cpu_count()} CPUs: {ceiling:.1f} requests/s; CPU per call "
                  f"{1000 * direct_cpu:.1f} ms ({direct_cpu / direct:.2f} CPUs busy), so the CPUs doing only "
                  f"that answer at most {cpu_ceiling:.1f} per second (the CPU-time ceiling)", flush=True)
            asyncio.run(drive(url, data, 2, 10))      # warm-up: imports, first calls
            started = temp_files(tmp / "tmp")          # (onnxruntime 1.32 writes a .ses file there on import)
            mem = memory_kib(proc.pid)
            print(f"server: {url}, {processes} process(es), {workers} workers in all, queue {health['limits']['queue']} "
                  f"each; RSS after warm-up "
                  f"{mem['VmRSS'] / 1024:.0f} MiB", flush=True)
            answering = service_processes(proc.pid)
            for r in range(1, args.rounds + 1):
                if r > 1:
                    direct, direct_cpu = base.measure(args.baseline_repeats)
                    ceiling = min(workers, os.cpu_count() or 1) / direct
                    cpu_ceiling = (os.cpu_count() or 1) / direct_cpu
                    print(f"  baseline again ({base.calls} calls in all): median {1000 * direct:.1f} ms, CPU per "
                          f"call {1000 * direct_cpu:.1f} ms; ceiling {ceiling:.1f}, CPU-time ceiling "
                          f"{cpu_ceiling:.1f} requests/s", flush=True)
                cpu = cpu_seconds(proc.pid), cpu_seconds()
                each = [cpu_seconds(one) for one in answering]
                wall, lat, errors = asyncio.run(drive(url, data, args.clients, args.clients * args.requests))
                server, clients = cpu_seconds(proc.pid) - cpu[0], cpu_seconds() - cpu[1]
                each = [cpu_seconds(one) - before for one, before in zip(answering, each)]
                mem = memory_kib(proc.pid)
                print(f"run {r}: {args.clients} clients x {args.requests} requests of a 3 s clip: "
                      f"{len(lat) / wall:.1f} requests/s ({len(lat) / wall / ceiling:.2f} of the ceiling, "
                      f"{len(lat) / wall / cpu_ceiling:.2f} of the CPU-time ceiling), "
                      f"p50 {1000 * statistics.median(lat):.0f} ms, p95 {1000 * percentile(lat, 95):.0f} ms, "
                      f"errors {errors}; server RSS {mem['VmRSS'] / 1024:.0f} MiB, peak {mem['VmHWM'] / 1024:.0f} "
                      f"MiB; load average {load()}", flush=True)
                per = (server + clients) / len(lat)
                print(f"  CPU per request: server {1000 * server / len(lat):.1f} ms, clients "
                      f"{1000 * clients / len(lat):.1f} ms; {server / wall:.2f} CPUs busy in the server"
                      + (f" ({' + '.join(f'{one / wall:.2f}' for one in each)} in its service processes)"
                         if len(each) > 1 else "") + "; "
                      f"{os.cpu_count()} free CPUs would answer at most {(os.cpu_count() or 1) / per:.1f} "
                      f"requests/s", flush=True)
            wall, lat, errors = asyncio.run(drive(url, data, 1, args.requests))
            http_median = statistics.median(lat)
            print(f"1 client x {args.requests}: {len(lat) / wall:.1f} requests/s, p50 {1000 * http_median:.1f} ms, "
                  f"p95 {1000 * percentile(lat, 95):.1f} ms, errors {errors}; its median / the baseline: "
                  f"{http_median / direct:.2f}", flush=True)
            if args.soak:
                def report(done: int, errors: int) -> None:
                    rss = memory_kib(proc.pid)["VmRSS"] / 1024
                    print(f"soak: {done} requests, errors {errors}, server RSS {rss:.0f} MiB, load average "
                          f"{load()}", flush=True)
                wall, lat, errors = asyncio.run(drive(url, data, args.clients, args.soak, 1000, report))
                mem = memory_kib(proc.pid)
                print(f"soak: {len(lat)} requests from {args.clients} clients in {wall:.0f} s: "
                      f"{len(lat) / wall:.1f} requests/s, p95 {1000 * percentile(lat, 95):.0f} ms, errors {errors}; "
                      f"server RSS {mem['VmRSS'] / 1024:.0f} MiB, peak {mem['VmHWM'] / 1024:.0f} MiB", flush=True)
            if args.spread:
                splits = collections.Counter()
                for _ in range(args.spread):
                    answered = collections.Counter(h["process"] for h in service.healths_at_once(port(url),
                                                                                                 args.clients))
                    splits["/".join(map(str, sorted([answered[p] for p in answering], reverse=True)))] += 1
                print(f"spread: {args.spread} times {args.clients} connections at once over {len(answering)} "
                      f"process(es): " + ", ".join(f"{k}: {v}" for k, v in splits.most_common()), flush=True)
            print(f"files the requests left in the server's temp folder: {len(temp_files(tmp / 'tmp') - started)}")
    print(f"load average after: {load()}")


if __name__ == "__main__":
    main()
