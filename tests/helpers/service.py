"""``emoaugnet serve`` in a subprocess on 127.0.0.1 and a free port, and a multipart client on urllib.

``running(model, tmp)`` starts the real command (``python -m emoaugnet serve``) with ``TMPDIR`` set to
``tmp`` (so a test can see every temp file the service makes), waits until ``/api/health`` answers and
stops it afterwards. ``post_file`` sends one file as the ``file`` field of a multipart form.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any, Iterator

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def running(model: Path, tmp: Path, *options: str, timeout: float = 180) -> Iterator[str]:
    """The base URL of a service on ``model``; its stderr is in the error when it does not start."""
    with process(model, tmp, *options, timeout=timeout) as (url, _):
        yield url


@contextlib.contextmanager
def process(model: Path, tmp: Path, *options: str,
            timeout: float = 180) -> Iterator[tuple[str, subprocess.Popen]]:
    """:func:`running`, also giving the server's process (for its memory)."""
    port = free_port()
    tmp.mkdir(parents=True, exist_ok=True)
    log = tmp.parent / f"serve-{port}.log"
    env = {**os.environ, "TMPDIR": str(tmp), "TF_CPP_MIN_LOG_LEVEL": "3",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    with open(log, "wb") as err:
        proc = subprocess.Popen([sys.executable, "-m", "emoaugnet", "serve", "--model", str(model),
                                 "--port", str(port), *options], cwd=ROOT, env=env, stdout=err, stderr=err)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise AssertionError(f"serve exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(url + "/api/health", timeout=5):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise AssertionError(f"serve did not answer in {timeout} s:\n{log.read_text()[-3000:]}")
                time.sleep(0.3)
        yield url, proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def multipart(data: bytes, filename: str, field: str = "file") -> tuple[bytes, str]:
    """A multipart/form-data body holding ``data`` as ``field``; and its Content-Type."""
    boundary = uuid.uuid4().hex
    head = (f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; filename="{filename}"\r\n'
            f"Content-Type: application/octet-stream\r\n\r\n").encode()
    return head + data + f"\r\n--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def post(url: str, body: bytes, content_type: str, timeout: float = 120) -> tuple[int, dict[str, Any]]:
    """``(status, JSON body)`` of a POST, 4xx and 5xx included."""
    request = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": content_type})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def post_file(url: str, data: bytes, filename: str, field: str = "file") -> tuple[int, dict[str, Any]]:
    return post(url, *multipart(data, filename, field))


def get(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.loads(response.read())


def healths_at_once(port: int, count: int) -> list[dict]:
    """``GET /api/health`` on ``count`` connections, all opened before any request is sent."""
    sockets = [socket.create_connection(("127.0.0.1", port), timeout=60) for _ in range(count)]
    answers = []
    try:
        for s in sockets:
            s.sendall(b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        for s in sockets:
            answer = b""
            while chunk := s.recv(65536):
                answer += chunk
            if not answer.startswith(b"HTTP/1.1 200"):
                raise AssertionError(f"GET /api/health answered {answer[:300]!r}")
            answers.append(json.loads(answer.split(b"\r\n\r\n", 1)[1]))
    finally:
        for s in sockets:
            s.close()
    return answers
