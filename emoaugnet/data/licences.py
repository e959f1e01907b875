"""The corpora's licences, and what they allow a released model (one owner: `emoaugnet release` and the card).

The licences are those of docs/data.md. A model's weights are a work derived from the recordings it was
trained on, so :func:`check_releasable` refuses a model trained on a corpus whose licence forbids derived
works (TESS: CC BY-NC-ND 4.0), and :func:`weights_licence` gives the weights the terms of the corpora they
were derived from (RAVDESS is CC BY-NC-SA 4.0: ShareAlike, so the weights are shared under the same terms).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable


@dataclass(frozen=True)
class Licence:
    name: str                 # as the corpus's publisher states it
    derived_works: str        # "allowed", "forbidden", or "by agreement" (a licence agreement decides)
    language: str             # the language spoken
    url: str | None = None


LICENCES: dict[str, Licence] = {
    "ravdess": Licence("CC BY-NC-SA 4.0", "allowed", "English (North American)",
                       "https://creativecommons.org/licenses/by-nc-sa/4.0/"),
    "tess": Licence("CC BY-NC-ND 4.0", "forbidden", "English (Canadian)",
                    "https://creativecommons.org/licenses/by-nc-nd/4.0/"),
    "emodb": Licence("free for research use", "allowed", "German"),
    "cremad": Licence("ODbL 1.0 (Database Contents License)", "allowed", "English (North American)",
                      "https://opendatacommons.org/licenses/odbl/1-0/"),
    "iemocap": Licence("USC SAIL licence agreement (never redistributed)", "by agreement", "English (North American)"),
    "savee": Licence("by agreement with the University of Surrey", "by agreement", "English (British)"),
}


class LicenceError(ValueError):
    """A model whose training corpora's licences forbid releasing it."""


def licence(corpus: str) -> Licence:
    if corpus not in LICENCES:
        raise LicenceError(f"corpus {corpus!r}: no licence recorded in emoaugnet/data/licences.py; add it there "
                           "(from the corpus's publisher) before releasing a model trained on it")
    return LICENCES[corpus]


def check_releasable(corpora: Iterable[str]) -> None:
    """Refuse corpora whose licence forbids derived works (the weights are one)."""
    forbidden = [c for c in corpora if licence(c).derived_works == "forbidden"]
    if forbidden:
        names = ", ".join(f"{c} ({licence(c).name})" for c in forbidden)
        raise LicenceError(f"the model was trained on {names}, whose licence forbids derived works such as "
                           f"these weights; train without it (run.corpora) before releasing")


def weights_licence(corpora: Iterable[str]) -> str:
    """The terms the weights are shared under: ShareAlike (RAVDESS) passes its licence on; the others'
    terms apply besides."""
    corpora = list(corpora)
    terms = [licence(c).name for c in corpora if c != "ravdess"]
    head = "CC BY-NC-SA 4.0 (ShareAlike, from RAVDESS)" if "ravdess" in corpora else None
    rest = "; ".join(f"{c}: {licence(c).name}" for c in corpora if c != "ravdess")
    if head and terms:
        return f"{head}; also subject to the terms of {rest}"
    return head or f"subject to the terms of {rest}"
