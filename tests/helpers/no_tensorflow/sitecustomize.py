"""Put this folder first on PYTHONPATH and TensorFlow is invisible to that interpreter, as if it were
not installed: ``import tensorflow`` raises ModuleNotFoundError and ``importlib.util.find_spec`` returns
None (tests/test_backends.py runs the pipeline under JAX this way).

``$NO_TENSORFLOW_ALSO`` (comma-separated top-level module names, e.g. ``keras,h5py``) hides those too: an
interpreter that looks like the core install, without the extras (tests/test_cli.py).

Every lookup is appended (the module name and the file that asked) to the file named by
``$NO_TENSORFLOW_LOG``, if set, so a test also sees lookups that some library made and ignored.
"""

import importlib
import os
import sys

_IMPORT_MACHINERY = os.path.dirname(importlib.__file__) + os.sep


_HIDDEN = {"tensorflow", *filter(None, os.environ.get("NO_TENSORFLOW_ALSO", "").split(","))}


def _is_hidden(name: str) -> bool:
    return name.split(".")[0] in _HIDDEN


def _log(name: str) -> None:
    log = os.environ.get("NO_TENSORFLOW_LOG")
    if not log:
        return
    frame, caller = sys._getframe(2), "?"
    while frame is not None:          # the first frame outside the import machinery
        filename = frame.f_code.co_filename
        if not filename.startswith("<frozen") and not filename.startswith(_IMPORT_MACHINERY):
            caller = f"{filename}:{frame.f_lineno}"
            break
        frame = frame.f_back
    with open(log, "a") as f:
        f.write(f"{name} from {caller}\n")


class _HideTensorFlow:
    """Wraps one finder of ``sys.meta_path``: never finds TensorFlow, finds everything else as before."""

    def __init__(self, finder, first: bool):
        self._finder, self._first = finder, first

    def find_spec(self, name, path=None, target=None):
        if _is_hidden(name):
            if self._first:
                _log(name)
            return None
        find = getattr(self._finder, "find_spec", None)
        return find(name, path, target) if find else None

    def __getattr__(self, attr):
        return getattr(self._finder, attr)


sys.meta_path[:] = [_HideTensorFlow(f, i == 0) for i, f in enumerate(sys.meta_path)]
