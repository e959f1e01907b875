"""Write files so that nothing half-written is ever visible under its final name."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Iterator

from emoaugnet.errors import EmoAugNetError


class WriteError(EmoAugNetError, OSError):
    """A write that failed (disk full, quota, I/O error): ``str()`` names the final path and the error.

    Nothing was left under that name (its previous content, if any, is kept) and the temporary file is
    gone. Built from one message string, so it survives the trip from a pool worker to the parent.
    """


def describe(exc: OSError) -> str:
    """``No space left on device (errno 28)``; libraries (h5py) bury the system's words in longer text."""
    if exc.errno:
        return f"{os.strerror(exc.errno)} (errno {exc.errno})"
    return str(exc) or type(exc).__name__


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success fsync it and rename it over ``path``.

    On any error (or a kill before the rename) the final name keeps its previous content, and the
    temporary file is removed (a SIGKILL can leave a ``.tmp-*`` file behind, never a partial final file).
    The file gets the permissions a plain ``open()`` would give it (``mkstemp`` makes it owner-only).
    An ``OSError`` on the way (ENOSPC mid-write, say) comes out as :class:`WriteError` naming ``path``.
    """
    path = Path(path)
    tmp: Path | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".tmp-{path.name}.", dir=path.parent)
        os.close(fd)
        tmp = Path(tmp_name)
        yield tmp
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except WriteError:
        raise
    except OSError as exc:
        raise WriteError(f"{path}: cannot write: {describe(exc)}; nothing was left under that name") from None
    finally:
        if tmp is not None:
            tmp.unlink(missing_ok=True)


def _umask() -> int:
    mask = os.umask(0o022)       # reading the umask means setting it; put it straight back
    os.umask(mask)
    return mask


def write_text(path: str | Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text)
