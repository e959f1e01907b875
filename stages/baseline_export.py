"""Stage ``baseline_export@all``: ``python -m stages.baseline_export`` fits the eGeMAPS + SVM on params.yaml's
split of ``run.corpora`` and exports it as ONNX to ``<paths.classic>`` (``classic.onnx``, ``classic.json``).

What ``emoaugnet release --classic`` ships beside the speaker-adapted member; see
:mod:`emoaugnet.evaluation.baseline_export`.
"""

from __future__ import annotations

from emoaugnet.evaluation import baseline_export
from emoaugnet.params import Params
from emoaugnet.stage import run_stage


def main() -> int:
    def body(p: Params) -> str:
        c = baseline_export.export(p, p.paths.egemaps, p.paths.classic)
        return (f"baseline_export: {p.paths.classic}: C {c['chosen']['C']:g}, gamma {c['chosen']['gamma']:g}, "
                f"{c['split']['counts'].get('train', 0)} training recordings of {', '.join(c['split']['corpora'])}"
                + (f"; test UA {c['test']:.3f}" if "test" in c else ""))

    return run_stage("baseline_export", body)


if __name__ == "__main__":
    raise SystemExit(main())
