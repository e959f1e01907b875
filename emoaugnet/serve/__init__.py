"""``emoaugnet serve``: an HTTP service and a page on the same inference code as ``emoaugnet predict``.

- :mod:`emoaugnet.serve.command`: the subcommand's arguments and start-up (model lookup, refusals, uvicorn).
- :mod:`emoaugnet.serve.listeners`: the port's sockets, and the supervisor of ``--processes`` (a socket each).
- :mod:`emoaugnet.serve.app`: the Starlette application (routes, limits, the bounded worker pool).
- :mod:`emoaugnet.serve.upload`: reading an upload under a byte limit (decoded from memory; the service writes no file of it).
- :mod:`emoaugnet.serve.card_page`: ``GET /card``, the model's card (:mod:`emoaugnet.release.card`) as HTML.
- :mod:`emoaugnet.serve.admission`: the bounded queue (``workers`` classifying, ``queue`` waiting, 503 past it).
- :mod:`emoaugnet.serve.deadlines`: the read timeout on a request's head (a timer added to uvicorn's httptools and h11 protocols).
- ``static/``: the page (``index.html``, ``app.js``, ``style.css``), served by the service itself (no CDN).

Imports :mod:`emoaugnet.inference`, :mod:`emoaugnet.release` (the card) and the parts below them; never
:mod:`emoaugnet.cli` (the predict and serve commands share :mod:`emoaugnet.inference.commands`).
"""
