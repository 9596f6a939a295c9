"""Which committed chunks hold which words: one term-by-chunk incidence matrix per document language
(scipy.sparse), and the share of a question's term weight (IDF) each chunk holds.

It keeps what that needs: per language the vocabulary, the matrix (an index and a byte per word a chunk holds) and
the chunk ids, never the chunks' texts or metadata (retrieval has those from the dense search, for the candidates
it scores). It also keeps the document versions it was built from, so that the index after an ingest reads and
tokenizes only the chunks of new versions and drops those of versions replaced or removed (`updated`): a chunk id
names one version of a document's chunk, so the words of a chunk it holds never change."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field

import numpy as np
from scipy import sparse

from store import DocumentRecord, ScoredChunk
from textkit.tokens import tokenize

_DEAD_TERMS = 0.25  # share of a vocabulary's rows that no chunk holds before they are dropped


@dataclass(frozen=True)
class _LanguageIndex:
    vocabulary: dict[str, int]  # term -> row
    incidence: sparse.csr_array  # term row x chunk column: 1 where the chunk holds the term
    ids: list[str]  # column -> chunk id
    columns: dict[str, int]  # chunk id -> column
    holding: np.ndarray = field(init=False)  # row -> how many chunks hold the term

    def __post_init__(self) -> None:
        object.__setattr__(self, "holding", np.diff(self.incidence.indptr))


class Coverage(Mapping[str, float]):
    """chunk id -> the share of a question's term weight the chunk holds, for the chunks holding any. Computed
    for the whole language as one array; looking up a candidate costs a dict lookup, so a question does not pay
    for building a dict of every chunk that shares a common word with it."""

    def __init__(self, shares: np.ndarray, index: _LanguageIndex) -> None:
        self._shares, self._index = shares, index

    def __getitem__(self, chunk_id: str) -> float:
        column = self._index.columns.get(chunk_id)
        if column is None or not self._shares[column]:
            raise KeyError(chunk_id)
        return float(self._shares[column])

    def __iter__(self) -> Iterator[str]:
        return (self._index.ids[column] for column in np.flatnonzero(self._shares))

    def __len__(self) -> int:
        return int(np.count_nonzero(self._shares))

    def best(self, n: int) -> list[str]:
        """The ids of the (at most) `n` chunks holding the largest shares, largest first."""
        held = np.flatnonzero(self._shares)
        if len(held) > n:
            held = held[np.argpartition(-self._shares[held], n - 1)[:n]]
        return [self._index.ids[column] for column in held[np.argsort(-self._shares[held], kind="stable")]]


class LexicalIndex:
    """Lexical matching that only compares a question with documents in the question's language.

    Matching across languages hurts: a Spanish question's words match nothing useful in English text.
    """

    def __init__(self, chunks: Iterable[ScoredChunk], documents: Iterable[DocumentRecord] = (),
                 previous: LexicalIndex | None = None, dropped: Iterable[DocumentRecord] = ()) -> None:
        """`chunks` is read once, in one pass: the chunks of `documents` (the versions `updated` compares with the
        committed records later). `previous`: an index of an earlier state of the same store, whose chunks are kept
        without being read again, but those of the versions `dropped`; it is left as it is (it serves meanwhile)."""
        earlier = previous._indexes if previous is not None else {}
        self._documents = dict(previous._documents) if previous is not None else {}
        gone = {cid for record in dropped for cid in record.chunk_ids()}
        for record in dropped:
            self._documents.pop(record.doc_id, None)
        self._documents.update((record.doc_id, record) for record in documents)
        added: dict[str, _NewColumns] = {}
        for chunk in chunks:
            language = chunk.metadata.get("language", "other")
            if language not in added:
                known = earlier.get(language)
                added[language] = _NewColumns(dict(known.vocabulary) if known is not None else {})
            added[language].add(chunk, language)
        self._indexes: dict[str, _LanguageIndex] = {}
        for language in {*earlier, *added}:
            merged = _merged(earlier.get(language), gone, added.get(language))
            if merged is not None:
                self._indexes[language] = merged
        self._total = max(1, sum(len(index.ids) for index in self._indexes.values()))
        self._unseen_idf = math.log(1 + self._total)

    def updated(self, records: Mapping[str, DocumentRecord],
                read: Callable[[list[DocumentRecord]], Iterable[ScoredChunk]]) -> LexicalIndex:
        """The index of the committed `records` (doc_id -> record), built on this one: only the chunks of the
        versions it lacks are read (`read` gets their records) and tokenized. This one itself when none changed."""
        new = [r for r in records.values() if getattr(self._documents.get(r.doc_id), "sha256", None) != r.sha256]
        gone = [r for doc_id, r in self._documents.items()
                if getattr(records.get(doc_id), "sha256", None) != r.sha256]
        if not new and not gone:
            return self
        return LexicalIndex(read(new) if new else (), new, previous=self, dropped=gone)

    def term_weights(self, tokens: list[str]) -> dict[str, float]:
        """IDF over all committed chunks of every language; a term found nowhere weighs most (the question asks
        about it)."""
        return {t: self._idf(t) for t in tokens}

    def _idf(self, term: str) -> float:
        holding = sum(int(index.holding[row]) for index in self._indexes.values()
                      if (row := index.vocabulary.get(term)) is not None)
        return math.log(1 + self._total / holding) if holding else self._unseen_idf

    def coverage(self, question: str, language: str) -> Mapping[str, float]:
        """chunk_id -> the share of the question's term weight (IDF) found in the chunk, for the chunks of
        `language` that contain any question term. Unlike a BM25 score it is bounded (0..1) and comparable
        between questions, so it can be added to a z-score."""
        index = self._indexes.get(language)
        weights = self.term_weights(list(dict.fromkeys(tokenize(question, language))))
        total = sum(weights.values())
        if index is None or not total:
            return {}
        held = [(index.vocabulary[t], w) for t, w in weights.items() if t in index.vocabulary]
        if not held:
            return Coverage(np.zeros(len(index.ids)), index)
        rows, row_weights = zip(*held)
        # term by term, in the question's order: the same sums, to the last bit, as adding one term's row at a time
        matched = np.asarray(row_weights) @ index.incidence[list(rows)]
        return Coverage(matched / total, index)


class _NewColumns:
    """The chunks a language's index gains: their ids, and the vocabulary rows of the terms each holds."""

    def __init__(self, vocabulary: dict[str, int]) -> None:
        self.vocabulary, self.ids, self.terms = vocabulary, [], []

    def add(self, chunk: ScoredChunk, language: str) -> None:
        words = tokenize(chunk.text, language)
        rows = np.fromiter((self.vocabulary.setdefault(w, len(self.vocabulary)) for w in words), np.int32, len(words))
        self.terms.append(np.unique(rows))
        self.ids.append(chunk.chunk_id)


