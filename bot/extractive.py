"""The offline answerer: the best 1-3 sentences of the retrieved chunks, quoted verbatim with [n] citations.

A sentence's score mixes dense similarity to the question, word overlap (same language), an answer-type cue
(a number for "how much", a date for "when", a name for "who") and the rank of its document. Below the
relevance threshold nothing is quoted: the answer says the documents don't cover the question.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from bot.answer import Answer, snippet_around, sources_from_hits
from bot.answerers import AnswerRequest
from bot.prompt_files import language_name, render
from bot.sentence_vectors import SentenceVectors
from bot.sentences import matches_type, question_type, split_sentences
from bot.tokens import tokenize
from settings import Settings
from store import NamedEmbeddings

W_OVERLAP, W_CUE, W_RANK = 0.30, 0.20, 0.06
_NEAR_BEST = 0.06
_SELECT_FACTOR = 0.6


@dataclass
class Candidate:
    sentence: str
    n: int  # citation number of its document
    language: str
    similarity: float
    overlap: float
    cue: bool
    chunk: str = ""  # the chunk it was cut from, shown as the source's snippet

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

    def candidates(self, request: AnswerRequest) -> list[Candidate]:
        qtype = question_type(request.standalone)
        weights = request.term_weights or {t: 1.0 for t in tokenize(request.standalone, request.language)}
        q_weight = sum(weights.values())
        rows: list[tuple[str, int, str, str]] = []
        seen: set[str] = set()
        for n, hit in enumerate(request.hits, start=1):
            title = hit.metadata.get("title", "")
            for text in [hit.text, *hit.extra_texts]:
                for sentence in split_sentences(text):
                    if sentence not in seen and sentence != title:
                        seen.add(sentence)
                        rows.append((sentence, n, hit.language, text))
        if not rows:
            return []
        query_vector = np.asarray(request.query_vector)
        if query_vector.shape[-1] != self.embedder.dimension:  # the index uses another embedder
            query_vector = self.embedder.embed_query_array(request.standalone)
        similarities = self.sentence_vectors([r[0] for r in rows]) @ query_vector
        out = []
        for (sentence, n, language, chunk), similarity in zip(rows, similarities):
            s_tokens = set(tokenize(sentence, language))
            overlap = sum(w for t, w in weights.items() if t in s_tokens) / q_weight if q_weight else 0.0
            cue = matches_type(sentence, qtype)
            out.append(Candidate(sentence, n, language, float(similarity), overlap, cue, chunk))
        return out

    def _relevant(self, candidate: Candidate, language: str, factor: float = 1.0) -> bool:
        """Cross-language similarities run lower for the same relevance, so they get their own threshold."""
        if candidate.language == language:
            return candidate.relevance >= factor * self.settings.answer_threshold
        return candidate.relevance >= factor * self.settings.answer_threshold_cross_language

    def answer(self, request: AnswerRequest) -> Answer:
        language = request.language
        sources = sources_from_hits(request.hits)
        candidates = self.candidates(request)
        if not any(self._relevant(c, language) for c in candidates):
            return Answer(request.question, render("not_covered", language).strip(), language, False, [])
        # Once the documents are known to cover the question, a cue-matching sentence may outrank the most
        # similar one, as long as it is itself on topic.
        on_topic = (c for c in candidates if self._relevant(c, language, _SELECT_FACTOR))
        ranked = sorted(on_topic, key=lambda c: -c.score())
        best = ranked[0]
        chosen = [best]
        for candidate in ranked[1:]:
            if len(chosen) >= self.settings.max_answer_sentences:
                break
            if candidate.score() >= best.score() - _NEAR_BEST:
                chosen.append(candidate)
        evidence = "\n".join(f"“{c.sentence}” [{c.n}]" for c in chosen)
        foreign = sorted({c.language for c in chosen if c.language != language})
        note = ""
        if foreign:
            note = render("source_note", language, languages=", ".join(language_name(x, language) for x in foreign))
        text = render("extractive", language, evidence=evidence, note=note).strip()
        for candidate in reversed(chosen):  # the best quote of each source decides its snippet
            source = sources[candidate.n - 1]
            source.snippet = snippet_around(candidate.chunk, candidate.sentence, len(source.snippet) or 300)
        return Answer(request.question, text, language, True, sources)

    def stream(self, request: AnswerRequest) -> Iterator[str | Answer]:
        answer = self.answer(request)
        yield from re.findall(r"\S+\s*|\s+", answer.answer)
        yield answer

    def condense(self, question: str, history: list[dict], language: str) -> str:
        return question  # condensing needs a generative model
