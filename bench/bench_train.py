"""Training throughput of the paper model on this machine: backends, layouts, precisions, XLA and batch sizes.

Every configuration trains the real Table I network (``emoaugnet.model.network.build`` with params.yaml's model
section) on synthetic inputs of the real shapes (flat 2,376 x 1, frames 108 x 22; seven classes),
after ``emoaugnet.model.backend.configure`` (seed, determinism, thread pools sized to the cores) -- the same set-up
as the train stage, on the Keras backend ``KERAS_BACKEND`` selects (tensorflow by default; jax, torch).
Figures are samples per second: median over ``--repeats`` timings of ``--steps``
optimizer steps each, after ``--warmup`` steps (which include tracing / XLA compilation). Ratios are
against the baseline measured in the same run (flat, float32, batch 64, no XLA). The ``fit`` row
times ``model.fit`` on in-memory arrays (Keras' tf.data input pipeline included) to show what the
input pipeline costs on top of the bare step. ``xla`` and ``nodet`` are TensorFlow options: Keras silently
drops ``jit_compile=True`` while TF op determinism is on (as the train stage sets it), so ``xla`` rows,
and ``nodet`` rows, turn determinism off for that model only. JAX always compiles the step with XLA, so
under other backends those options are refused (and left out of the default sets).

``--accuracy EPOCHS`` instead trains the frames layout on the real feature store
(``data/features``, params.yaml's split) in float32 and in mixed_bfloat16 from the same seed with
``emoaugnet.training.fit.fit`` and prints both validation accuracies; ``--variants`` limits the training
samples to some augmentation variants (bfloat16 is emulated, hence slow, on CPUs without AVX-512 BF16).

    python bench/bench_train.py                 # default set, a few minutes on 2 cores
    python bench/bench_train.py --quick         # frames only, seconds
    KERAS_BACKEND=jax python bench/bench_train.py --quick
    python bench/bench_train.py --configs flat:float32:64 frames:mixed_bfloat16:64:xla
    python bench/bench_train.py --accuracy 5 --variants 0 1 2

A configuration is ``layout:precision:batch[:xla][:nodet][:fit]``. Not collected by pytest; asserts nothing.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics
import subprocess
import time
from dataclasses import dataclass

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

from emoaugnet.model import backend  # noqa: E402
from emoaugnet.training import fit as training  # noqa: E402
from emoaugnet.model import network as model_mod  # noqa: E402
from emoaugnet import params as params_mod  # noqa: E402

BASELINE = "flat:float32:64"
DEFAULT = [
    "flat:float32:64", "flat:mixed_bfloat16:64", "flat:float32:64:xla", "flat:float32:128",
    "frames:float32:64", "frames:mixed_bfloat16:64", "frames:float32:64:xla", "frames:float32:128",
    "frames:float32:256", "frames:float32:64:nodet", "frames:float32:64:fit",
]
QUICK = ["frames:float32:64", "frames:mixed_bfloat16:64", "frames:float32:64:xla", "frames:float32:64:nodet",
         "frames:float32:64:fit"]
OPTIONS = ("xla", "nodet", "fit")
TF_ONLY = ("xla", "nodet")


@dataclass(frozen=True)
class Config:
    layout: str
    precision: str
    batch: int
    xla: bool = False
    nodet: bool = False
    fit: bool = False

    @classmethod
    def parse(cls, text: str) -> "Config":
        parts = text.split(":")
        if len(parts) < 3 or parts[0] not in params_mod.LAYOUTS or parts[1] not in ("float32", "mixed_bfloat16") \
                or not parts[2].isdigit() or not set(parts[3:]) <= set(OPTIONS):
            raise SystemExit(f"bad configuration {text!r}: expected layout:precision:batch[:xla][:nodet][:fit], "
                             f"layout in {params_mod.LAYOUTS}, precision float32|mixed_bfloat16")
        opts = set(parts[3:])
        if opts & set(TF_ONLY) and backend.name() != "tensorflow":
            raise SystemExit(f"{text!r}: {'/'.join(TF_ONLY)} are TensorFlow options; this run is on "
                             f"{backend.name()} (KERAS_BACKEND)")
        return cls(parts[0], parts[1], int(parts[2]), "xla" in opts, "nodet" in opts or "xla" in opts, "fit" in opts)

    @property
    def plain(self) -> bool:
        return not (self.xla or self.nodet or self.fit)

    def __str__(self) -> str:
        opts = [o for o in OPTIONS if getattr(self, o) and not (o == "nodet" and self.xla)]
        return ":".join([self.layout, self.precision, str(self.batch), *opts])


def machine() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        name = next((line.split(":", 1)[1].strip() for line in out.splitlines() if line.startswith("Model name")),
                    platform.processor())
    except (OSError, subprocess.CalledProcessError):
        name = platform.processor()
    return f"{name}, {os.cpu_count()} cores"


def measure(cfg: Config, p: params_mod.Params, steps: int, repeats: int, warmup: int, seed: int) -> float:
    """Median samples/s of ``cfg`` (one fresh model)."""
    if not cfg.nodet:
        return _measure(cfg, p, steps, repeats, warmup, seed)
    from emoaugnet.model import tensorflow_settings   # nodet / xla rows exist under TensorFlow only

    was = tensorflow_settings.op_determinism()
    tensorflow_settings.set_op_determinism(False)
    try:
        return _measure(cfg, p, steps, repeats, warmup, seed)
    finally:
        tensorflow_settings.set_op_determinism(was)


def _measure(cfg: Config, p: params_mod.Params, steps: int, repeats: int, warmup: int, seed: int) -> float:
    import keras

    num_frames, num_channels = p.num_frames, p.features.num_channels
    keras.utils.set_random_seed(seed)
    mp = params_mod.ModelParams(**{**p.model.__dict__, "input_layout": cfg.layout})
    net = model_mod.build(mp, len(p.classes), num_frames, num_channels, cfg.precision)
    net.compile(optimizer=keras.optimizers.Adam(learning_rate=p.train.learning_rate),
                loss="sparse_categorical_crossentropy", metrics=["accuracy"], jit_compile=cfg.xla)
    rng = np.random.default_rng(seed)
    shape = model_mod.input_shape(cfg.layout, num_frames, num_channels)
    if cfg.xla and not net.jit_compile:
        print(f"  warning: Keras did not enable XLA for {cfg}", flush=True)
    if cfg.fit:
        # model.fit over in-memory arrays, as the train stage does: one epoch of 4 x steps batches per timing.
        n = cfg.batch * steps * 4
        x = rng.standard_normal((n, *shape)).astype(np.float32)
        y = rng.integers(0, len(p.classes), n)
        net.fit(x[:cfg.batch * max(warmup, 1)], y[:cfg.batch * max(warmup, 1)], batch_size=cfg.batch,
                epochs=1, verbose=0)
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            net.fit(x, y, batch_size=cfg.batch, epochs=1, shuffle=True, verbose=0)
            times.append(time.perf_counter() - start)
        return n / statistics.median(times)
    x = rng.standard_normal((cfg.batch, *shape)).astype(np.float32)
    y = rng.integers(0, len(p.classes), cfg.batch)
    for _ in range(max(warmup, 1)):
        loss = net.train_on_batch(x, y)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(steps):
            loss = net.train_on_batch(x, y)
        times.append(time.perf_counter() - start)
    if not np.all(np.isfinite(loss)):
        print(f"  warning: {cfg} gave a non-finite loss {loss}", flush=True)
    return cfg.batch * steps / statistics.median(times)


def accuracy(p: params_mod.Params, epochs: int, variants: list[int] | None, precisions: list[str]) -> None:
    """Frames layout, same seed and split: validation accuracy after ``epochs`` per precision."""
    from emoaugnet.training import splits

    tree = {**p.raw, "model": {**p.raw["model"], "input_layout": "frames"},
            "train": {**p.raw["train"], "epochs": epochs}}
    pf = params_mod.from_dict(tree)
    split = splits.from_params(pf)
    if variants is not None:
        split.train = split.train.subset(np.flatnonzero(np.isin(split.train.variant, variants)))
    print(f"accuracy check: frames layout, {epochs} epochs, batch {pf.train.batch_size}, seed {pf.seed}, "
          f"protocol {split.protocol}, samples {split.counts()}, variants {variants or 'all'} "
          f"(store {pf.paths.features})", flush=True)
    rows = []
    for precision in precisions:
        done = training.fit(pf, split, precision, verbose=0)
        val = done.history["val_accuracy"]
        rows.append((precision, val[-1], max(val), done.seconds))
        print(f"  {precision:15s} val_accuracy per epoch {' '.join(f'{v:.3f}' for v in val)}  "
              f"({done.seconds:.0f} s, {done.seconds / len(val):.0f} s/epoch)", flush=True)
    print("\n| precision | final val acc | best val acc | train time |\n|---|---|---|---|")
    for precision, last, best, seconds in rows:
        print(f"| {precision} | {last:.3f} | {best:.3f} | {seconds:.0f} s |")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--configs", nargs="+", help=f"layout:precision:batch[:xla][:fit] (default: {' '.join(DEFAULT)})")
    ap.add_argument("--quick", action="store_true", help=f"only {' '.join(QUICK)}")
    ap.add_argument("--steps", type=int, default=None, help="steps per timing (default 1 flat, 5 frames)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=None,
                    help="untimed steps first, tracing / XLA compile included (default 1 flat, 2 frames)")
    ap.add_argument("--threads", type=int, default=0, help="TF intra-op threads (default: the cores; TF only)")
    ap.add_argument("--accuracy", type=int, metavar="EPOCHS", help="run the float32 vs bfloat16 accuracy check")
    ap.add_argument("--variants", type=int, nargs="+", help="--accuracy: training variants to keep (0 = original)")
    ap.add_argument("--precisions", nargs="+", default=["float32", "mixed_bfloat16"], help="--accuracy: precisions")
    args = ap.parse_args(argv)
    defaults = [c for c in (QUICK if args.quick else DEFAULT)
                if backend.name() == "tensorflow" or not set(c.split(":")[3:]) & set(TF_ONLY)]
    configs = [Config.parse(c) for c in (args.configs or defaults)]

    p = params_mod.load()
    threads = backend.configure(p.seed, args.threads or None)
    flags = backend.cpu_flags()
    bf16_flags = sorted(f for f in flags if "bf16" in f or f.startswith("amx"))
    print(f"date: {datetime.date.today()}  machine: {machine()}  {backend.describe()}"
          + (f"  TF threads: intra {threads}" if backend.name() == "tensorflow" else ""))
    print(f"cpu bf16/amx flags: {', '.join(bf16_flags) or 'none'}  avx512f: {'avx512f' in flags}  "
          f"-> train.precision auto = {backend.resolve_precision('auto', flags)} on {backend.name()}")
    if args.accuracy:
        accuracy(p, args.accuracy, args.variants, args.precisions)
        return
    print(f"median of {args.repeats} timings of {args.steps or '1 (flat) / 5 (frames)'} steps each, after "
          f"{args.warmup if args.warmup is not None else '1 (flat) / 2 (frames)'} warm-up steps; "
          f"'fit' rows: 4x the steps per epoch", flush=True)

    results: dict[Config, float] = {}
    for cfg in configs:
        steps = args.steps or (1 if cfg.layout == "flat" else 5)
        start = time.perf_counter()
        warmup = args.warmup if args.warmup is not None else (1 if cfg.layout == "flat" else 2)
        results[cfg] = measure(cfg, p, steps, args.repeats, warmup, p.seed)
        print(f"  {str(cfg):28s} {results[cfg]:9.1f} samples/s  ({time.perf_counter() - start:.0f} s)", flush=True)

    base = results.get(Config.parse(BASELINE))
    frames_base = results.get(Config.parse("frames:float32:64"))
    print()
    print(f"date {datetime.date.today()}, {machine()}, {backend.describe()}")
    print("| backend | layout | precision | batch | XLA | how | samples/s | vs flat f32 b64 | vs same layout f32 b64 |")
    print("|---|---|---|---|---|---|---|---|---|")
    for cfg, sps in results.items():
        same = results.get(Config(cfg.layout, "float32", 64))
        how = ("model.fit on arrays" if cfg.fit else "train step") + (", no determinism" if cfg.nodet else "")
        xla = "yes" if cfg.xla or backend.name() == "jax" else "no"     # JAX always compiles with XLA
        print(f"| {backend.name()} | {cfg.layout} | {cfg.precision} | {cfg.batch} | {xla} | "
              f"{how} | {sps:.1f} | "
              f"{f'{sps / base:.2f}x' if base else 'n/a'} | {f'{sps / same:.2f}x' if same else 'n/a'} |")
    if base and frames_base:
        print(f"\nframes / flat (float32, batch 64): {frames_base / base:.1f}x")
    flat_best = max((v for c, v in results.items() if c.layout == "flat" and not c.fit), default=None)
    if base and flat_best:
        print(f"best flat / flat float32 batch 64: {flat_best / base:.2f}x")


if __name__ == "__main__":
    main()
