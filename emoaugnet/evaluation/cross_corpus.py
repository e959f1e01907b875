"""Cross-corpus evaluation: one trained model scored on a corpus it never saw (``evaluate.cross_corpora``).

Every original recording (variant 0) of the corpus's kept utterances is scored; augmented copies are
not. The figures are those of the in-corpus test (:func:`emoaugnet.evaluation.scoring.scores`: weighted and
unweighted accuracy and macro F1 over the classes the corpus has, a corpus without surprise is not charged
for it), written per corpus to ``<paths.reports>/cross/<corpus>/``: ``metrics.json`` (a DVC metric, so
``dvc metrics show`` lists every corpus beside the in-corpus test), ``per_class.csv``, ``confusion.csv``
and ``predictions.csv``. A model trained on the corpus, or on other classes or features, is refused.

A model trained with ``model.speaker_norm`` is given each speaker's features standardised by that speaker's
own recordings (speaker adaptation, as in the in-corpus test). ``models_dir`` may also be a folder of models,
such as the cross-validation fold models ``cv/models`` (:mod:`emoaugnet.inference.ensemble`): their average is scored.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from emoaugnet.model import bundle as bundle_mod
from emoaugnet.inference import ensemble
from emoaugnet.model import normalisation
from emoaugnet.store import shards
from emoaugnet.evaluation.scoring import report, write_reports
from emoaugnet.params import Params, ParamsError
from emoaugnet.store.shards import Samples
from emoaugnet.training.splits import Split


def trained_on(b: bundle_mod.Bundle) -> list[str]:
    """The corpora the model (any model of an ensemble) trained on."""
    return sorted({c for m in getattr(b, "members", [b]) for c in m.split.get("corpora") or []})


def check_unseen(b: bundle_mod.Bundle, corpus: str, p: Params) -> None:
    """Refuse a corpus the model (any model of an ensemble) trained on, and other classes than params.yaml's."""
    seen = trained_on(b)
    if corpus in seen:
        raise ParamsError(f"the model was trained on {corpus} (corpora {seen}); a cross-corpus score is "
                          f"for a corpus it never saw: remove {corpus} from `evaluate.cross_corpora` or from "
                          "`run.corpora`, then `dvc repro`")
    if tuple(b.classes) != p.classes:
        raise ParamsError(f"the model was trained on classes {list(b.classes)}, params.yaml `classes` is "
                          f"{list(p.classes)}; run `dvc repro train` first")


def corpus_samples(features_dir: str | Path, corpus: str, b: bundle_mod.Bundle) -> Samples:
    """Every original recording of ``corpus`` in the feature store, checked against the model's features."""
    samples = shards.load_features(features_dir, [corpus], variants=[0])
    stored = samples.attrs.get("features")
    fp = b.feature_params
    wanted = fp.differs_from(stored)
    if wanted:
        raise ParamsError(f"{Path(features_dir) / corpus}: features computed with {stored}, the model was "
                          f"trained on {wanted}; run `dvc repro` first")
    if len(samples) == 0:
        raise shards.StoreError(f"{Path(features_dir) / corpus}: no original recordings to score")
    return samples


def evaluate_corpus(p: Params, corpus: str, models_dir: str | Path, features_dir: str | Path,
                    out_root: str | Path) -> dict[str, Any]:
    """Score the bundle in ``models_dir`` on all of ``corpus``; write ``out_root/<corpus>/``; the figures."""
    b = ensemble.load_any(models_dir, bundle_mod.load)
    check_unseen(b, corpus, p)
    test = corpus_samples(features_dir, corpus, b)
    scored = normalisation.for_model(b, test)
    split = Split("cross_corpus", None, None, test)
    probs = b.predict_frames(scored.features)
    metrics = report(b, split, probs)
    counts = {c: int((test.label == i).sum()) for i, c in enumerate(b.classes)}
    metrics.update(protocol="cross_corpus", corpus=corpus, trained_on=trained_on(b),
                   samples={"test": len(test), "speakers": len(set(test.speaker)), "per_class": counts},
                   leakage={"note": None, "test_utterances_in_train": 0, "test_speakers_in_train": 0})
    write_reports(Path(out_root) / corpus, metrics, split, probs, b.classes)
    return metrics
