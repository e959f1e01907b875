"""The three evaluation protocols: which samples train, validate and test a model.

- ``speaker`` (default, honest): ``split.test_speakers`` and ``split.val_speakers`` are held out; every
  other speaker of every corpus in ``run.corpora`` trains. Speaker ids are unique within a corpus only:
  name one as ``corpus:speaker`` (``tess:OAF``), or bare (``17``) where one corpus alone has it. Augmented variants only in training; validation and test see originals only.
- ``utterance``: a seeded, stratified random split of the original utterances; the variants of a
  training utterance train, validation and test see originals only, and no variant of a held-out
  utterance is ever trained on.
- ``paper``: the paper's protocol, a seeded stratified random split of *all* samples after
  augmentation, so variants of one utterance land on both sides (the split leaks; reports say so).

Each protocol reads only the shards it needs where it can (the speaker protocol opens only the held-out
speakers' shards when only the test set is asked for).

With ``split.fold: K`` the speaker protocol takes its test and validation speakers from speaker k-fold
cross-validation (:func:`emoaugnet.training.folds.fold_roles`) instead of ``split.test_speakers`` / ``val_speakers``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from emoaugnet.training import folds
from emoaugnet.model import normalisation
from emoaugnet.store import shards
from emoaugnet.params import Params, SplitParams
from emoaugnet.store.shards import Samples
from emoaugnet.errors import EmoAugNetError

PARTS = ("train", "val", "test")
PAPER_LEAKAGE = ("paper protocol: random stratified split of all samples after augmentation; augmented "
                 "variants of one utterance and the same speakers fall on both sides, so these scores "
                 "overstate accuracy on unseen speakers (use split.protocol=speaker for an honest figure)")


class SplitError(EmoAugNetError, ValueError):
    """A split cannot be made from the feature store with these params."""


@dataclass
class Split:
    protocol: str
    train: Samples | None
    val: Samples | None
    test: Samples | None
    leakage: str | None = None
    test_speakers: tuple[str, ...] = ()     # speaker protocol: the speakers held out for test / validation
    val_speakers: tuple[str, ...] = ()

    def counts(self) -> dict[str, int]:
        return {name: len(part) for name in PARTS if (part := getattr(self, name)) is not None}


def keys(samples: Samples) -> np.ndarray:
    """Corpus-qualified utterance ids (``ravdess/03-01-...``), unique across corpora."""
    return np.char.add(np.char.add(samples.corpus.astype(str), "/"), samples.utterance.astype(str))


def speaker_keys(samples: Samples) -> np.ndarray:
    """Corpus-qualified speaker ids (``ravdess:17``): speaker ids are unique only within a corpus."""
    return np.char.add(np.char.add(samples.corpus.astype(str), ":"), samples.speaker.astype(str))


def stratified_pick(labels: np.ndarray, fraction: float, rng: np.random.Generator) -> np.ndarray:
    """Boolean mask picking ``round(n * fraction)`` items, shared out over classes in proportion: largest-remainder
    allocation keeps each class's share within one item of exact, even for tiny sets sklearn's split refuses."""
    labels = np.asarray(labels)
    picked = np.zeros(len(labels), bool)
    total = int(round(len(labels) * fraction))
    if total == 0:
        return picked
    classes, counts = np.unique(labels, return_counts=True)
    quotas = counts * fraction
    take = np.floor(quotas).astype(int)
    order = np.argsort(-(quotas - take), kind="stable")
    take[order[:total - take.sum()]] += 1
    for cls, k in zip(classes, take):
        members = np.flatnonzero(labels == cls)
        picked[rng.permutation(members)[:k]] = True
    return picked


_natural = folds.speaker_order


def resolve_speakers(wanted: Iterable[str], present: dict[str, list[str]], role: str) -> dict[str, list[str]]:
    """corpus -> its speakers named in ``split.<role>``, from ``present`` (corpus -> speakers in the store).

    A name is ``corpus:speaker`` (``tess:OAF``), or a bare speaker id (``17``) when exactly one of the
    corpora has it; an id found in several corpora must be qualified.
    """
    picked: dict[str, list[str]] = {corpus: [] for corpus in present}
    missing = []
    for name in wanted:
        corpus, sep, speaker = str(name).rpartition(":")
        if sep and corpus not in present:
            raise SplitError(f"split.{role}: {name!r} names corpus {corpus!r}, which is not in run.corpora "
                             f"({', '.join(present)})")
        homes = [c for c in ([corpus] if sep else present) if speaker in present[c]]
        if len(homes) > 1:
            raise SplitError(f"split.{role}: speaker {name!r} is in corpora {', '.join(homes)}; write it as "
                             f"{' or '.join(f'{c}:{speaker}' for c in homes)}")
        if homes:
            picked[homes[0]].append(speaker)
        else:
            missing.append(str(name))
    if missing:
        listed = "; ".join(", ".join(ids) + (f" ({c})" if len(present) > 1 else "") for c, ids in present.items())
        raise SplitError(f"split.{role} {missing} not in the feature store (corpora {', '.join(present)}; "
                         f"speakers present: {listed})")
    return picked


def _load(root: Path, speakers_of: dict[str, list[str]], variants: list[int] | None = None) -> Samples:
    """The samples of each corpus's listed speakers (corpora with none are not opened)."""
    return shards.concat([shards.load_features(root, [corpus], ids, variants=variants)
                          for corpus, ids in speakers_of.items() if ids])


