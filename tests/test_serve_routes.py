"""The service's routes answered in this process (the Starlette app called as ASGI, no socket, the shipped
ONNX model): every error under /api/ has a JSON body (404, 405 with Allow, 500), the icon is served from
the package, the page links it. tests/test_serve.py drives the real `emoaugnet serve` and its page.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ElementTree
from typing import Any

import anyio
import pytest
from PIL import Image

from emoaugnet.inference import model_dir
from emoaugnet.inference.api import Classifier
from emoaugnet.serve import app as app_mod


@pytest.fixture(scope="module")
def app():
    return app_mod.create_app(Classifier.from_dir(model_dir.SHIPPED), app_mod.Limits(workers=1), "shipped")


def call(app: Any, method: str, path: str, body: bytes = b"") -> tuple[int, dict[str, str], bytes]:
    """One request through the ASGI app: status, headers (lower-case names), body."""
    messages: list[dict] = []

    async def go() -> None:
        sent = False

        async def receive() -> dict:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            await anyio.sleep_forever()           # the client stays connected until the response is sent

        async def send(message: dict) -> None:
            messages.append(message)

        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
                 "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
                 "headers": [(b"host", b"127.0.0.1")], "client": ("127.0.0.1", 50000),
                 "server": ("127.0.0.1", 8000)}
        try:
            await app(scope, receive, send)
        except RuntimeError as exc:      # re-raised after the 500 was sent (uvicorn logs it)
            if "boom" not in str(exc):
                raise

    anyio.run(go)
    start = next(m for m in messages if m["type"] == "http.response.start")
    headers = {k.decode().lower(): v.decode() for k, v in start["headers"]}
    return start["status"], headers, b"".join(m.get("body", b"") for m in messages
                                              if m["type"] == "http.response.body")


@pytest.mark.parametrize("path", ["/api/nothing", "/api", "/api/predict/extra"])
def test_an_unknown_api_route_is_a_json_404(app, path):
    status, headers, body = call(app, "GET", path)
    assert status == 404 and headers["content-type"] == "application/json"
    assert json.loads(body)["error"].startswith(f"no such route: {path} (the API: POST /api/predict")


@pytest.mark.parametrize("method, path, allowed", [("GET", "/api/predict", "POST"),
                                                   ("DELETE", "/api/health", "GET")])
def test_a_wrong_method_is_a_json_405_naming_the_allowed_one(app, method, path, allowed):
    status, headers, body = call(app, method, path)
    assert status == 405 and headers["content-type"] == "application/json"
    assert allowed in headers["allow"]
    assert json.loads(body) == {"error": f"{method} is not allowed on {path}; allowed: {headers['allow']}"}


def test_a_failure_under_api_is_a_json_500(app, monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("boom")
    monkeypatch.setattr(app_mod, "classify_upload", boom)
    boundary = "b0undary"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.wav\"\r\n"
            f"Content-Type: audio/wav\r\n\r\nRIFF\r\n--{boundary}--\r\n").encode()

    async def with_type(scope, receive, send):   # a multipart Content-Type for the form parser
        scope["headers"] = [*scope["headers"], (b"content-type", f"multipart/form-data; boundary={boundary}".encode())]
        await app(scope, receive, send)

    status, headers, got = call(with_type, "POST", "/api/predict", body)
    assert status == 500 and headers["content-type"] == "application/json"
    assert json.loads(got) == {"error": "internal error (RuntimeError); the service's log has the details"}


def test_outside_the_api_errors_stay_plain(app):
    status, headers, body = call(app, "GET", "/nothing")
    assert status == 404 and headers["content-type"].startswith("text/plain") and body == b"Not Found"


def test_the_icon_is_served_and_the_page_links_it(app, tmp_path):
    status, headers, ico = call(app, "GET", "/favicon.ico")
    assert status == 200 and headers["content-type"] == "image/vnd.microsoft.icon"
    (tmp_path / "favicon.ico").write_bytes(ico)
    with Image.open(tmp_path / "favicon.ico") as image:
        assert image.format == "ICO" and {(16, 16), (32, 32)} <= set(image.info["sizes"])
    status, headers, svg = call(app, "GET", "/static/favicon.svg")
    assert status == 200 and headers["content-type"].startswith("image/svg+xml")
    assert ElementTree.fromstring(svg).tag == "{http://www.w3.org/2000/svg}svg"
    status, _, page = call(app, "GET", "/")
    assert status == 200 and b'<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in page


def test_the_icon_files_are_what_tools_favicon_draws():
    import importlib.util
    spec = importlib.util.spec_from_file_location("favicon", app_mod.STATIC.parents[2] / "tools" / "favicon.py")
    favicon = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(favicon)
    assert (app_mod.STATIC / "favicon.svg").read_text() == favicon.svg()
