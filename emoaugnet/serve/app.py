"""The Starlette application of ``emoaugnet serve``: one loaded :class:`emoaugnet.inference.api.Classifier`, its
answers over HTTP, and the page.

- ``POST /api/predict`` (multipart form, the audio in field ``file``): 200 and exactly the JSON object
  ``emoaugnet predict`` prints for that file, except that ``path`` is the upload's base name (no server
  path); ``?timeline=1`` adds ``timeline_columns`` and ``timeline``, the rows of ``predict --timeline``.
  A file the decoder cannot read: 422 and predict's error object (``"result": "error"`` and the reason);
  audio longer than the limit: 422 naming it; a body over the size limit: 413 (before the body is read
  when Content-Length says so, else as soon as the bytes counted pass it); no ``file`` field: 400; a body
  not received within ``read_timeout`` seconds: 408; ``workers`` recordings classified and ``queue``
  waiting already: 503 with ``Retry-After`` (:mod:`emoaugnet.serve.admission`).
- ``GET /api/health``: the model's folder name, the answering process's id (one of several with
  ``serve --processes``), classes, backend, runtime and the limits; ``card``: what
  its card measured on speakers it never heard and chance level (:func:`emoaugnet.release.card.unseen_speakers`,
  ``null`` without a card), ``about``: that in one line; ``calibration``: whether its probabilities are
  calibrated and when it answers "not sure".
- ``GET /card``: the model's card as a page (:mod:`emoaugnet.serve.card_page`), or a page saying it has none.
- ``GET /api/openapi.json``: the OpenAPI schema of these routes.
- ``GET /``: the page (``static/``), which posts to ``/api/predict``; ``GET /favicon.ico`` (and the page's
  ``/static/favicon.svg``): its icon, served from the package (offline).
- Every error under ``/api/`` answers JSON ``{"error": "..."}``: an unknown route 404, a wrong method 405
  (with ``Allow``), an unexpected failure 500, as the refusals above.

Classification runs on a bounded pool beside the event loop (:class:`anyio.CapacityLimiter`, ``workers``
threads; onnxruntime and numpy release the GIL), so the loop keeps accepting and refusing requests while
windows are classified; in front of it, the bounded queue of :class:`emoaugnet.serve.admission.Admission`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import anyio
from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.schemas import SchemaGenerator
from starlette.staticfiles import StaticFiles

from emoaugnet.data import audio
from emoaugnet.inference import timeline
from emoaugnet.inference.api import Classifier
from emoaugnet.inference.predictor import error_result
from emoaugnet.release import card as card_mod
from emoaugnet.serve import card_page, upload
from emoaugnet.serve.admission import Admission, Busy

STATIC = Path(str(resources.files("emoaugnet.serve") / "static"))


@dataclass(frozen=True)
class Limits:
    """What one request may send: bytes of upload, seconds of audio, seconds to send them; ``workers``
    classify at once and ``queue`` more may wait, in each of ``processes`` service processes."""
    max_upload_bytes: int = 20 * 2 ** 20
    max_seconds: float = 60.0
    workers: int = 2
    queue: int = 16
    read_timeout: float = 30.0
    processes: int = 1

    def __post_init__(self) -> None:
        if (self.max_upload_bytes <= 0 or not self.max_seconds > 0 or self.workers < 1 or self.queue < 0
                or not self.read_timeout > 0 or self.processes < 1):
            raise ValueError("max upload size, max seconds and read timeout must be > 0, workers >= 1, "
                             "queue >= 0, processes >= 1")


class Refused(Exception):
    """A request answered with ``status`` and a JSON body (``{"error": message}`` unless ``body``)."""

    def __init__(self, status: int, message: str, body: dict[str, Any] | None = None):
        super().__init__(message)
        self.status, self.body = status, body or {"error": message}


def classify_upload(classifier: Classifier, source: Any, filename: str | None, limits: Limits) -> dict[str, Any]:
    """Predict's result for an uploaded file (runs on a worker thread), decoded from memory (no file is
    written; results and errors call it by its base name); raises :class:`Refused`."""
    name = upload.display_name(filename)
    source.seek(0)
    data = audio.Buffer(name, source.read())
    try:
        header = audio.info(data)
    except audio.AudioError as exc:
        raise Refused(422, exc.reason, error_result(name, exc.reason)) from None
    seconds = header.frames / header.samplerate if header.samplerate > 0 else 0.0
    if seconds > limits.max_seconds:
        raise Refused(422, f"{name}: recording is {seconds:.1f} s long; this service classifies at most "
                           f"{limits.max_seconds:g} s (serve --max-seconds)")
    try:
        return classifier.predict_bytes(data.data, name)
    except audio.AudioError as exc:               # it has a header but does not decode
        raise Refused(422, exc.reason, error_result(name, exc.reason)) from None


def model_card(classifier: Classifier) -> dict[str, Any] | None:
    """The card beside the classifier's model (``card.json``, written by ``emoaugnet release``), or None."""
    if classifier.path is None:
        return None
    try:
        return card_mod.read(classifier.path)
    except card_mod.CardError:
        return None


