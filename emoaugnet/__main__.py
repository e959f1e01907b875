"""``python -m emoaugnet``: the same as the ``emoaugnet`` command (:mod:`emoaugnet.cli`)."""

from emoaugnet.cli import main

raise SystemExit(main())
