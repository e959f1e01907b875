"""Stage ``check_params``: ``python -m stages.check_params`` validates params.yaml before any stage runs.

DVC removes a stage's outputs before it runs the stage's command, so a stage that refused a bad
params.yaml would already have lost ``models/`` or ``dvclive/``. This stage depends on params.yaml as a
file and every other stage depends on its output, so DVC runs it first and stops the pipeline here when
params.yaml is bad (a typo, a value out of range, a key ``dvc exp run -S`` added), before anything else
is removed. The output, ``<paths.stage_reports>/params.ok``, holds a fixed line: a valid change of
params.yaml rewrites it with the same bytes, so it reruns no stage by itself.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from emoaugnet.atomic import write_text
from emoaugnet.params import PARAMS_FILE, Params
from emoaugnet.stage import run_stage

OK_FILE = "params.ok"
OK_LINE = "params.yaml passed emoaugnet.params validation\n"


def main(argv: Sequence[str] | None = None) -> int:
    def body(p: Params) -> str:
        write_text(Path(p.paths.stage_reports) / OK_FILE, OK_LINE)
        return f"check_params: {PARAMS_FILE} is valid"

    return run_stage("check_params", body)


if __name__ == "__main__":
    raise SystemExit(main())