def create_app(classifier: Classifier, limits: Limits = Limits(), model_name: str = "model",
               runtime: str = "") -> Starlette:
    """The service for ``classifier`` (loaded once by the caller)."""
    pool = anyio.CapacityLimiter(limits.workers)
    card = model_card(classifier)
    admission = Admission(limits.workers, limits.queue)
    schemas = SchemaGenerator({"openapi": "3.0.0", "info": {"title": "EmoAugNet", "version": "1"}})

    async def predict(request: Request) -> JSONResponse:
        """
        summary: Classify the emotion of an uploaded recording (what `emoaugnet predict` prints for it)
        parameters:
          - {name: timeline, in: query, required: false, schema: {type: integer, enum: [0, 1]},
             description: "1 adds timeline_columns and timeline (predict --timeline's rows)"}
        requestBody:
          required: true
          content:
            multipart/form-data:
              schema: {type: object, required: [file], properties: {file: {type: string, format: binary}}}
        responses:
          200: {description: "predict's JSON object; path is the upload's name"}
          400: {description: "no `file` field in a multipart form"}
          413: {description: "upload over the size limit"}
          408: {description: "body not received within the read timeout"}
          422: {description: "not decodable audio (predict's error object) or longer than the limit"}
          503: {description: "workers and queue full; Retry-After says when to try again"}
        """
        form = None
        try:
            upload.check_content_length(request.headers, limits.max_upload_bytes)
            limited = Request(request.scope, upload.limited(request.receive, limits.max_upload_bytes))
            try:
                with anyio.fail_after(limits.read_timeout):
                    form = await limited.form(max_files=1, max_fields=8)
            except (upload.TooLarge, TimeoutError):
                raise
            except Exception as exc:  # not multipart, a malformed body, too many parts
                raise Refused(400, f"expected a multipart/form-data body with the audio in field `file` "
                                   f"({type(exc).__name__}: {exc})") from None
            item = form.get("file")
            if not isinstance(item, UploadFile):
                raise Refused(400, "expected a multipart/form-data body with the audio in field `file`")
            with admission.admitted():
                result = await anyio.to_thread.run_sync(classify_upload, classifier, item.file, item.filename,
                                                        limits, limiter=pool)
        except upload.TooLarge as exc:
            return JSONResponse({"error": str(exc)}, status_code=413, headers={"Connection": "close"})
        except TimeoutError:
            return JSONResponse({"error": f"request body not received within {limits.read_timeout:g} s "
                                          f"(serve --read-timeout)"}, status_code=408, headers={"Connection": "close"})
        except Busy as exc:
            return JSONResponse({"error": str(exc), "retry_after": exc.retry_after}, status_code=503,
                                headers={"Retry-After": str(exc.retry_after)})
        except Refused as exc:
            return JSONResponse(exc.body, status_code=exc.status)
        finally:
            if form is not None:
                await form.close()
        if request.query_params.get("timeline", "0") not in ("0", "", "false"):
            result["timeline_columns"] = ["start_s", "end_s", "emotion", *classifier.classes]
            result["timeline"] = timeline.rows(result, classifier.classes)
        return JSONResponse(result)

    async def health(request: Request) -> JSONResponse:
        """
        summary: The model this service runs and its limits
        responses:
          200: {description: "model (folder name), process id, classes, backend, runtime, limits, card figures,
                calibration"}
        """
        return JSONResponse({"status": "ok", "model": model_name, "process": os.getpid(),
                             "classes": list(classifier.classes),
                             "backend": classifier.backend, "runtime": runtime,
                             "card": None if card is None else {"name": card.get("name"),
                                                                 **(card_mod.unseen_speakers(card) or {})},
                             "about": card_mod.summary_line(card),
                             "calibration": {"calibrated": classifier.model.calibration.fitted,
                                             "said": classifier.model.calibration.describe()},
                             "limits": {"max_upload_bytes": limits.max_upload_bytes,
                                        "max_seconds": limits.max_seconds, "workers": limits.workers,
                                        "queue": limits.queue, "read_timeout": limits.read_timeout,
                                        "processes": limits.processes}})

    async def openapi(request: Request) -> JSONResponse:
        return JSONResponse(schemas.get_schema(routes=request.app.routes))

    async def page(request: Request) -> FileResponse:
        return FileResponse(STATIC / "index.html")

    async def favicon(request: Request) -> FileResponse:
        return FileResponse(STATIC / "favicon.ico", media_type="image/vnd.microsoft.icon",
                            headers={"Cache-Control": "max-age=86400"})

    async def card_html(request: Request) -> HTMLResponse:
        return HTMLResponse(card_page.page(card, model_name))

    routes = [Route("/", page, include_in_schema=False),
              Route("/favicon.ico", favicon, include_in_schema=False),
              Route("/api/predict", predict, methods=["POST"]),
              Route("/api/health", health, methods=["GET"]),
              Route("/card", card_html, methods=["GET"], include_in_schema=False),
              Route("/api/openapi.json", openapi, include_in_schema=False),
              Mount("/static", StaticFiles(directory=STATIC), name="static")]
    return Starlette(routes=routes, exception_handlers={HTTPException: http_error, Exception: server_error})


def _api(request: Request) -> bool:
    return request.url.path == "/api" or request.url.path.startswith("/api/")


def http_error(request: Request, exc: HTTPException) -> Response:
    """404, 405, ...: ``{"error": ...}`` under /api/ (what a client of the API parses), plain text elsewhere."""
    if _api(request):
        detail = exc.detail
        if exc.status_code == 404:
            detail = f"no such route: {request.url.path} (the API: POST /api/predict, GET /api/health, " \
                     f"GET /api/openapi.json)"
        elif exc.status_code == 405:
            detail = f"{request.method} is not allowed on {request.url.path}; allowed: {exc.headers.get('Allow')}" \
                if exc.headers and exc.headers.get("Allow") else detail
        return JSONResponse({"error": detail}, status_code=exc.status_code, headers=exc.headers)
    return PlainTextResponse(exc.detail, status_code=exc.status_code, headers=exc.headers)


def server_error(request: Request, exc: Exception) -> Response:
    """An unexpected failure (a bug; uvicorn logs its traceback): 500 with a JSON body under /api/."""
    if _api(request):
        return JSONResponse({"error": f"internal error ({type(exc).__name__}); the service's log has the "
                                      f"details"}, status_code=500)
    return PlainTextResponse("Internal Server Error", status_code=500)
