"""The offline answerer: the sentences of the best document that carry the answer, quoted verbatim with [n]
citations, or an honest refusal.

Whether to answer is decided by retrieval: the best document's score (a z-score against the background of its
language, plus the lexical bonus) must reach a threshold calibrated per language pair on the dev split of
`benchmarks.mixed`. Then a sentence's score mixes its similarity to the question, word overlap (same language),
an answer-type cue (a number for "how much", a date for "when", a name for "who") and its document's rank; a
question that asks for a list also gets the enumeration that follows the best sentence.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from bot.answer import Answer, Hit, cite, snippet_around, sources_from_hits
from bot.answerers import AnswerRequest
from bot.follow_up import follow_up_query
from bot.prompt_files import language_name, render
from bot.sentence_vectors import SentenceVectors
from bot.sentences import asks_for_list, continues_list, matches_type, question_type, split_sentences
from bot.tokens import tokenize
from settings import Settings
from store import NamedEmbeddings

W_OVERLAP, W_CUE, W_RANK = 0.30, 0.20, 0.06
_NEAR_BEST = 0.06
_CLOSE_DOCUMENT = 0.3  # a second document is quoted only when it scores nearly as well as the best
_MAX_LIST_CHARS = 900


@dataclass
class Candidate:
    sentence: str
    n: int  # citation number of its document
    language: str
    similarity: float
    overlap: float
    cue: bool
    chunk: str = ""  # the chunk it was cut from, shown as the source's snippet
    position: int = 0  # order in its chunk

    @property
    def relevance(self) -> float:
        return self.similarity + W_OVERLAP * self.overlap

    def score(self) -> float:
        return self.relevance + W_CUE * self.cue + W_RANK / self.n


class ExtractiveAnswerer:
    def __init__(self, settings: Settings, embedder: NamedEmbeddings) -> None:
        self.settings = settings
        self.embedder = embedder
        self.sentence_vectors = SentenceVectors(embedder, settings.sentence_cache_size)

    def supported(self, hit: Hit, request: AnswerRequest) -> bool:
        """The calibrated refusal: is this document's retrieval score high enough to answer from it?"""
        by_document = self.settings.refusal_threshold.get(request.language) or {}
        threshold = by_document.get(hit.language, max(by_document.values(), default=0.0))
        return hit.score >= threshold

    def evidence_documents(self, request: AnswerRequest) -> list[tuple[int, Hit]]:
        """(citation number, hit) of the documents to quote: the best, and one more only when it is as good."""
        hits = request.hits
        if not hits or not self.supported(hits[0], request):
            return []
        close = [(n, h) for n, h in enumerate(hits[1:2], start=2)
                 if h.score >= hits[0].score - _CLOSE_DOCUMENT and self.supported(h, request)]
        return [(1, hits[0]), *close]

    def candidates(self, request: AnswerRequest, documents: list[tuple[int, Hit]]) -> list[Candidate]:
        qtype = question_type(request.question) or question_type(request.standalone)
        weights = request.term_weights or {t: 1.0 for t in tokenize(request.standalone, request.language)}
        q_weight = sum(weights.values())
        rows: list[tuple[str, int, str, str, int]] = []
        seen: set[str] = set()
        for n, hit in documents:
            title = hit.metadata.get("title", "")
            for text in [hit.text, *hit.extra_texts]:
                for position, sentence in enumerate(split_sentences(text)):
                    if sentence not in seen and sentence != title:
                        seen.add(sentence)
                        rows.append((sentence, n, hit.language, text, position))
        if not rows:
            return []
        similarities = self.sentence_vectors([r[0] for r in rows]) @ self._question_vector(request)
        out = []
        for (sentence, n, language, chunk, position), similarity in zip(rows, similarities):
            s_tokens = set(tokenize(sentence, language))
            overlap = sum(w for t, w in weights.items() if t in s_tokens) / q_weight if q_weight else 0.0
            cue = matches_type(sentence, qtype)
            out.append(Candidate(sentence, n, language, float(similarity), overlap, cue, chunk, position))
        return out

    def _question_vector(self, request: AnswerRequest) -> np.ndarray:
        """A follow-up is scored against what it asks now and against the conversation it continues."""
        vector = self.embedder.embed_query_array(request.standalone)
        if request.standalone != request.question:
            vector = (vector + self.embedder.embed_query_array(request.question)) / 2
        return vector

    def answer(self, request: AnswerRequest) -> Answer:
        language = request.language
        documents = self.evidence_documents(request)
        candidates = self.candidates(request, documents) if documents else []
        ranked = sorted((c for c in candidates if c.relevance >= self.settings.answer_threshold),
                        key=lambda c: -c.score())
        if not ranked:
            return self.refusal(request)
        chosen = self._choose(ranked, candidates, asks_for_list(request.question))
        evidence = "\n".join(f"“{c.sentence}” [{c.n}]" for c in chosen)
        foreign = sorted({c.language for c in chosen if c.language != language})
        note = ""
        if foreign:
            note = render("source_note", language, languages=", ".join(language_name(x, language) for x in foreign))
        retrieved = sources_from_hits(request.hits)
        for candidate in reversed(chosen):  # the best quote of each source decides its snippet
            source = retrieved[candidate.n - 1]
            source.snippet = snippet_around(candidate.chunk, candidate.sentence, len(source.snippet) or 300)
        sources, also, renumber = cite(retrieved, [c.n for c in chosen])
        evidence = re.sub(r"\[(\d+)\]$", lambda m: f"[{renumber[int(m.group(1))]}]", evidence, flags=re.MULTILINE)
        text = render("extractive", language, evidence=evidence, note=note).strip()
        return Answer(request.question, text, language, True, sources, also)

    def refusal(self, request: AnswerRequest) -> Answer:
        also = cite(sources_from_hits(request.hits), [])[1]
        return Answer(request.question, render("not_covered", request.language).strip(), request.language, False,
                      [], also)

    def _choose(self, ranked: list[Candidate], everything: list[Candidate], wants_list: bool) -> list[Candidate]:
        best = ranked[0]
        if wants_list:
            items = self._enumeration_after(best, everything)
            if items:
                return [best, *items]
        chosen = [best]
        for candidate in ranked[1:]:
            if len(chosen) >= self.settings.max_answer_sentences:
                break
            if candidate.score() >= best.score() - _NEAR_BEST:
                chosen.append(candidate)
        return chosen

    @staticmethod
    def _enumeration_after(best: Candidate, everything: list[Candidate]) -> list[Candidate]:
        """The items of a list that `best` opens or belongs to ("First, … Second, …"), in reading order."""
        following = sorted((c for c in everything if c.chunk == best.chunk and c.position > best.position),
                           key=lambda c: c.position)
        items, length = [], len(best.sentence)
        for candidate in following:
            if not continues_list(candidate.sentence):
                continue
            length += len(candidate.sentence)
            if length > _MAX_LIST_CHARS:
                break
            items.append(candidate)
        return items

    def stream(self, request: AnswerRequest) -> Iterator[str | Answer]:
        answer = self.answer(request)
        yield from re.findall(r"\S+\s*|\s+", answer.answer)
        yield answer

    def condense(self, question: str, history: list[dict], language: str) -> str:
        return follow_up_query(question, history, language)
