"""Speaker k-fold cross-validation of several configurations in one run, on a pool of processes.

The DVC way to cross-validate one configuration is ``dvc exp run -S 'cv.folds=[0,1,2,3,4]' -S
'cv.summary=[all]' -S <overrides>`` (README, "Cross-validation"). Comparing a dozen configurations that
way runs them one after the other; this module runs the same fold trainings side by side (one process
per job, e.g. several on one GPU, which these small models leave mostly idle), outside DVC, with the same
functions the fold stages call: :func:`emoaugnet.training.folds.fold_params`, :func:`emoaugnet.training.fit.train_and_save`,
:func:`emoaugnet.evaluation.scoring.evaluate` and :func:`emoaugnet.evaluation.cv_summary.summarise`. So a row it measures
is the row ``dvc exp run`` would give (up to the nondeterminism of the device), and each result records
that ``dvc exp run`` command.

A configurations file (``tools/cv_configs.yaml``) maps a name to dotted ``params.yaml`` overrides.
``tools/cv_sweep.py`` is the command line; results go to ``<out>/<name>/`` (models, reports, the summary
``metrics.json`` and pooled ``confusion.csv``) and one line per configuration to ``<out>/results.jsonl``.
A fold whose report exists for the same overrides is not run again, so a cut-off sweep resumes.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import shlex
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import active_children, get_context
from pathlib import Path
from typing import Any, Iterable, Mapping

import yaml

from emoaugnet.evaluation import cv_summary
from emoaugnet.training import folds
from emoaugnet.atomic import write_text
from emoaugnet.params import ParamsError, Params, from_dict, override

CV_KEYS = ("cv.folds", "cv.summary")


#: The entry of a configurations file that every configuration starts from (its own keys win), so a file
#: keeps meaning what it measured when params.yaml's defaults move.
BASE = "_base"


def read_configs(path: str | Path) -> dict[str, dict[str, Any]]:
    """name -> overrides, from a YAML mapping of names to mappings of dotted keys; an entry ``_base``
    (:data:`BASE`) is not a configuration but the overrides every configuration starts from."""
    data = yaml.safe_load(Path(path).read_text())
    if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
        raise ParamsError(f"{path}: expected a mapping of configuration names to mappings of dotted params keys")
    base = dict(data.pop(BASE, {}))
    return {str(name): {**base, **overrides} for name, overrides in data.items()}


def params_tree(base: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` (params.yaml as a tree) with the dotted ``overrides``, validated."""
    tree = json.loads(json.dumps(base))
    for key, value in overrides.items():
        override(tree, key, value)
    from_dict(tree)
    return tree


def dvc_command(overrides: Mapping[str, Any], num_folds: int) -> str:
    """The ``dvc exp run`` that cross-validates this configuration with the fold stages."""
    sets = [f"cv.folds={json.dumps(list(range(num_folds)), separators=(',', ':'))}", "cv.summary=[all]"]
    sets += [f"{k}={v if isinstance(v, str) else json.dumps(v, separators=(',', ':'))}"
             for k, v in overrides.items() if k not in CV_KEYS]
    return "dvc exp run " + " ".join(f"-S {shlex.quote(s)}" for s in sets)


def run_fold(tree: dict[str, Any], fold: int, features: str, out: str) -> dict[str, Any]:
    """Train and evaluate fold ``fold`` of the configuration ``tree`` into ``out`` (a worker's job)."""
    from emoaugnet.model import backend
    from emoaugnet.evaluation import scoring as evaluation
    from emoaugnet.training import fit as training
    import keras
    p = folds.fold_params(from_dict(tree), fold)
    backend.configure(p.seed)
    models, reports = Path(out) / "models" / f"fold_{fold}", Path(out) / "reports" / f"fold_{fold}"
    start, cpu = time.perf_counter(), time.process_time()
    trained = training.train_and_save(p, features, models, live_dir=None, verbose=0)
    metrics = evaluation.evaluate(p, models, features, reports)
    keras.backend.clear_session()
    return {"fold": fold, "seconds": round(time.perf_counter() - start, 1),
            "cpu_seconds": round(time.process_time() - cpu, 1), "device": backend.describe(),
            "epochs_run": trained.summary["epochs_run"], "unweighted_accuracy": metrics["unweighted_accuracy"]}


JOB_FILE = "sweep_job.json"      # beside a fold's reports: its wall / CPU seconds, epochs and device


def _done(out: Path, fold: int) -> dict[str, Any] | None:
    """What a finished fold recorded (``None`` when it has not finished)."""
    reports = out / "reports" / f"fold_{fold}"
    if not all((reports / name).is_file() for name in ("predictions.csv", "metrics.json", JOB_FILE)):
        return None
    return json.loads((reports / JOB_FILE).read_text())