def _merged(earlier: _LanguageIndex | None, gone: set[str], added: _NewColumns | None) -> _LanguageIndex | None:
    """`earlier`'s columns but those of the chunk ids `gone`, then the `added` ones; None when no column is left."""
    if added is None and (earlier is None or not any(cid in earlier.columns for cid in gone)):
        return earlier
    term_rows, chunk_columns, ids = [], [], []
    if earlier is not None:
        keep = np.fromiter((cid not in gone for cid in earlier.ids), bool, len(earlier.ids))
        renumbered = np.where(keep, np.cumsum(keep) - 1, -1).astype(np.int32)
        columns = renumbered[earlier.incidence.indices]
        kept = columns >= 0
        term_rows.append(np.repeat(np.arange(len(earlier.holding), dtype=np.int32), earlier.holding)[kept])
        chunk_columns.append(columns[kept])
        ids = [cid for cid, held in zip(earlier.ids, keep) if held]
    vocabulary = added.vocabulary if added is not None else earlier.vocabulary
    if added is not None:
        sizes = np.fromiter((len(terms) for terms in added.terms), np.int64, len(added.terms))
        term_rows += added.terms
        chunk_columns.append(np.repeat(np.arange(len(ids), len(ids) + len(added.ids), dtype=np.int32), sizes))
        ids += added.ids
    if not ids:
        return None
    rows = np.concatenate(term_rows)
    incidence = sparse.csr_array((np.ones(len(rows), np.int8), (rows, np.concatenate(chunk_columns))),
                                 shape=(len(vocabulary), len(ids)))
    vocabulary, incidence = _compacted(vocabulary, incidence)
    return _LanguageIndex(vocabulary, incidence, ids, {cid: column for column, cid in enumerate(ids)})


def _compacted(vocabulary: dict[str, int], incidence: sparse.csr_array) -> tuple[dict[str, int], sparse.csr_array]:
    """Without the terms no chunk holds any more, once they are over _DEAD_TERMS of the rows: the words of
    replaced and removed versions would otherwise stay in the vocabulary for good, edit after edit."""
    alive = np.diff(incidence.indptr) > 0
    if len(alive) - np.count_nonzero(alive) <= _DEAD_TERMS * len(alive):
        return vocabulary, incidence
    renumbered = np.cumsum(alive) - 1
    return ({term: int(renumbered[row]) for term, row in vocabulary.items() if alive[row]},
            sparse.csr_array(incidence[np.flatnonzero(alive)]))

