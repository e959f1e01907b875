"""The base class of every error the project reports to its user: :class:`EmoAugNetError`.

Each module keeps its own error class (``ParamsError``, ``SplitError``, ``StoreError``, ``BundleError``,
``LockError``, ``WriteError``, ``AudioError``, ...), derived from this one, so a stage
(:func:`emoaugnet.stage.run_stage`) catches one class and prints its message; anything else is a bug
and keeps its traceback.
"""

from __future__ import annotations


class EmoAugNetError(Exception):
    """An input or a set-up the project refuses; ``str()`` is the whole message for the user."""
