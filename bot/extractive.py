"""The offline answerer: the sentences of the best document that carry the answer, quoted verbatim with [n]
citations, or an honest refusal.

Whether to answer is decided by retrieval: the best document's score (a z-score against the background of its
language, plus the lexical bonus) and its lead over the next document must together reach a threshold
calibrated per language pair on the dev split of `benchmarks.mixed`. Then a sentence's score mixes its
similarity to the question, word overlap (same language), an answer-type cue (a number for "how much", a date
for "when", a name for "who") and its document's rank; a question that asks for a list also gets the
enumeration that follows the best sentence.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from bot.answer import Answer, AnswerRequest, Hit, cite, snippet_around, sources_from_hits
from bot.entities import missing, names_anything
from bot.follow_up import previous_quotes
from bot.prompt_files import language_name, render
from bot.sentence_vectors import SentenceVectors
from bot.sentences import asks_for_list, list_item_rank, matches_type, question_type, split_sentences
from settings import Settings
from store import NamedEmbeddings
from textkit.tokens import tokenize

W_OVERLAP, W_CUE, W_RANK = 0.30, 0.20, 0.06
_NEAR_BEST = 0.06
_CLOSE_DOCUMENT = 0.3  # a second document is quoted only when it scores nearly as well as the best
_MAX_LIST_CHARS = 900
_CONVERSATION = 0.3  # share of the previous question in a follow-up's sentence scores
# A sentence in the question's language that holds every one of at least this many of its terms, and the kind of
# answer it asks for, answers it even from a document scored below its threshold. On the dev split of
# benchmarks.mixed no left-out question's document had a sentence holding more than 60% of its terms.
_WHOLE_QUESTION_TERMS = 3


def lead_over(hit: Hit, competitors: list[Hit]) -> float:
    """How far `hit` scores above the best of the other documents (0 when it has none)."""
    others = [h.score for h in competitors if h is not hit]
    return hit.score - max(others) if others else 0.0


def _question_terms(request: AnswerRequest) -> dict[str, float]:
    """The question's terms and their IDF weights; alike before the lexical index is built."""
    return request.term_weights or dict.fromkeys(tokenize(request.question, request.language), 1.0)


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

    @property
    def evidence(self) -> float:
        """How well the sentence itself answers: its relevance and the answer-type cue."""
        return self.relevance + W_CUE * self.cue

    def score(self) -> float:
        return self.evidence + W_RANK / self.n


