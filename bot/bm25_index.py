"""BM25 over the committed chunks, one index per document language (bm25s).

It keeps what scoring needs: each language's bm25s model, the chunk ids, and each chunk's tokens as vocabulary
ids (int32, about 0.4 KB a chunk), never the chunks' texts or metadata (retrieval has those from the dense
search, for the candidates it scores). The tokens let the next index, built after an ingest, tokenize only the
chunks that are new: a chunk id names one version of a document's chunk, so its tokens never change."""

from __future__ import annotations

import logging
import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

import bm25s
import numpy as np

from store import ScoredChunk
from textkit.tokens import tokenize

logging.getLogger("bm25s").setLevel(logging.WARNING)

_NO_TOKENS = "\u2205"  # a chunk of stopwords only still gets a row, so ids and rows stay aligned


@dataclass
class _LanguageIndex:
    model: bm25s.BM25
    ids: list[str]  # row -> chunk id
    rows: dict[str, int]  # chunk id -> row
    tokens: list[np.ndarray]  # row -> the chunk's tokens, as ids in model.vocab_dict


class Coverage(Mapping[str, float]):
    """chunk id -> the share of a question's term weight the chunk holds, for the chunks holding any. Computed
    for the whole language as one array; looking up a candidate costs a dict lookup, so a question does not pay
    for building a dict of every chunk that shares a common word with it."""

    def __init__(self, shares: np.ndarray, index: _LanguageIndex) -> None:
        self._shares, self._index = shares, index

    def __getitem__(self, chunk_id: str) -> float:
        row = self._index.rows.get(chunk_id)
        if row is None or not self._shares[row]:
            raise KeyError(chunk_id)
        return float(self._shares[row])

    def __iter__(self) -> Iterator[str]:
        return (self._index.ids[row] for row in np.flatnonzero(self._shares))

    def __len__(self) -> int:
        return int(np.count_nonzero(self._shares))

    def best(self, n: int) -> list[str]:
        """The ids of the (at most) `n` chunks holding the largest shares, largest first."""
        held = np.flatnonzero(self._shares)
        if len(held) > n:
            held = held[np.argpartition(-self._shares[held], n - 1)[:n]]
        return [self._index.ids[row] for row in held[np.argsort(-self._shares[held], kind="stable")]]


class LanguageBM25:
    """Lexical search that only compares a question with documents in the question's language.

    Fusing BM25 across languages hurts: a Spanish question's words match nothing useful in English text.
    """

    def __init__(self, chunks: Iterable[ScoredChunk], previous: LanguageBM25 | None = None) -> None:
        """`chunks` is read once, in one pass. `previous`: an index of an earlier state of the same store; the
        chunks it holds are not tokenized again."""
        known = previous._indexes if previous is not None else {}
        ids: dict[str, list[str]] = defaultdict(list)
        token_rows: dict[str, list[np.ndarray]] = defaultdict(list)
        # Copies: the previous index keeps serving while this one is built, and its vocabulary must match its model.
        vocabularies = {language: dict(index.model.vocab_dict) for language, index in known.items()}
        for chunk in chunks:
            language = chunk.metadata.get("language", "other")
            earlier = known.get(language)
            row = earlier.rows.get(chunk.chunk_id) if earlier is not None else None
            if row is None:
                vocabulary = vocabularies.setdefault(language, {})
                words = tokenize(chunk.text, language) or [_NO_TOKENS]
                tokens = np.fromiter((vocabulary.setdefault(t, len(vocabulary)) for t in words), np.int32)
            else:
                tokens = earlier.tokens[row]
            token_rows[language].append(tokens)
            ids[language].append(chunk.chunk_id)
        self._indexes: dict[str, _LanguageIndex] = {}
        frequency: Counter[str] = Counter()  # chunks holding each word, over every language
        for language, members in ids.items():
            rows, vocabulary = token_rows.pop(language), vocabularies[language]
            model = bm25s.BM25()
            model.index(([row.tolist() for row in rows], vocabulary), show_progress=False)
            self._indexes[language] = _LanguageIndex(model, members, {cid: i for i, cid in enumerate(members)}, rows)
            counts = np.bincount(np.concatenate([np.unique(row) for row in rows]), minlength=len(vocabulary))
            frequency.update({word: int(counts[t]) for word, t in vocabulary.items() if t < len(counts) and counts[t]})
        total = max(1, sum(len(members) for members in ids.values()))
        self._idf = {t: math.log(1 + total / df) for t, df in frequency.items()}
        self._unseen_idf = math.log(1 + total)

    def __contains__(self, chunk_id: object) -> bool:
        """Whether the index holds this chunk: the next index, built on this one, need not read its text."""
        return any(chunk_id in index.rows for index in self._indexes.values())

    def term_weights(self, tokens: list[str]) -> dict[str, float]:
        """IDF over all committed chunks; a term found nowhere weighs most (the question asks about it)."""
        return {t: self._idf.get(t, self._unseen_idf) for t in tokens}

    def coverage(self, question: str, language: str) -> Mapping[str, float]:
        """chunk_id -> the share of the question's term weight (IDF) found in the chunk, for the chunks of
        `language` that contain any question term. Unlike a BM25 score it is bounded (0..1) and comparable
        between questions, so it can be added to a z-score."""
        index = self._indexes.get(language)
        weights = self.term_weights(list(dict.fromkeys(tokenize(question, language))))
        total = sum(weights.values())
        if index is None or not total:
            return {}
        matched = np.zeros(len(index.ids))
        for term, weight in weights.items():
            if term in index.model.vocab_dict:
                matched += weight * (index.model.get_scores([term]) > 0)
        return Coverage(matched / total, index)