def _speaker(sp: SplitParams, seed: int, corpora: tuple[str, ...], root: Path,
             parts: tuple[str, ...]) -> Split:
    present = {corpus: sorted(shards.speakers(root, corpus), key=_natural) for corpus in corpora}
    if sp.fold is not None:
        # one corpus: bare speaker ids; several: corpus-qualified (``tess:OAF``), as resolve_speakers reads them
        names = [s if len(present) == 1 else f"{c}:{s}" for c, ids in present.items() for s in ids]
        try:
            test, val = folds.fold_roles(names, sp.folds, sp.fold, sp.val_per_fold)
        except folds.FoldError as exc:
            raise SplitError(str(exc)) from None
        sp = replace(sp, test_speakers=tuple(test), val_speakers=tuple(val))
    test_of = resolve_speakers(sp.test_speakers, present, "test_speakers")
    val_of = resolve_speakers(sp.val_speakers, present, "val_speakers")
    train_of = {c: [s for s in ids if s not in test_of[c] and s not in val_of[c]] for c, ids in present.items()}
    if not any(train_of.values()):
        raise SplitError(f"split: every speaker in {root} is held out; no speaker left to train on")

    # no test speakers (split.test_speakers: []): the release split, every other speaker trains; no test part
    test = _load(root, test_of, variants=[0]) if "test" in parts and any(test_of.values()) else None
    train = val = None
    if sp.val_speakers:
        if "val" in parts:
            val = _load(root, val_of, variants=[0])
        if "train" in parts:
            train = _load(root, train_of, variants=list(sp.train_variants) or None)
    elif "train" in parts or "val" in parts:
        # No validation speakers: hold out a share of the training speakers' utterances instead.
        pool = _load(root, train_of, variants=list(sp.train_variants) or None)
        train, val = _carve_val(pool, sp.val_fraction, np.random.default_rng(seed))
    return Split("speaker", train if "train" in parts else None, val if "val" in parts else None, test,
                 test_speakers=tuple(sp.test_speakers), val_speakers=tuple(sp.val_speakers))


def _carve_val(pool: Samples, fraction: float, rng: np.random.Generator) -> tuple[Samples, Samples]:
    """Split ``pool`` by utterance: originals of the picked utterances validate, the rest trains."""
    original = pool.variant == 0
    utt = keys(pool)
    val_utts = set(utt[original][stratified_pick(pool.label[original], fraction, rng)])
    in_val = np.isin(utt, list(val_utts)) if val_utts else np.zeros(len(pool), bool)
    return pool.subset(np.flatnonzero(~in_val)), pool.subset(np.flatnonzero(in_val & original))


def _utterance(sp: SplitParams, seed: int, corpora: tuple[str, ...], root: Path) -> Split:
    samples = shards.load_features(root, corpora)
    rng = np.random.default_rng(seed)
    original = np.flatnonzero(samples.variant == 0)
    utt = keys(samples)
    test_pick = stratified_pick(samples.label[original], sp.test_fraction, rng)
    test_utts = set(utt[original[test_pick]])
    in_test = np.isin(utt, list(test_utts))
    test = samples.subset(np.flatnonzero(in_test & (samples.variant == 0)))
    train, val = _carve_val(samples.subset(np.flatnonzero(~in_test)), sp.val_fraction, rng)
    return Split("utterance", train, val, test)


