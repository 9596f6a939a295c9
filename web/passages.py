"""A stored document as the viewer shows it: its chunks joined back into passages (one per section or PDF page,
the overlaps between neighbouring chunks removed), and where quoted sentences lie in them."""

from __future__ import annotations

import re
from dataclasses import dataclass

from store import Chunk

# Neighbouring chunks share up to the splitter's overlap (120 Latin-equivalent characters by default). A shorter
# common stretch than _MIN_OVERLAP is taken for chance, not overlap; a longer one than _MAX_OVERLAP is not looked for.
_MIN_OVERLAP = 8
_MAX_OVERLAP = 2000


@dataclass
class Passage:
    heading: str
    page: int | None
    text: str


def join_overlapping(before: str, after: str) -> str:
    """`before` then `after`, the longest end of `before` that `after` starts with written once; two chunks that
    do not overlap were split at a paragraph break."""
    for size in range(min(len(before), len(after), _MAX_OVERLAP), _MIN_OVERLAP - 1, -1):
        if before.endswith(after[:size]):
            return before + after[size:]
    return f"{before}\n\n{after}"


def readable_passages(chunks: list[Chunk]) -> list[Passage]:
    """Chunks in their stored order, joined while they share a section heading and page."""
    out: list[Passage] = []
    for chunk in chunks:
        heading, page = chunk.metadata.get("section") or "", chunk.metadata.get("page")
        if out and (out[-1].heading, out[-1].page) == (heading, page):
            out[-1].text = join_overlapping(out[-1].text, chunk.text)
        else:
            out.append(Passage(heading, page, chunk.text))
    return out


def _quote_pattern(quote: str) -> re.Pattern | None:
    words = quote.split()
    return re.compile(r"\s+".join(re.escape(word) for word in words)) if words else None


def quote_spans(passages: list[Passage], quotes: list[str]) -> list[list[tuple[int, int]]]:
    """Per passage, the (start, end) spans to mark: each quote where it first appears in the document (the spaces
    and line breaks between its words may differ), sorted, overlapping spans merged."""
    patterns = [p for p in map(_quote_pattern, quotes) if p is not None]
    out = []
    for passage in passages:
        found, left = [], []
        for pattern in patterns:
            match = pattern.search(passage.text)
            if match:
                found.append((match.start(), match.end()))
            else:
                left.append(pattern)
        patterns = left
        merged: list[tuple[int, int]] = []
        for start, end in sorted(found):
            if merged and start <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
            else:
                merged.append((start, end))
        out.append(merged)
    return out