def prepare(out: Path, name: str, overrides: Mapping[str, Any], tree: Mapping[str, Any], features: str) -> Path:
    """The configuration's folder; earlier folds are kept only when they ran with the same params (the
    whole tree, not only the overrides) on the same feature store."""
    folder = out / name
    record = folder / "config.json"
    wanted = {"overrides": dict(overrides), "features": features,
              "params_sha256": hashlib.sha256(json.dumps(tree, sort_keys=True).encode()).hexdigest()}
    if record.is_file() and json.loads(record.read_text()) != wanted:
        raise ParamsError(f"{folder}: holds the results of other params or another feature store ({record}); "
                          "choose another --out or remove the folder")
    folder.mkdir(parents=True, exist_ok=True)
    write_text(record, json.dumps(wanted, indent=2) + "\n")
    return folder


def read_results(path: str | Path) -> list[dict[str, Any]]:
    """The rows of a ``results.jsonl`` (a torn last line, from a kill, is skipped)."""
    path = Path(path)
    rows = []
    for line in path.read_text().splitlines() if path.is_file() else []:
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(row, dict) and "name" in row:
            rows.append(row)
    return rows


def record_row(out: Path, row: dict[str, Any]) -> None:
    """``row`` in ``<out>/results.jsonl``, in place of the configuration's earlier row (folds rerun after
    its folder was removed, or a resumed configuration summarised again), else appended; the file is
    rewritten whole (a torn last line, from a kill, is dropped)."""
    path = out / "results.jsonl"
    with open(out / ".results.lock", "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)       # two sweeps on one --out: each row read and written whole
        rows = read_results(path)
        names = [r["name"] for r in rows]
        if row["name"] in names:
            rows[names.index(row["name"])] = row
        else:
            rows.append(row)
        write_text(path, "".join(json.dumps(r) + "\n" for r in rows))


def summarise(name: str, overrides: Mapping[str, Any], p: Params, folder: Path,
              jobs: Iterable[dict[str, Any]], command: str | None = None) -> dict[str, Any]:
    """The configuration's row; its ``metrics.json`` (what ``emoaugnet release --cv`` reads) records the
    command that made it (``command``, else the configuration's ``dvc exp run`` line)."""
    dirs = {k: folder / "reports" / f"fold_{k}" for k in range(p.split.folds)}
    summary = cv_summary.summarise(dirs, p.classes, p.split.folds)
    command = command or dvc_command(overrides, p.split.folds)
    cv_summary.write_summary(folder, {**summary, "command": command}, [dirs[k] for k in sorted(dirs)])
    jobs = sorted(jobs, key=lambda j: j["fold"])
    return {"name": name, "overrides": dict(overrides), "command": command,
            "mean": summary["mean"], "sd": summary["sd"], "pooled": summary["pooled"],
            "per_fold_unweighted_accuracy": [summary["per_fold"][str(k)]["unweighted_accuracy"] for k in sorted(dirs)],
            "fold_seconds": [j.get("seconds") for j in jobs], "fold_cpu_seconds": [j.get("cpu_seconds") for j in jobs],
            "epochs_run": [j.get("epochs_run") for j in jobs],
            "device": next((j["device"] for j in jobs if j.get("device")), None)}


def sweep(base: Mapping[str, Any], configs: Mapping[str, Mapping[str, Any]], features: str | Path,
          out: str | Path, workers: int = 1, log=print) -> list[dict[str, Any]]:
    """Cross-validate every configuration; returns (and appends to ``<out>/results.jsonl``) one summary
    per configuration, in the order its last fold finished."""
    out, features = Path(out), str(Path(features).resolve())
    trees = {name: params_tree(base, o) for name, o in configs.items()}
    params = {name: from_dict(t) for name, t in trees.items()}
    folders = {name: prepare(out, name, configs[name], trees[name], features) for name in configs}
    pending = {name: set(range(params[name].split.folds)) for name in configs}
    finished: dict[str, list[dict[str, Any]]] = {name: [] for name in configs}
    results = []

    def finish(name: str) -> None:
        row = summarise(name, configs[name], params[name], folders[name], finished[name])
        record_row(out, row)
        results.append(row)
        log(f"cv_sweep: {name}: UA {100 * row['mean']['unweighted_accuracy']:.1f} +- "
            f"{100 * row['sd']['unweighted_accuracy']:.1f}, WA {100 * row['mean']['weighted_accuracy']:.1f} +- "
            f"{100 * row['sd']['weighted_accuracy']:.1f} ({row['command']})")

    jobs = []
    for name in configs:
        for fold in sorted(pending[name]):
            if (job := _done(folders[name], fold)) is not None:
                pending[name].discard(fold)
                finished[name].append(job)
            else:
                jobs.append((name, fold))
        if not pending[name]:
            finish(name)
    if not jobs:
        return results
    context = get_context("spawn")            # a fresh Keras / device per worker, whatever the backend
    pool = ProcessPoolExecutor(max_workers=max(1, workers), mp_context=context)
    try:
        running = {pool.submit(run_fold, trees[name], fold, features, str(folders[name])): (name, fold)
                   for name, fold in jobs}
        for future in as_completed(running):
            name, fold = running[future]
            job = future.result()
            write_text(Path(folders[name]) / "reports" / f"fold_{fold}" / JOB_FILE, json.dumps(job) + "\n")
            log(f"cv_sweep: {name} fold {fold}: UA {100 * job['unweighted_accuracy']:.1f}, "
                f"{job['epochs_run']} epochs, {job['seconds']:.0f} s")
            finished[name].append(job)
            pending[name].discard(fold)
            if not pending[name]:
                finish(name)
    except BaseException:                     # Ctrl-C, `timeout`, a failed job: stop every worker now
        pool.shutdown(wait=False, cancel_futures=True)
        for child in active_children():
            child.terminate()
        log("cv_sweep: stopped; the folds that finished are kept, and the same command resumes from them")
        raise
    pool.shutdown()
    return results


def ensemble_of(base: Mapping[str, Any], configs: Mapping[str, Mapping[str, Any]], names: list[str],
                features: str | Path, out: str | Path, log=print) -> dict[str, Any]:
    """Cross-validate the average of configurations already swept into ``out``: fold K's ensemble is the
    fold-K models of ``names`` (all trained without fold K's speakers), scored on fold K's test speakers.
    Written like a configuration, as ``<out>/ensemble_<names joined by +>``."""
    from emoaugnet.model import bundle
    from emoaugnet.inference import ensemble
    from emoaugnet.evaluation import scoring as evaluation
    out = Path(out)
    params = {n: from_dict(params_tree(base, configs[n])) for n in names}
    p = params[names[0]]
    if len({(q.split.folds, q.split.val_per_fold, q.model.normalisation) for q in params.values()}) != 1:
        raise ParamsError(f"ensemble {names}: the configurations differ in split.folds, split.val_per_fold or "
                          "feature normalisation; their folds' models cannot be averaged")
    name = "ensemble_" + "+".join(names)
    folder = out / name
    jobs = []
    for k in range(p.split.folds):
        start = time.perf_counter()
        together = ensemble.per_fold([bundle.load(out / n / "models" / f"fold_{k}") for n in names], list(names))
        fp = folds.fold_params(p, k)
        split = evaluation.test_set(together, fp, features)
        probs = together.predict_frames(split.test.features)
        metrics = evaluation.report(together, split, probs)
        evaluation.write_reports(folder / "reports" / f"fold_{k}", metrics, split, probs, together.classes)
        jobs.append({"fold": k, "seconds": round(time.perf_counter() - start, 1)})
        log(f"cv_sweep: {name} fold {k}: UA {100 * metrics['unweighted_accuracy']:.1f}")
    row = summarise(name, {"ensemble": list(names)}, p, folder, jobs,
                    " && ".join([f"python tools/cv_sweep.py run --only {','.join(names)}",
                                 f"python tools/cv_sweep.py ensemble {','.join(names)}"]))
    record_row(out, row)
    return row


def markdown_rows(results: Iterable[dict[str, Any]]) -> list[str]:
    """README table rows: configuration, mean +- sd of WA and UA, UA per fold, wall and CPU minutes per
    fold (mean over the folds that ran here), device, command."""
    def minutes(values: list[Any] | None) -> str:
        values = [v for v in values or [] if v is not None]
        return f"{sum(values) / len(values) / 60:.1f}" if values else "-"

    lines = []
    for r in results:
        m, s = r["mean"], r["sd"]
        folds_ua = ", ".join(f"{100 * v:.1f}" for v in r["per_fold_unweighted_accuracy"])
        lines.append(f"| {r['name']} | {100 * m['weighted_accuracy']:.1f} ± {100 * s['weighted_accuracy']:.1f} | "
                     f"**{100 * m['unweighted_accuracy']:.1f} ± {100 * s['unweighted_accuracy']:.1f}** | {folds_ua} | "
                     f"{minutes(r['fold_seconds'])} | {minutes(r.get('fold_cpu_seconds'))} | {r['device']} |")
    return lines