class ExtractiveAnswerer:
    def __init__(self, settings: Settings, embedder: NamedEmbeddings) -> None:
        self.settings = settings
        self.embedder = embedder
        self.sentence_vectors = SentenceVectors(embedder, settings.sentence_cache_size)

    def support(self, hit: Hit, competitors: list[Hit]) -> float:
        """How clearly `hit` answers: its retrieval score plus a share of its lead over the best of the other
        documents. Text that merely resembles the question tends to resemble several documents alike, while the
        document that answers stands out from the rest."""
        return hit.score + self.settings.refusal_margin_weight * lead_over(hit, competitors)

    def supported(self, hit: Hit, request: AnswerRequest, slack: float = 0.0) -> bool:
        """The calibrated refusal: does this document stand out enough among those retrieved to answer from
        it, and does it mention the figures and names the question asks about?"""
        return self._margin(hit, request) >= -slack

    def _margin(self, hit: Hit, request: AnswerRequest) -> float:
        """How far the document's support is above its pair's threshold; -inf when it lacks the question's
        figures or names."""
        if names_anything(request.question) and missing(request.question, hit.whole_text(), hit.language,
                                                        names=hit.language == request.language):
            return float("-inf")
        thresholds = self.settings.refusal_threshold
        largest = max((t for row in thresholds.values() for t in row.values()), default=0.0)
        threshold = thresholds.get(request.language, {}).get(hit.language, largest)
        return self.support(hit, request.hits) - threshold

    def _clearly_supported(self, ranked: list[Candidate], request: AnswerRequest) -> bool:
        """Supported, and either well above the threshold or holding a sentence on the question: a document on
        the question's subject that lacks the answer ("the forum's budget" in the forum's report) comes near the
        threshold too, but none of its sentences is about what was asked."""
        margin = self._margin(request.hits[0], request)
        return margin >= 0 and (margin >= self.settings.refusal_clear_margin
                                or max(c.evidence for c in ranked) >= self.settings.evidence_relevance)

    def _says_it(self, ranked: list[Candidate], request: AnswerRequest) -> bool:
        """A document scored just below its threshold still answers when one of its sentences is very close to
        the question: short, general questions ("Who gave the opening speech?") stand out less in retrieval."""
        return max(c.similarity for c in ranked) >= self.settings.sentence_support

    @staticmethod
    def _holds_the_question(ranked: list[Candidate], request: AnswerRequest) -> bool:
        """One sentence says it in the question's own words: "The opening remarks were delivered by Wu Xueming"
        for "Who delivered the opening remarks?", which stands out little in retrieval (a short question, a long
        document about much else)."""
        return len(_question_terms(request)) >= _WHOLE_QUESTION_TERMS and any(
            c.language == request.language and c.cue and c.overlap >= 1.0 - 1e-9 for c in ranked)

    def _continues(self, hit: Hit, request: AnswerRequest) -> bool:
        """Is this follow-up about a document the previous answer quoted? Then the conversation has already
        established that it covers the subject ("¿Qué dijo sobre la Franja y la Ruta?" after his name)."""
        if request.standalone == request.question:
            return False
        quotes = previous_quotes(request.history)
        return (bool(quotes) and any(q in hit.whole_text() for q in quotes)
                and self.supported(hit, request, slack=float("inf")))  # figures and places still count

    def evidence_documents(self, request: AnswerRequest) -> list[tuple[int, Hit]]:
        """(citation number, hit) of the documents to quote: the best, and one more only when it is as good."""
        hits = request.hits
        if not hits or not self.supported(hits[0], request, self.settings.refusal_slack):
            return []
        close = [(n, h) for n, h in enumerate(hits[1:2], start=2)
                 if h.score >= hits[0].score - _CLOSE_DOCUMENT and self.supported(h, request)]
        return [(1, hits[0]), *close]

    def candidates(self, request: AnswerRequest, documents: list[tuple[int, Hit]]) -> list[Candidate]:
        qtype = question_type(request.question)
        weights = _question_terms(request)
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
        """Sentences answer what the visitor asks now: a follow-up's sentences are scored mostly against the
        follow-up itself ("那它什么时候启动？"), a little against the conversation it continues."""
        vector = self.embedder.embed_query_array(request.question)
        if request.standalone != request.question:
            vector = (1 - _CONVERSATION) * vector + _CONVERSATION * self.embedder.embed_query_array(request.standalone)
        return vector

    def answer(self, request: AnswerRequest) -> Answer:
        language = request.language
        documents = self.evidence_documents(request)
        candidates = self.candidates(request, documents) if documents else []
        ranked = sorted((c for c in candidates if c.relevance >= self.settings.answer_threshold),
                        key=lambda c: -c.score())
        if not ranked or not (self._clearly_supported(ranked, request) or self._says_it(ranked, request)
                              or self._holds_the_question(ranked, request)
                              or self._continues(request.hits[0], request)):
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
        """The rest of a list that `best` opens or belongs to: when `best` is an item ("Second, priority areas
        are clear."), the sentence that spells it out; then every item of its document ("First, …", "其次，…")
        in their order. Empty when `best` is not part of a list."""
        same_chunk = {c.position: c for c in everything if c.chunk == best.chunk}
        items = {c.sentence: c for c in everything if c.n == best.n and list_item_rank(c.sentence)}
        in_list = list_item_rank(best.sentence) or any(c.chunk == best.chunk for c in items.values())
        if not in_list:
            return []
        out = []
        following = same_chunk.get(best.position + 1)
        if list_item_rank(best.sentence) and following and not list_item_rank(following.sentence):
            out.append(following)
        others = (c for c in items.values() if c.sentence != best.sentence)
        out += sorted(others, key=lambda c: list_item_rank(c.sentence))
        kept, length = [], len(best.sentence)
        for candidate in out:
            length += len(candidate.sentence)
            if length > _MAX_LIST_CHARS:
                break
            kept.append(candidate)
        return kept

    def stream(self, request: AnswerRequest) -> Iterator[str | Answer]:
        answer = self.answer(request)
        yield from re.findall(r"\S+\s*|\s+", answer.answer)
        yield answer
