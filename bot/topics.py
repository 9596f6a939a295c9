"""Questions grouped by topic across languages: each question becomes the embedder's cross-lingual vector, less
what its language adds (question_vectors), and average-linkage clustering on cosine similarity (`cluster`)
merges them while a topic's questions stay `threshold` similar on average. A topic is named by its most asked
question."""

from __future__ import annotations

import json
import threading
import weakref
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from settings import DEFAULT_EMBEDDER, Settings
from store import NamedEmbeddings
from textkit.language import SERVED

MAX_DISTINCT_QUESTIONS = 500  # the most asked ones are grouped; the rest are counted as "other questions"
REFERENCE_QUESTIONS = Path(__file__).with_name("topic_reference_questions.json")
_MEANS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # embedder -> its reference means
_VECTORS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # embedder -> {question: its unit parts}
MAX_CACHED_VECTORS = 5000
_CACHE_LOCK = threading.Lock()


@dataclass
class Topic:
    questions: list[tuple[str, str, int]] = field(default_factory=list)  # (question, language, times asked)

    @property
    def count(self) -> int:
        return sum(times for _, _, times in self.questions)

    @property
    def languages(self) -> dict[str, int]:
        counts: Counter[str] = Counter()
        for _, language, times in self.questions:
            counts[language] += times
        return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))

    @property
    def label(self) -> str:
        return self.questions[0][0] if self.questions else ""


def topic_threshold(settings: Settings, embedder_name: str | None = None) -> float:
    """The similarity a question needs to join a topic, for the settings' embedder."""
    table = settings.insights_topic_similarity  # holds DEFAULT_EMBEDDER's (the settings check it)
    return table.get(embedder_name or settings.embedder, table[DEFAULT_EMBEDDER])


def _reference_means(embedder: NamedEmbeddings) -> dict[str, list[np.ndarray]]:
    """Per served language, the mean unit vector of each part over the reference questions."""
    means = _MEANS.get(embedder)
    if means is None:
        reference = json.loads(REFERENCE_QUESTIONS.read_text(encoding="utf-8"))
        means = {}
        for language in SERVED:
            parts = [_unit_parts(embedder, question) for question in reference[language]]
            means[language] = [np.mean([p[k] for p in parts], axis=0) for k in range(len(parts[0]))]
        _MEANS[embedder] = means
    return means


def _unit_parts(embedder: NamedEmbeddings, question: str) -> list[np.ndarray]:
    """The question's unit vector per part, remembered: the report is asked again over mostly the same questions."""
    with _CACHE_LOCK:
        cache = _VECTORS.setdefault(embedder, {})
        parts = cache.pop(question, None)
    if parts is None:
        parts = [p / (np.linalg.norm(p) or 1.0) for p in embedder.query_parts(question)]
    with _CACHE_LOCK:
        cache[question] = parts  # the most recent last
        while len(cache) > MAX_CACHED_VECTORS:
            del cache[next(iter(cache))]
    return parts


def question_vectors(embedder: NamedEmbeddings, questions: Sequence[str], languages: Sequence[str]) -> np.ndarray:
    """One unit row per question: per part of the embedder, its unit vector less the reference questions' mean in
    its language (what the language adds: without it, two questions in one language on different topics are
    closer than one question in two languages), renormalised, the parts side by side scaled by 1/sqrt(parts)."""
    means = _reference_means(embedder)
    overall = [np.mean(parts, axis=0) for parts in zip(*means.values())]
    rows = []
    for question, language in zip(questions, languages):
        centred = [p - m for p, m in zip(_unit_parts(embedder, question), means.get(language, overall))]
        rows.append(np.hstack([c / (np.linalg.norm(c) or 1.0) for c in centred]) / np.sqrt(len(centred)))
    return np.vstack(rows).astype(np.float32) if rows else np.zeros((0, 1), dtype=np.float32)


def _normalized(question: str) -> str:
    return " ".join(question.casefold().split()).rstrip("?？¿!！.。 ").lstrip("¿¡")


def cluster(vectors: np.ndarray, threshold: float) -> list[list[int]]:
    """Average-linkage agglomerative clustering on cosine similarity: the two groups whose questions are most
    similar on average merge, while that average reaches `threshold`. Rows are unit vectors; the groups list
    row numbers, each in row order, the groups in the order of their first row."""
    count = len(vectors)
    similarity = (vectors @ vectors.T).astype(np.float64)
    np.fill_diagonal(similarity, -np.inf)
    members: dict[int, list[int]] = {row: [row] for row in range(count)}
    while len(members) > 1:
        a, b = divmod(int(np.argmax(similarity)), count)
        if similarity[a, b] < threshold:
            break
        size_a, size_b = len(members[a]), len(members[b])
        merged = (size_a * similarity[a] + size_b * similarity[b]) / (size_a + size_b)  # the average, kept
        similarity[a], similarity[:, a] = merged, merged
        similarity[b], similarity[:, b] = -np.inf, -np.inf
        similarity[a, a] = -np.inf
        members[a] = sorted(members[a] + members.pop(b))
    return sorted(members.values())


def group_questions(asked: Sequence[tuple[str, str]], embedder: NamedEmbeddings, threshold: float) -> list[Topic]:
    """`asked`: (question, language) per time asked. Topics, the most asked first; the same question asked
    twice (case, spaces and end marks aside) is one entry with its count."""
    counts: Counter[str] = Counter()
    shown: dict[str, tuple[str, str]] = {}
    for question, language in asked:
        key = _normalized(question)
        counts[key] += 1
        shown.setdefault(key, (question, language))
    keys = [key for key, _ in counts.most_common(MAX_DISTINCT_QUESTIONS)]
    vectors = question_vectors(embedder, [shown[key][0] for key in keys], [shown[key][1] for key in keys])
    topics = [Topic([(*shown[keys[i]], counts[keys[i]]) for i in members]) for members in cluster(vectors, threshold)]
    grouped = set(keys)
    rest = sum(times for key, times in counts.items() if key not in grouped)
    if rest:
        topics.append(Topic([(f"({len(counts) - len(keys)} other questions)", "", rest)]))
    return sorted(topics, key=lambda t: -t.count)
