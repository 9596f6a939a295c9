"""Citation markers of an answer ([n], [1, 2], 【n】): finding them, the passages quoted before them, and
renumbering them to the numbers of the sources the answer actually cites (bot.answer.cite), in a whole text or in
streamed pieces."""

from __future__ import annotations

import re

CITATION = re.compile(r"[\[【［]\s*(\d{1,3}(?:\s*[,，、;]\s*\d{1,3})*)\s*[\]】］]")
_SEPARATOR = re.compile(r"[,，、;]")
# What a streamed text may end with while a citation is still being written: "[", "[1", "[1, ", "[12 "...
_OPEN_CITATION = re.compile(r"[\[【［]\s*(?:\d{1,3}(?:\s*[,，、;]\s*\d{0,3})*\s*)?$")
_NUMBER = re.compile(r"\d+")
# “a quoted passage” [n], as the extractive answers write them; "...", 「...」 and 『...』 too.
_QUOTE_THEN_CITATION = re.compile(r'(?:“([^”\n]+)”|"([^"\n]+)"|「([^」\n]+)」|『([^』\n]+)』)\s*' + CITATION.pattern)


def cited_numbers(answer: str, n_sources: int | None = None) -> list[int]:
    """The citation numbers [n] / [1, 2] / 【n】 of an answer, in order of first use (valid ones when n_sources)."""
    out: list[int] = []
    for match in CITATION.finditer(answer):
        for part in _SEPARATOR.split(match.group(1)):
            n = int(part.strip())
            if n not in out and (n_sources is None or 1 <= n <= n_sources):
                out.append(n)
    return out


def quoted_passages(answer: str, n: int) -> list[str]:
    """The passages an answer quotes from source n: each quotation followed at once by a citation naming n."""
    out: list[str] = []
    for match in _QUOTE_THEN_CITATION.finditer(answer):
        quote = next(part for part in match.groups()[:4] if part is not None).strip()
        numbers = {int(part) for part in _SEPARATOR.split(match.group(5))}
        if n in numbers and quote and quote not in out:
            out.append(quote)
    return out


def renumber_citations(text: str, renumber: dict[int, int]) -> str:
    """Every cited number that `renumber` knows replaced by its new number; brackets and separators are kept,
    numbers it does not know (citations of no given source) are left as written."""

    def one_marker(match: re.Match) -> str:
        return _NUMBER.sub(lambda m: str(renumber.get(int(m.group(0)), m.group(0))), match.group(0))

    return CITATION.sub(one_marker, text)


class CitationRenumberer:
    """Renumbers citations while an answer streams. Sources are renumbered in order of first citation
    (as bot.answer.cite does), so each number's new value is known the moment it is first cited; text that
    may be the start of a citation is held back until it is complete."""

    def __init__(self, n_sources: int) -> None:
        self.n_sources = n_sources
        self.renumber: dict[int, int] = {}
        self.buffer = ""

    def feed(self, piece: str) -> str:
        self.buffer += piece
        held = _OPEN_CITATION.search(self.buffer)
        cut = held.start() if held else len(self.buffer)
        out, self.buffer = self.buffer[:cut], self.buffer[cut:]
        return self._renumber(out)

    def flush(self) -> str:
        out, self.buffer = self.buffer, ""
        return self._renumber(out)

    def _renumber(self, text: str) -> str:
        for n in cited_numbers(text, self.n_sources):
            self.renumber.setdefault(n, len(self.renumber) + 1)
        return renumber_citations(text, self.renumber)
