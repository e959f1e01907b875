"""Stage ``export``: ``python -m stages.export`` writes the trained model as ONNX for predict without Keras.

Reads the bundle ``paths.models`` and writes ``paths.export`` (``model.onnx``, ``features.npz``,
``model.json``; see :mod:`emoaugnet.inference.onnx_export`), so ``dvc pull export`` fetches just the exported model.
"""

from __future__ import annotations

from typing import Sequence

from emoaugnet.inference.onnx_export import export
from emoaugnet.params import Params
from emoaugnet.stage import run_stage


def main(argv: Sequence[str] | None = None) -> int:
    def body(p: Params) -> str:
        entry = export(p.paths.models, p.paths.export)
        return (f"export: {p.paths.export}/{entry['file']} (opset {entry['opset']}), largest difference from "
                f"Keras {entry['max_abs_diff_vs_keras']:.2g}")

    return run_stage("export", body)


if __name__ == "__main__":
    raise SystemExit(main())
