"""Which Keras backend and device run the network, and the precision to train in.

Keras 3 runs the same model on TensorFlow (the project's default), JAX or PyTorch: set ``KERAS_BACKEND``.
Nothing here imports a backend library unless Keras is running on it, so under ``KERAS_BACKEND=jax``
TensorFlow need not be installed; Keras itself is imported only by the functions that need it, so the
CPU helpers serve the ONNX path of predict too. :func:`describe` is the line train and predict print first.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import platform
import re
import sys
import tempfile
from pathlib import Path
from typing import Iterator

# TensorFlow's C++ log below FATAL is not the user's problem here: tf.data prints "E0000 ... NodeDef mentions
# attribute use_unbounded_threadpool" error lines during every fit (TF 2.21); real failures raise in Python.
# Set before any module imports TensorFlow (the stages, emoaugnet.model.network and emoaugnet.training import
# this module first); a user's own value wins.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

#: What TensorFlow 2.21 prints on stderr while it is imported whatever TF_CPP_MIN_LOG_LEVEL says (absl's log,
#: written before absl is initialised): its oneDNN notice, twice, and absl's line about that. Turning oneDNN
#: off (TF_ENABLE_ONEDNN_OPTS=0) would silence it too, but changes the computation (other kernels, other
#: round-off), so the first import of TensorFlow runs with these lines taken out of its stderr instead.
TENSORFLOW_NOTICES = re.compile(r"oneDNN custom operations are on|"
                                r"All log messages before absl::InitializeLog\(\) is called are written to STDERR")


@contextlib.contextmanager
def stderr_without(pattern: re.Pattern[str]) -> Iterator[None]:
    """Run the block with the process's stderr (file descriptor 2, what C++ libraries write to) going to a
    temp file, then write what it got to stderr, less the lines ``pattern`` matches (in order; nothing lost
    when the block raises)."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with tempfile.TemporaryFile() as held:
            os.dup2(held.fileno(), 2)
            try:
                yield
            finally:
                sys.stderr.flush()
                os.dup2(saved, 2)
                held.seek(0)
                text = held.read().decode(errors="replace")
                kept = "".join(line for line in text.splitlines(keepends=True) if not pattern.search(line))
                if kept:
                    os.write(2, kept.encode())
    finally:
        os.close(saved)


class _QuietTensorFlowImport:
    """A finder first on ``sys.meta_path``: TensorFlow's first import (by Keras, usually) runs its
    ``__init__`` under :func:`stderr_without` (:data:`TENSORFLOW_NOTICES`); nothing else changes (the module,
    its spec and loader are TensorFlow's own). It steps aside under another Keras backend (TensorFlow is not
    imported there) and with ``TF_CPP_MIN_LOG_LEVEL=0`` (TensorFlow's full log, asked for)."""

    def __init__(self) -> None:
        self.done = False          # TensorFlow has been imported (it stays in the list: removing a finder
        self.searching = False     # while the import system walks the list would skip the next one)

    def find_spec(self, name: str, path=None, target=None):
        if name != "tensorflow" or self.done or self.searching:
            return None
        if os.environ.get("TF_CPP_MIN_LOG_LEVEL", "0").strip() in ("", "0") \
                or os.environ.get("KERAS_BACKEND", "tensorflow") != "tensorflow":
            return None
        self.searching = True
        try:
            spec = importlib.util.find_spec(name)      # the finders after this one; None: not installed
        finally:
            self.searching = False
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        spec.loader = _QuietLoader(spec.loader, self)
        return spec


class _QuietLoader:
    """TensorFlow's loader, executing its module under :func:`stderr_without`, then put back on the module."""

    def __init__(self, loader, finder: _QuietTensorFlowImport) -> None:
        self.loader, self.finder = loader, finder

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module) -> None:
        self.finder.done = True
        try:
            with stderr_without(TENSORFLOW_NOTICES):
                self.loader.exec_module(module)
        finally:
            module.__loader__ = module.__spec__.loader = self.loader

    def __getattr__(self, attribute: str):
        return getattr(self.loader, attribute)


if "tensorflow" not in sys.modules and not any(isinstance(f, _QuietTensorFlowImport) for f in sys.meta_path):
    sys.meta_path.insert(0, _QuietTensorFlowImport())

BF16_CPU_FLAGS = ("amx_bf16", "avx512_bf16")


def name() -> str:
    import keras
    return keras.backend.backend()


def gpus() -> list[str]:
    """The GPUs the running backend sees (empty on a CPU-only machine)."""
    backend = name()
    if backend == "tensorflow":
        from emoaugnet.model import tensorflow_settings
        return tensorflow_settings.gpus()
    if backend == "jax":
        import jax
        return [str(d) for d in jax.devices() if d.platform == "gpu"]
    if backend == "torch":
        import torch
        return [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    return []


def cpu_flags(cpuinfo: str | Path = "/proc/cpuinfo") -> set[str]:
    """The CPU feature flags listed in ``/proc/cpuinfo`` (empty where there is no such file)."""
    try:
        text = Path(cpuinfo).read_text()
    except OSError:
        return set()
    flags: set[str] = set()
    for line in text.splitlines():
        if line.startswith("flags") and ":" in line:
            flags.update(line.split(":", 1)[1].split())
    return flags


def cpu_model(cpuinfo: str | Path = "/proc/cpuinfo") -> str:
    """The CPU's model name from ``/proc/cpuinfo``, else what :mod:`platform` knows of it."""
    try:
        for line in Path(cpuinfo).read_text().splitlines():
            if line.startswith("model name") and ":" in line:
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def resolve_precision(setting: str, flags: set[str] | None = None, gpu: bool | None = None,
                      backend: str | None = None) -> str:
    """``auto`` -> the fastest precision every layer supports here, else the setting itself.

    ``mixed_bfloat16`` on a GPU, or on a CPU with AMX / AVX-512 BF16, except under JAX: its cuDNN LSTM
    refuses bfloat16 on a GPU ("Unknown output type bfloat16"), and on a CPU with AVX-512 BF16 its
    bfloat16 step was slower than float32 (bench/bench_train.py: 8.2 vs 12.7 samples/s, frames layout).
    """
    if setting != "auto":
        return setting
    backend = name() if backend is None else backend
    if backend == "jax":
        return "float32"
    gpu = bool(gpus()) if gpu is None else gpu
    if gpu:
        return "mixed_bfloat16"
    flags = cpu_flags() if flags is None else flags
    return "mixed_bfloat16" if any(f in flags for f in BF16_CPU_FLAGS) else "float32"


def threads_available() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def configure(seed: int, threads: int | None = None, deterministic: bool = True) -> int:
    """Seed every generator; under TensorFlow also size its thread pools and ask for deterministic ops."""
    threads = threads or threads_available()
    if name() == "tensorflow":
        from emoaugnet.model import tensorflow_settings
        tensorflow_settings.apply(threads, deterministic)
    import keras
    keras.utils.set_random_seed(seed)
    return threads


def describe(precision: str | None = None) -> str:
    """``backend jax, device GPU (cuda:0), precision float32`` or ``..., device CPU (AMD EPYC), ...``."""
    found = gpus()
    device = f"GPU ({', '.join(found)})" if found else f"CPU ({cpu_model()})"
    import keras
    return f"backend {name()} (Keras {keras.__version__}), device {device}" + \
        (f", precision {precision}" if precision else "")
