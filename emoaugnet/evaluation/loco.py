"""Leave-one-corpus-out: each corpus of ``loco.corpora`` held out in turn, the others train.

Held-out corpus ``C``'s run trains on the other corpora of the list (``run.corpora`` is replaced by them)
with the speaker protocol: the test set is every original recording of ``C`` (all its speakers), and the
validation speakers come from the training corpora only, the last ``split.val_per_fold`` speakers (sorted)
of each training corpus that has more speakers than that (RAVDESS 01-20: 19 and 20; EmoDB dev 03, 08-11:
10 and 11; TESS YAF, one speaker: none). When no training corpus can spare a validation speaker,
``split.val_fraction`` of the training utterances validate instead (as the speaker protocol does). So no
recording of ``C``, and no validation speaker, ever trains. The split is :func:`emoaugnet.training.splits.make`'s
speaker protocol (the same code as every other split), so the classic baseline (:mod:`emoaugnet.evaluation.baseline`)
uses it too.

Stages ``train_loco@C`` and ``evaluate_loco@C`` are stages ``train`` and ``evaluate`` with C's setup
(:func:`stage_setup`) and write ``<paths.loco>/{models,live,reports}/C``; the split is normalised as
``model.feature_norm`` says (as every other split) and the scoring
is :func:`emoaugnet.evaluation.cross_corpus.evaluate_corpus` (WA / UA / macro F1 over the classes ``C`` has), and
``loco_summary@all`` summarises the held-out corpora (:func:`emoaugnet.evaluation.cv_summary.summarise_runs`) in
``<paths.reports>/loco/metrics.json``.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any, Sequence

from emoaugnet.evaluation import cv_summary
from emoaugnet.training import folds, splits
from emoaugnet.store import shards
from emoaugnet.params import Params, ParamsError


def parse_corpus(args: Sequence[str], stage: str, p: Params) -> str:
    """The held-out corpus a LOCO stage is run with (``python -m stages.<stage> C``), one of ``loco.corpora``."""
    if len(args) != 1:
        raise ParamsError(f"usage: python -m stages.{stage} CORPUS (one of loco.corpora), got {list(args)}")
    if args[0] not in p.loco_corpora:
        raise ParamsError(f"{args[0]!r} is not in `loco.corpora` ({', '.join(p.loco_corpora) or 'empty'})")
    return args[0]


def training_corpora(p: Params, held_out: str) -> tuple[str, ...]:
    return tuple(c for c in p.loco_corpora if c != held_out)


def loco_params(p: Params, held_out: str) -> Params:
    """``p`` as held-out corpus ``held_out``'s run trains with: ``run.corpora`` = the other corpora of the
    list, the speaker protocol (the split itself comes from :func:`split`)."""
    if held_out not in p.loco_corpora:
        raise ParamsError(f"{held_out!r} is not in `loco.corpora` ({', '.join(p.loco_corpora)})")
    return replace(p, corpora_to_run=training_corpora(p, held_out),
                   split=replace(p.split, protocol="speaker", fold=None))


def loco_dirs(p: Params, held_out: str) -> dict[str, Path]:
    """Where held-out corpus ``held_out``'s run keeps its model bundle, DVCLive curves and reports."""
    root = Path(p.paths.loco)
    return {part: root / part / held_out for part in ("models", "live", "reports")}


def roles(p: Params, held_out: str, root: str | Path,
          train_on: Sequence[str] | None = None) -> tuple[list[str], list[str]]:
    """Corpus-qualified test speakers (all of ``held_out``) and validation speakers (see the module doc) when
    ``train_on`` (default: the other corpora of ``loco.corpora``) trains."""
    test = [f"{held_out}:{s}" for s in shards.speakers(root, held_out)]
    val = []
    for corpus in training_corpora(p, held_out) if train_on is None else train_on:
        ordered = sorted(shards.speakers(root, corpus), key=folds.speaker_order)
        if p.split.val_per_fold and len(ordered) > p.split.val_per_fold:
            val += [f"{corpus}:{s}" for s in ordered[-p.split.val_per_fold:]]
    return test, val


def split(p: Params, held_out: str, root: str | Path, parts: Sequence[str] = splits.PARTS,
          normalise_speakers: bool | str | None = None, train_on: Sequence[str] | None = None) -> splits.Split:
    """Held-out corpus ``held_out``'s split of the store at ``root`` (features, or eGeMAPS functionals):
    all of it tests; ``train_on`` (default: the other corpora of ``loco.corpora``) trains and validates.
    Normalised as ``model.feature_norm`` says (``p.model.normalisation``, as :func:`emoaugnet.training.splits.from_params`)
    unless ``normalise_speakers`` is given (the baseline's ``baseline.speaker_norm``)."""
    train_on = tuple(training_corpora(p, held_out) if train_on is None else train_on)
    if held_out in train_on:
        raise ParamsError(f"{held_out} cannot be held out and trained on at once (training corpora {list(train_on)})")
    test, val = roles(p, held_out, root, train_on)
    sp = replace(p.split, protocol="speaker", fold=None, test_speakers=tuple(test), val_speakers=tuple(val))
    norm = p.model.normalisation if normalise_speakers is None else normalise_speakers
    return splits.make(sp, p.seed, (*train_on, held_out), root, parts, norm)


def stage_setup(p: Params, args: Sequence[str], stage: str) -> folds.StageSetup:
    """The setup of ``<stage> C`` (``train_loco`` / ``evaluate_loco``, ``args`` ``[C]``): held-out corpus C's
    params and folders, its training split (:func:`split`) and C, which the evaluate stage scores whole."""
    held_out = parse_corpus(args, stage, p)
    lp = loco_params(p, held_out)
    return folds.StageSetup(lp, loco_dirs(lp, held_out), held_out,
                            split=lambda root: split(lp, held_out, root), held_out=held_out)


def run_summary(p: Params, out_dir: str | Path, report_dirs: dict[str, Path] | None = None) -> dict[str, Any]:
    """Summarise the held-out corpora (default: the network's ``<paths.loco>/reports/<C>``) in
    ``out_dir/metrics.json`` and the pooled ``confusion.csv``."""
    if not p.loco_corpora:
        raise cv_summary.CVError("loco.corpora is empty: no held-out corpus to summarise")
    dirs = report_dirs or {c: loco_dirs(p, c)["reports"] for c in p.loco_corpora}
    runs = cv_summary.summarise_runs(dirs, p.classes, "held-out corpora")
    summary = {"held_out": list(dirs), **runs}
    summary["per_corpus"] = summary.pop("per_run")
    cv_summary.write_summary(out_dir, summary, list(dirs.values()))
    return summary
