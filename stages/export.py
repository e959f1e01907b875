"""Stage ``export``: ``python -m stages.export`` writes the trained model as ONNX for predict without Keras.

Reads the bundle ``paths.models`` and writes ``paths.export`` (``model.onnx``, ``features.npz``,
``model.json``; see :mod:`emoaugnet.onnx_export`), so ``dvc pull export`` fetches just the exported model.
"""

from __future__ import annotations

import sys
from typing import Sequence

from emoaugnet import bundle
from emoaugnet.onnx_export import export
from emoaugnet.params import ParamsError, load


def main(argv: Sequence[str] | None = None) -> int:
    try:
        p = load()
        entry = export(p.paths.models, p.paths.export)
    except (ParamsError, bundle.BundleError) as exc:
        print(f"export: {exc}", file=sys.stderr)
        return 1
    print(f"export: {p.paths.export}/{entry['file']} (opset {entry['opset']}), largest difference from Keras "
          f"{entry['max_abs_diff_vs_keras']:.2g}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
