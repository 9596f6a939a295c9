"""The answer a visitor gets, the same shape from the CLI, the HTTP API and the chat; what an answerer is given
to write it (AnswerRequest), and the interface every answerer fits (Answerer)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, replace
from typing import Protocol

import numpy as np


@dataclass
class Hit:
    """One retrieved document: its best chunk, a few more of its chunks, and the fused retrieval score."""

    chunk_id: str
    text: str
    metadata: dict
    score: float
    extra_texts: list[str] = field(default_factory=list)
    load_text: Callable[[], str] | None = field(default=None, repr=False, compare=False)
    _whole: str | None = field(default=None, repr=False, compare=False)

    def whole_text(self) -> str:
        """The whole document (what the answerer checks names against), read from the store on first use:
        most questions name nothing and never need it."""
        if self._whole is None:
            self._whole = self.load_text() if self.load_text else " ".join([self.text, *self.extra_texts])
        return self._whole

    @property
    def doc_id(self) -> str:
        return self.metadata.get("doc_id", "")

    @property
    def language(self) -> str:
        return self.metadata.get("language", "other")


@dataclass
class Source:
    n: int
    source: str
    title: str
    language: str
    snippet: str
    score: float
    doc_id: str = ""
    page: int | None = None
    section: str = ""
    url: str = ""  # where the answer is served over HTTP: its evidence in the viewer (then `source` is a file name)


@dataclass
class Answer:
    question: str
    answer: str
    language: str
    answered: bool
    sources: list[Source] = field(default_factory=list)  # only those the answer cites, numbered as cited
    also_retrieved: list[Source] = field(default_factory=list)  # found but not cited (n=0), shown apart if at all
    warnings: list[str] = field(default_factory=list)
    unsupported_numbers: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class AnswerRequest:
    question: str  # as the visitor asked it
    standalone: str  # condensed with the history, when an LLM did that; else the question
    language: str
    hits: list[Hit]
    query_vector: np.ndarray
    history: list[dict] = field(default_factory=list)
    term_weights: dict[str, float] = field(default_factory=dict)  # IDF of the question's terms


class Answerer(Protocol):
    def answer(self, request: AnswerRequest) -> Answer: ...

    def stream(self, request: AnswerRequest) -> Iterator[str | Answer]:
        """Text pieces as they come, then the final Answer."""
        ...


def sources_from_hits(hits: list[Hit], snippet_chars: int = 300) -> list[Source]:
    out = []
    for n, hit in enumerate(hits, start=1):
        meta = hit.metadata
        snippet = hit.text if len(hit.text) <= snippet_chars else hit.text[:snippet_chars].rstrip() + "…"
        out.append(
            Source(
                n=n, source=meta.get("source", ""), title=meta.get("title", ""), language=hit.language,
                snippet=snippet, score=round(float(hit.score), 4), doc_id=hit.doc_id,
                page=meta.get("page"), section=meta.get("section", ""),
            )
        )
    return out


def snippet_around(text: str, sentence: str, chars: int = 300) -> str:
    """A window of `text` that shows `sentence` (the quoted evidence), with ellipses where it was cut."""
    start = text.find(sentence)
    if start < 0 or len(text) <= chars:
        return text if len(text) <= chars else text[:chars].rstrip() + "…"
    begin = max(0, min(start - (chars - len(sentence)) // 2, len(text) - chars))
    window = text[begin : begin + max(chars, len(sentence))].strip()
    return ("…" if begin > 0 else "") + window + ("…" if begin + chars < len(text) else "")


def cite(sources: list[Source], cited: list[int]) -> tuple[list[Source], list[Source], dict[int, int]]:
    """Split retrieved sources into the ones an answer cites (renumbered 1.. in order of first citation) and the
    rest (n=0). Returns (cited, also_retrieved, old number -> new number) so the answer text can be renumbered."""
    renumber: dict[int, int] = {}
    for n in cited:
        if 1 <= n <= len(sources) and n not in renumber:
            renumber[n] = len(renumber) + 1
    used = [replace(sources[old - 1], n=new) for old, new in renumber.items()]
    rest = [replace(s, n=0) for i, s in enumerate(sources, start=1) if i not in renumber]
    return used, rest, renumber
