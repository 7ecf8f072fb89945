"""Telegram's rendering of a message for the web chat: plain text plus entities as safe HTML.

Everything is escaped; only the formatting Telegram shows becomes markup (bold, italics,
underline, strikethrough, code, spoilers, quotes and links with a web or tg: address). Line
breaks stay characters: the page shows them with `white-space: pre-wrap`."""

from __future__ import annotations

import html
import itertools
from collections.abc import Mapping, Sequence
from typing import Any

_TAGS = {
    "bold": ("<b>", "</b>"),
    "italic": ("<i>", "</i>"),
    "underline": ("<u>", "</u>"),
    "strikethrough": ("<s>", "</s>"),
    "code": ("<code>", "</code>"),
    "pre": ("<pre>", "</pre>"),
    "spoiler": ('<span class="spoiler">', "</span>"),
    "blockquote": ("<blockquote>", "</blockquote>"),
    "expandable_blockquote": ("<blockquote>", "</blockquote>"),
}
_SAFE_SCHEMES = ("http://", "https://", "tg://")


def _open_tag(entity: Mapping[str, Any]) -> tuple[str, str] | None:
    kind = entity.get("type")
    if kind == "text_link":
        url = str(entity.get("url") or "")
        if not url.lower().startswith(_SAFE_SCHEMES):
            return None
        href = html.escape(url, quote=True)
        return f'<a href="{href}" target="_blank" rel="noopener noreferrer">', "</a>"
    return _TAGS.get(str(kind))


def to_html(text: str | None, entities: Sequence[Mapping[str, Any]] | None) -> str:
    """Escaped `text` with its entities (offsets in UTF-16 code units) as HTML tags."""
    if not text:
        return ""
    units = text.encode("utf-16-le")
    total = len(units) // 2
    spans: list[tuple[int, int, tuple[str, str]]] = []
    for entity in entities or ():
        tag = _open_tag(entity)
        start = int(entity.get("offset", 0))
        end = min(start + int(entity.get("length", 0)), total)
        if tag is not None and 0 <= start < end:
            spans.append((start, end, tag))
    if not spans:
        return html.escape(text, quote=False)
    spans.sort(key=lambda s: (s[0], -s[1]))
    cuts = sorted({0, total, *(s[0] for s in spans), *(s[1] for s in spans)})
    out: list[str] = []
    stack: list[tuple[int, int, tuple[str, str]]] = []
    pending = iter(spans)
    upcoming = next(pending, None)
    for here, after in itertools.pairwise(cuts):
        # Close what ends here; reopen the inner ones that go on (entities may overlap).
        reopen: list[tuple[int, int, tuple[str, str]]] = []
        while stack and any(s[1] <= here for s in stack):
            top = stack.pop()
            out.append(top[2][1])
            if top[1] > here:
                reopen.append(top)
        for span in reversed(reopen):
            out.append(span[2][0])
            stack.append(span)
        while upcoming is not None and upcoming[0] == here:
            out.append(upcoming[2][0])
            stack.append(upcoming)
            upcoming = next(pending, None)
        piece = units[here * 2 : after * 2].decode("utf-16-le", errors="replace")
        out.append(html.escape(piece, quote=False))
    out.extend(span[2][1] for span in reversed(stack))
    return "".join(out)