def _paper(sp: SplitParams, seed: int, corpora: tuple[str, ...], root: Path) -> Split:
    samples = shards.load_features(root, corpora)
    rng = np.random.default_rng(seed)
    in_test = stratified_pick(samples.label, sp.test_fraction, rng)
    rest = np.flatnonzero(~in_test)
    in_val = np.zeros(len(samples), bool)
    in_val[rest[stratified_pick(samples.label[rest], sp.val_fraction, rng)]] = True
    return Split("paper", samples.subset(np.flatnonzero(~in_test & ~in_val)),
                 samples.subset(np.flatnonzero(in_val)), samples.subset(np.flatnonzero(in_test)),
                 leakage=PAPER_LEAKAGE)


def make(sp: SplitParams, seed: int, corpora: Iterable[str], root: str | Path,
         parts: Iterable[str] = PARTS, normalise_speakers: bool | str = False) -> Split:
    """The split ``sp.protocol`` prescribes; parts not asked for are ``None`` (and maybe never read).
    ``normalise_speakers``: each part's features normalised (:mod:`emoaugnet.model.normalisation`): a method
    (``model.feature_norm``), or True for ``speaker`` (:mod:`emoaugnet.model.speaker_norm`), False for none."""
    corpora, parts, root = tuple(corpora), tuple(parts), Path(root)
    unknown = set(parts) - set(PARTS)
    if unknown:
        raise ValueError(f"unknown split parts {sorted(unknown)}; allowed: {', '.join(PARTS)}")
    if sp.protocol == "speaker":
        split = _speaker(sp, seed, corpora, root, parts)
    elif sp.protocol == "utterance":
        split = _utterance(sp, seed, corpora, root)
    elif sp.protocol == "paper":
        split = _paper(sp, seed, corpora, root)
    else:
        raise SplitError(f"split: unknown protocol {sp.protocol!r}")
    for name in PARTS:
        if name not in parts:
            setattr(split, name, None)
    if split.train is not None and len(split.train) == 0:
        raise SplitError(f"split ({sp.protocol}): the training set is empty")
    if split.test is not None and len(split.test) == 0:
        raise SplitError(f"split ({sp.protocol}): the test set is empty")
    method = normalise_speakers
    if isinstance(method, bool):
        method = "speaker" if method else "none"
    if method != "none":
        for name in PARTS:
            if (part := getattr(split, name)) is not None and len(part):
                setattr(split, name, normalisation.normalise(part, method))
    return split


def from_params(p: Params, root: str | Path | None = None, parts: Iterable[str] = PARTS,
                normalise_speakers: bool | str | None = None) -> Split:
    """The split params.yaml asks for, from the feature store at ``root`` (default ``paths.features``);
    normalised as ``model.feature_norm`` / ``model.speaker_norm`` say unless ``normalise_speakers`` is given."""
    norm = p.model.normalisation if normalise_speakers is None else normalise_speakers
    return make(p.split, p.seed, p.corpora_to_run, p.paths.features if root is None else root, parts, norm)


def fingerprint(samples: Samples) -> str:
    """A digest of which samples a set holds (corpus, utterance, variant; order-free), to compare sets."""
    ids = sorted(f"{k}#{v}" for k, v in zip(keys(samples), samples.variant))
    return hashlib.sha256("\n".join(ids).encode()).hexdigest()


def overlap(split: Split) -> dict[str, int]:
    """How many test utterances / speakers also occur in training (0 and 0 unless the split leaks)."""
    if split.train is None or split.test is None:
        raise ValueError("overlap needs the train and test parts")
    test_utts, test_speakers = set(keys(split.test)), set(speaker_keys(split.test))
    return {"test_utterances_in_train": len(test_utts & set(keys(split.train))),
            "test_utterances": len(test_utts),
            "test_speakers_in_train": len(test_speakers & set(speaker_keys(split.train))),
            "test_speakers": len(test_speakers)}


def record(p: Params, split: Split) -> dict[str, Any]:
    """What model.json keeps of the split: its params, counts, measured overlap and test-set fingerprint (evaluate
    compares it with params.yaml's test set; the release split has no test set: both None)."""
    tested = split.test is not None
    return {"protocol": p.split.protocol, "seed": p.seed, "corpora": list(p.corpora_to_run),
            "test_speakers": list(split.test_speakers or p.split.test_speakers),
            "val_speakers": list(split.val_speakers or p.split.val_speakers), "fold": p.split.fold,
            "test_fraction": p.split.test_fraction, "val_fraction": p.split.val_fraction, "counts": split.counts(),
            "leakage": split.leakage, "overlap": overlap(split) if tested else None,
            "test_fingerprint": fingerprint(split.test) if tested else None}
