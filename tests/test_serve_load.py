"""``emoaugnet serve`` past its capacity, with slow clients and on SIGTERM: the real service in a subprocess
on 127.0.0.1 (tests/helpers/service.py), the model of tests/test_serve.py (tests/conftest.py's
``serve_model``).

Every loop here is bounded in count and every wait in time; no bound is a speed claim (a loaded machine
may be slow), only a guard against hanging.
"""

from __future__ import annotations

import json
import select
import signal
import socket
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from helpers import service
from test_serve import SHORT, leftovers

pytestmark = pytest.mark.slow      # exports a model and starts the service


def post_with_headers(url: str, body: bytes, content_type: str, timeout: float = 60) -> tuple[int, Any, dict]:
    """``(status, headers, JSON body)`` of a POST, 4xx and 5xx included."""
    request = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": content_type})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.headers, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, json.loads(exc.read())


def test_a_flood_past_workers_and_queue_gets_503_with_retry_after_and_every_request_an_answer(
        serve_model, long_recording, ravdess_fixture, tmp_path):
    body, ctype = service.multipart(long_recording.read_bytes(), "long.wav")
    clients = 40
    with service.running(serve_model, tmp_path / "tmp", "--workers", "1", "--queue", "1") as url:
        assert service.get(url + "/api/health")["limits"]["queue"] == 1
        answers: list[tuple[int, Any, dict]] = []
        failures: list[BaseException] = []
        start = threading.Barrier(clients)

        def client() -> None:
            start.wait(timeout=60)
            try:
                answers.append(post_with_headers(url + "/api/predict", body, ctype))
            except BaseException as exc:           # a reset or a timeout: reported below, never lost
                failures.append(exc)

        threads = [threading.Thread(target=client) for _ in range(clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        assert not any(t.is_alive() for t in threads), "a request got no answer in 120 s"
        assert failures == [] and len(answers) == clients
        statuses = [status for status, _, _ in answers]
        assert set(statuses) <= {200, 503}, statuses
        # one worker and one waiting place: 40 requests at once cannot all have found a place
        assert statuses.count(503) >= 1 and statuses.count(200) >= 2, statuses
        for status, headers, got in answers:
            if status == 200:
                assert got["emotion"] in got["probabilities"]
            else:
                assert int(headers["Retry-After"]) >= 1 and got["retry_after"] == int(headers["Retry-After"])
                assert "at capacity (2 recordings classified or waiting)" in got["error"]
        # the service is not stuck afterwards, and left no temp file
        status, got = service.post_file(url + "/api/predict", (ravdess_fixture / SHORT).read_bytes(), SHORT.name)
        assert status == 200, got
        assert leftovers(tmp_path / "tmp") == []


@pytest.mark.parametrize("processes", [1, 2])
def test_sigterm_lets_the_request_in_flight_finish_then_exits_0(serve_model, ravdess_fixture, tmp_path, processes):
    """With ``--processes 2`` uvicorn's supervisor holds the port, closes its copy and passes SIGTERM on to
    both processes."""
    body, ctype = service.multipart((ravdess_fixture / SHORT).read_bytes(), SHORT.name)
    head = (f"POST /api/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {ctype}\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode()
    with service.process(serve_model, tmp_path / "tmp", "--processes", str(processes)) as (url, proc):
        assert service.get(url + "/api/health")["limits"]["processes"] == processes
        port = int(url.rsplit(":", 1)[1])
        # every process answers (the first answer may come before the second has loaded its model) ...
        seen: set[int] = set()
        deadline = time.monotonic() + 60
        while len(seen) < processes and time.monotonic() < deadline:
            seen.add(service.get(url + "/api/health")["process"])
        assert len(seen) == processes and (seen == {proc.pid} if processes == 1 else proc.pid not in seen)
        # ... and connections opened at once are spread over them (each process listens on its own socket;
        # with one socket shared by them, the first to wake took them all): 16 of them reach both
        assert {health["process"] for health in service.healths_at_once(port, 16)} == seen
        with socket.create_connection(("127.0.0.1", port), timeout=60) as s:
            s.sendall(head + body[:len(body) // 2])         # a request in flight: half its body sent
            time.sleep(0.5)
            proc.send_signal(signal.SIGTERM)
            # the service stops taking connections but keeps this one
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=5).close()
                except ConnectionRefusedError:
                    break
                time.sleep(0.1)
            else:
                raise AssertionError("the service still accepted connections 30 s after SIGTERM")
            assert proc.poll() is None, "the service exited with a request in flight"
            s.sendall(body[len(body) // 2:])
            answer = b""
            while len(answer) < 1 << 20:
                chunk = s.recv(65536)
                if not chunk:
                    break
                answer += chunk
        status_line, _, rest = answer.partition(b"\r\n")
        assert status_line.startswith(b"HTTP/1.1 200"), answer[:500]
        got = json.loads(rest.split(b"\r\n\r\n", 1)[1])
        assert got["path"] == SHORT.name and got["emotion"] in got["probabilities"]
        assert proc.wait(timeout=60) == 0
    assert leftovers(tmp_path / "tmp") == []


def dribble(port: int, data: bytes, every: float, limit: float, first: bytes = b"") -> tuple[float, bytes]:
    """Connect, send ``first`` whole, then ``data`` a byte every ``every`` s until the server answers or
    closes; then read until it closes. ``(seconds from sending ``first`` to the close, what the server
    sent)``; at most ``limit`` s."""
    got = b""
    with socket.create_connection(("127.0.0.1", port), timeout=limit) as s:
        s.sendall(first)
        start = time.monotonic()
        for byte in data:
            try:
                s.sendall(bytes([byte]))
            except OSError:                   # closed by the server
                break
            if select.select([s], [], [], every)[0] or time.monotonic() - start > limit:
                break
        while time.monotonic() - start < limit:
            try:
                chunk = s.recv(65536)
            except (ConnectionResetError, TimeoutError):
                break
            if not chunk:
                break
            got += chunk
    return time.monotonic() - start, got


@pytest.mark.parametrize("parser", ["httptools", "h11"])
def test_slow_clients_are_cut_after_the_read_timeout_and_others_keep_being_answered(
        serve_model, ravdess_fixture, tmp_path, parser):
    """With either HTTP parser (``serve --http``): the head's timeout is added to each
    (emoaugnet/serve/deadlines.py)."""
    good = (ravdess_fixture / SHORT).read_bytes()
    body, ctype = service.multipart(good, SHORT.name)
    head = (f"POST /api/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {ctype}\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode()
    timeout = 2.0
    with service.running(serve_model, tmp_path / "tmp", "--read-timeout", str(timeout), "--http", parser) as url:
        port = int(url.rsplit(":", 1)[1])
        assert f"; HTTP parser {parser}; " in (tmp_path / f"serve-{port}.log").read_text()
        # a head a byte at a time (it would take minutes); a whole head, then its body a byte at a time;
        # a connection that sends nothing
        slow = {"head": (b"", head), "body": (head, body), "nothing": (b"", b"")}
        results: dict[str, tuple[float, bytes]] = {}

        def run(name: str, first: bytes, data: bytes) -> None:
            results[name] = dribble(port, data, 0.5, limit=60, first=first)

        threads = [threading.Thread(target=run, args=(name, *spec)) for name, spec in slow.items()]
        for t in threads:
            t.start()
        answered = 0
        while any(t.is_alive() for t in threads) and answered < 50:
            status, got = service.post_file(url + "/api/predict", good, SHORT.name)
            assert status == 200 and got["emotion"] in got["probabilities"], got
            answered += 1
        for t in threads:
            t.join(timeout=90)
        assert answered >= 1 and not any(t.is_alive() for t in threads)
        for name in slow:
            seconds, sent = results[name]
            # closed by the server at the read timeout, long before the bytes would have been sent
            assert timeout * 0.9 <= seconds < 30, (name, seconds)
            if name == "body":
                assert sent.startswith(b"HTTP/1.1 408"), sent[:300]
                assert f"not received within {timeout:g} s" in json.loads(sent.split(b"\r\n\r\n", 1)[1])["error"]
            else:
                assert sent == b"", (name, sent[:300])
        status, got = service.post_file(url + "/api/predict", good, SHORT.name)
        assert status == 200, got
    assert leftovers(tmp_path / "tmp") == []


@pytest.mark.parametrize("option, said", [(("--queue", "-1"), "queue >= 0"), (("--processes", "0"),
                                                                             "--processes is 0; must be >= 1")])
def test_serve_refuses_a_negative_queue_or_no_process(serve_model, tmp_path, option, said):
    import subprocess
    import sys
    done = subprocess.run([sys.executable, "-m", "emoaugnet", "serve", "--model", str(serve_model), *option],
                          cwd=Path(__file__).resolve().parents[1], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and said in done.stderr, done.stderr


@pytest.mark.parametrize("processes", [1, 2])
def test_serve_refuses_a_port_another_program_listens_on(serve_model, processes):
    """``--processes 2`` binds its processes' sockets with SO_REUSEPORT, after checking the port with a
    plain bind: a port taken by another program (or another service) is refused, never shared."""
    import subprocess
    import sys
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run([sys.executable, "-m", "emoaugnet", "serve", "--model", str(serve_model), "--port",
                               str(port), "--processes", str(processes)], cwd=Path(__file__).resolve().parents[1],
                              capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and "address already in use" in done.stderr.lower(), done.stderr
    assert f"127.0.0.1:{port}" in done.stderr or f"'127.0.0.1', {port}" in done.stderr
