"""Augmentation of a corpus: every kept utterance as the original plus one sample per augmentation chain.

:func:`run` reads kept manifest rows and writes one HDF5 shard per speaker, ``speaker_<id>.h5``, plus a
bad-file report (the augment stage, :mod:`stages.augment`, puts them in ``<paths.augmented>/<corpus>/``
and ``<paths.stage_reports>/augment/<corpus>.json``).

Per utterance:

1. **crop first**: :func:`emoaugnet.data.audio.clip_window` decodes the analysis window (``audio.duration`` s
   from ``audio.offset`` s, or from the first voiced sample with ``audio.window: voiced``; mono,
   ``audio.sample_rate``), once per file; :func:`emoaugnet.data.audio.check_usable` refuses it when it holds
   less than one analysis frame or only zeros; it is then filled up to the window as ``audio.pad`` says
   (:func:`emoaugnet.data.audio.fit_length`; zeros by default);
2. **augment the clip**: variant 0 is the clip itself; variant ``k`` runs chain ``augment.variants[k-1]``
   (:mod:`emoaugnet.store.augmentations`) on it, with ``random`` and numpy's global RNG seeded from
   (``seed``, utterance id, ``k``) right before the chain, so a rerun, another machine or another
   number of workers draws the same parameters;
3. **fit back** to the window length (a slow stretch is cropped, a fast one padded at the end as ``audio.pad`` says),
   then stored as 16-bit PCM (:func:`emoaugnet.data.audio.to_int16`).

Shard datasets (row-aligned, utterances sorted by id, variants 0..N in order): ``waveform`` (int16,
samples x window), ``utterance``, ``variant``, ``chain`` (``original``, ``pitch+noise``...), ``label``
(index into ``classes``), ``speaker``, ``transform_params`` (JSON of what each transform drew). Attributes:
``corpus``, ``speaker``, ``classes``, ``sample_rate``, ``num_samples``, ``audio``, ``seed``, ``augment``
(transforms and variants; not the worker count, which never changes a sample).

A file that cannot be decoded, is silent, or holds less than one analysis frame
(``features.frame_length`` samples) after the offset is reported by name and reason and left out; the stage
fails when the bad share exceeds ``quality.max_bad_fraction``. A WAV/AIFF cut short mid-data is used as far as
it decodes and listed under ``truncated`` (expected vs decoded length, in predict's wording). Speakers are
processed on ``augment.workers`` processes (or on a Dask cluster: ``store.scheduler``,
:mod:`emoaugnet.store.pool`); each holds one utterance's variants at a time, whatever the
speaker's size (an IEMOCAP speaker is a session half: hundreds of utterances).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from emoaugnet.store import shards
from emoaugnet.atomic import write_text
from emoaugnet.data.audio import AudioError, check_usable, clip_window, fit_length, info, to_int16
from emoaugnet.data.truncation import truncation
from emoaugnet.data.manifest import Utterance
from emoaugnet.params import Params, recorded
from emoaugnet.store.pool import run_jobs
from emoaugnet.store.augmentations import apply_chain, drawn_parameters, make_chains, seed_for
from emoaugnet.errors import EmoAugNetError

class AugmentError(EmoAugNetError, RuntimeError):
    """The stage cannot produce a trustworthy output (too many bad files, inconsistent manifest)."""


@dataclass
class SpeakerResult:
    speaker: str
    path: Path | None                  # None when every file of the speaker was bad
    samples: int
    bad: list[dict[str, str]] = field(default_factory=list)
    truncated: list[dict[str, Any]] = field(default_factory=list)   # used as far as they decode


def group_by_speaker(rows: list[Utterance]) -> dict[str, list[Utterance]]:
    """Rows per speaker, speakers and utterances in sorted order (the order samples are stored in)."""
    groups: dict[str, list[Utterance]] = {}
    for row in sorted(rows, key=lambda r: (r.speaker, r.utterance)):
        groups.setdefault(row.speaker, []).append(row)
    seen: set[str] = set()
    for row in rows:
        if row.utterance in seen:
            raise AugmentError(f"manifest lists utterance {row.utterance!r} twice")
        seen.add(row.utterance)
    return groups


def augment_clip(clip: np.ndarray, utterance: str, params: Params, chains=None
                 ) -> tuple[np.ndarray, list[list[dict]]]:
    """All variants of one cropped clip: ``(variants, num_samples)`` int16 and what each chain drew."""
    chains = make_chains(params.augment) if chains is None else chains
    sr, n = params.audio.sample_rate, params.audio.num_samples
    out = np.empty((len(chains), n), np.int16)
    drawn = []
    for variant, chain in enumerate(chains):
        y = apply_chain(chain, clip, sr, seed_for(params.seed, utterance, variant))
        out[variant] = to_int16(fit_length(y, n, params.audio.pad))
        drawn.append(drawn_parameters(chain))
    return out, drawn


def shard_attrs(corpus: str, speaker: str, params: Params) -> dict[str, Any]:
    """What a shard records: the settings of the transforms its variants use (not every transform
    params.yaml configures, so configuring a new chain leaves existing shards byte-identical) and the
    audio window (window/pad keys only when switched on, :func:`emoaugnet.params.recorded`)."""
    used = {step for chain in params.augment.variants for step in chain}
    augment = {"transforms": {k: v for k, v in params.augment.transforms.items() if k in used},
               "variants": [list(v) for v in params.augment.variants]}
    return {"corpus": corpus, "speaker": speaker, "classes": list(params.classes),
            "sample_rate": params.audio.sample_rate, "num_samples": params.audio.num_samples,
            "audio": recorded(params.audio),
            "seed": params.seed, "augment": augment}


def usable_clip(row: Utterance, params: Params) -> np.ndarray:
    """The zero-padded analysis window of ``row``'s file; :class:`AudioError` when it holds less than one
    analysis frame of real signal (checked before padding)."""
    ap = params.audio
    y = clip_window(row.path, ap)
    check_usable(row.path, y, params.features.frame_length)
    return fit_length(y, ap.num_samples, ap.pad)


def augment_speaker(rows: list[Utterance], params: Params, out_dir: str | Path) -> SpeakerResult:
    """Augment one speaker's utterances and write their shard; bad files are reported, not written.

    Two passes, so memory holds one utterance's variants, not the speaker's: the first decodes each
    file to find the usable ones (and the truncated ones), the second decodes them again, augments
    them and writes each utterance's variants into the shard's preallocated ``waveform`` dataset.
    """
    speaker = rows[0].speaker
    chains = make_chains(params.augment)
    per = len(chains)
    good, bad, truncated = [], [], []
    for row in rows:
        if row.label not in params.classes:
            raise AugmentError(f"{row.path}: label {row.label!r} is not one of classes {list(params.classes)}"
                               " (rerun the download stage after changing classes)")
        try:
            usable_clip(row, params)
            cut = truncation(info(row.path))
        except AudioError as exc:
            bad.append({"utterance": row.utterance, "path": row.path, "reason": exc.reason})
            continue
        good.append(row)
        if cut:
            truncated.append({"utterance": row.utterance, "path": row.path, "expected_s": cut.expected_s,
                              "decoded_s": cut.decoded_s, "warning": cut.message("augmented")})
    if not good:
        return SpeakerResult(speaker, None, 0, bad, truncated)
    path = Path(out_dir) / shards.shard_name(speaker)
    meta: dict[str, list] = {k: [] for k in ("utterance", "variant", "chain", "label", "speaker",
                                             "transform_params")}
    with shards.shard_writer(path) as f:
        waveform = shards.create_dataset(f, "waveform", (len(good) * per, params.audio.num_samples), np.int16)
        for i, row in enumerate(good):
            try:
                clip = usable_clip(row, params)
            except AudioError as exc:
                raise AugmentError(f"{exc} (it was readable a moment ago: changed during the run?)") from None
            samples, drawn = augment_clip(clip, row.utterance, params, chains)
            waveform[i * per:(i + 1) * per] = samples
            for variant in range(per):
                meta["utterance"].append(row.utterance)
                meta["variant"].append(variant)
                meta["chain"].append(params.augment.chain_name(variant))
                meta["label"].append(params.classes.index(row.label))
                meta["speaker"].append(speaker)
                meta["transform_params"].append(json.dumps(drawn[variant], sort_keys=True))
        shards.write_datasets(f, {"utterance": np.array(meta["utterance"], dtype=object),
                                  "variant": np.array(meta["variant"], np.int16),
                                  "chain": np.array(meta["chain"], dtype=object),
                                  "label": np.array(meta["label"], np.int16),
                                  "speaker": np.array(meta["speaker"], dtype=object),
                                  "transform_params": np.array(meta["transform_params"], dtype=object)})
        shards.write_attrs(f, shard_attrs(rows[0].corpus, speaker, params))
    return SpeakerResult(speaker, path, len(good) * per, bad, truncated)


class _SpeakerJob:
    """Picklable job for the pool: one speaker's rows -> its shard."""

    def __init__(self, params: Params, out_dir: Path):
        self.params, self.out_dir = params, out_dir

    def __call__(self, rows: list[Utterance]) -> SpeakerResult:
        return augment_speaker(rows, self.params, self.out_dir)


