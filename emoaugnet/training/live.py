"""DVCLive's ``Live``, with the summary DVC reads (``<paths.live>/metrics.json``) written atomically.

DVCLive rewrites ``metrics.json`` in place after every epoch; a kill in the middle of that write left a
truncated file that ``dvc metrics show`` fails on. :class:`AtomicLive` writes it through
:func:`emoaugnet.atomic.atomic_path`: a reader sees the previous complete summary, the new one, or (before
the first epoch ends) none. A failed write (disk full) of any DVCLive file is a :class:`WriteError`.
"""

from __future__ import annotations

import json
from typing import Any

from dvclive import Live
from dvclive.plots import NumpyEncoder

from emoaugnet.atomic import WriteError, atomic_path, describe


class AtomicLive(Live):
    def make_summary(self) -> None:
        if self._step is not None:          # what Live.make_summary adds, then an atomic dump
            self.summary["step"] = self.step
        with atomic_path(self.metrics_file) as tmp, open(tmp, "w", encoding="utf-8") as f:
            json.dump(self.summary, f, indent=4, cls=NumpyEncoder)
            f.write("\n")

    def log_metric(self, name: str, val: Any, *args: Any, **kwargs: Any) -> None:
        try:
            super().log_metric(name, val, *args, **kwargs)      # appends a row to plots/metrics/<name>.tsv
        except WriteError:
            raise
        except OSError as exc:
            raise WriteError(f"{self.plots_dir}: cannot write metric {name}: {describe(exc)}") from None
