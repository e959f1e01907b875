"""``GET /card``: the served model's card as a page, made by the service itself (no network, no CDN).

The text is :func:`emoaugnet.release.card.render`'s (the same as MODEL_CARD.md and ``emoaugnet info``), turned
into HTML here for the few constructs it uses: ``#`` headings, paragraphs, ``-`` lists, ``|`` tables,
fenced and indented code, `` `code` `` and ``**bold**``. Everything is escaped first. A model without a
card gets a page that says so.
"""

from __future__ import annotations

import html
import re
from typing import Any, Mapping

from emoaugnet.release import card as card_mod

STYLE = ("body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}"
         "table{border-collapse:collapse;font-size:.9rem}td,th{border:1px solid #ccc;padding:.3rem .5rem;"
         "vertical-align:top}pre{background:#f3f3f3;padding:.6rem;overflow:auto;font-size:.8rem}")


def _inline(text: str) -> str:
    text = html.escape(text)
    text = re.sub(r"`([^`]+)`", r"<code>\1</code>", text)
    return re.sub(r"\*\*([^*]+)\*\*", r"<strong>\1</strong>", text)


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def to_html(markdown: str) -> str:
    """The HTML body of the card's markdown (see the module doc)."""
    out: list[str] = []
    lines = markdown.split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("```"):
            end = next((j for j in range(i + 1, len(lines)) if lines[j].startswith("```")), len(lines))
            out.append("<pre>" + html.escape("\n".join(lines[i + 1:end])) + "</pre>")
            i = end + 1
        elif line.startswith("    "):
            end = next((j for j in range(i, len(lines)) if not lines[j].startswith("    ")), len(lines))
            out.append("<pre>" + html.escape("\n".join(x[4:] for x in lines[i:end])) + "</pre>")
            i = end
        elif line.startswith("#"):
            level = min(len(line) - len(line.lstrip("#")), 6)
            out.append(f"<h{level}>{_inline(line[level:].strip())}</h{level}>")
            i += 1
        elif line.startswith("|"):
            end = next((j for j in range(i, len(lines)) if not lines[j].startswith("|")), len(lines))
            rows = [r for r in lines[i:end] if not set(r) <= set("|-: ")]
            head, body = _cells(rows[0]), rows[1:]
            out.append("<table><tr>" + "".join(f"<th>{_inline(c)}</th>" for c in head) + "</tr>"
                       + "".join("<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in _cells(r)) + "</tr>"
                                 for r in body) + "</table>")
            i = end
        elif line.startswith("- "):
            end = next((j for j in range(i, len(lines)) if not lines[j].startswith("- ")), len(lines))
            out.append("<ul>" + "".join(f"<li>{_inline(x[2:])}</li>" for x in lines[i:end]) + "</ul>")
            i = end
        elif line.strip():
            end = next((j for j in range(i, len(lines)) if not lines[j].strip()
                        or lines[j][0] in "#|`" or lines[j].startswith(("- ", "    "))), len(lines))
            out.append("<p>" + _inline(" ".join(lines[i:end])) + "</p>")
            i = max(end, i + 1)
        else:
            i += 1
    return "\n".join(out)


def page(card: Mapping[str, Any] | None, model_name: str) -> str:
    """The whole ``/card`` page for ``card`` (``None``: the model has no card)."""
    if card is None:
        title, body = (f"{model_name}: no model card",
                       f"<h1>{html.escape(model_name)}: no model card</h1><p>"
                       + _inline(card_mod.summary_line(None)) + " `emoaugnet release` writes a card beside the "
                       "model it releases (docs/release.md).</p>")
    else:
        title, body = f"Model card: {card.get('name', model_name)}", to_html(card_mod.render(card))
    return (f"<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{html.escape(title)}</title>"
            f"<style>{STYLE}</style></head><body><p><a href=\"/\">&larr; back to the page</a></p>\n{body}\n"
            "</body></html>")