def run(corpus: str, rows: list[Utterance], params: Params, out_dir: str | Path, report_path: str | Path,
        workers: int | None = None, progress: bool = True) -> dict[str, Any]:
    """Augment ``rows`` (kept manifest rows) into ``out_dir``; write and return the bad-file report.

    Raises :class:`AugmentError` (after writing the report) when the bad share is too high.
    """
    out_dir, report_path = Path(out_dir), Path(report_path)
    if not rows:
        raise AugmentError(f"{corpus}: the manifest has no kept utterances")
    groups = group_by_speaker(rows)
    jobs = list(groups.values())
    shards.remove_leftovers(out_dir)
    results = list(run_jobs(_SpeakerJob(params, out_dir), jobs, [len(j) for j in jobs],
                            workers or params.augment.workers, desc=f"augment {corpus}",
                            unit="utt", progress=progress, scheduler=params.scheduler))
    shards.remove_leftovers(out_dir)
    results.sort(key=lambda r: r.speaker)
    written = {r.path.name for r in results if r.path is not None}
    for stale in out_dir.glob("speaker_*.h5"):
        if stale.name not in written:
            stale.unlink()
    bad = sorted((b for r in results for b in r.bad), key=lambda b: b["utterance"])
    truncated = sorted((c for r in results for c in r.truncated), key=lambda c: c["utterance"])
    report = {"corpus": corpus, "utterances": len(rows), "augmented": len(rows) - len(bad),
              "samples": sum(r.samples for r in results), "variants_per_utterance": params.num_variants,
              "shards": len(written), "bad": bad, "truncated": truncated, "bad_fraction": len(bad) / len(rows),
              "max_bad_fraction": params.max_bad_fraction}
    write_text(report_path, json.dumps(report, indent=2) + "\n")
    if report["bad_fraction"] > params.max_bad_fraction:
        names = ", ".join(f"{b['path']} ({b['reason']})" for b in bad[:5])
        raise AugmentError(f"{corpus}: {len(bad)} of {len(rows)} files cannot be used "
                           f"({report['bad_fraction']:.1%} > quality.max_bad_fraction "
                           f"{params.max_bad_fraction:.1%}), e.g. {names}; see {report_path}")
    return report

