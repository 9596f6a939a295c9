"""Lexical matching within the question's language, on a handful of chunks (no store, no model): which chunks match,
the share of a question's term weight a chunk holds, the weight of rare terms, and the index after an ingest.
(What a question names and follow-ups: test_bot_evidence.)"""

from __future__ import annotations

import pytest

from bot.lexical_index import LexicalIndex
from store import DocumentRecord, ScoredChunk

CHUNKS = [
    ScoredChunk("en-trade", "Trade between China and Latin America reached 518 billion dollars in 2024.",
                {"language": "en"}, 0.0),
    ScoredChunk("en-forum", "The forum on trade was held in Shanghai and discussed climate change.",
                {"language": "en"}, 0.0),
    ScoredChunk("es-trade", "El comercio entre China y América Latina alcanzó 518 mil millones en 2024.",
                {"language": "es"}, 0.0),
    ScoredChunk("zh-trade", "2024年中国与拉美的贸易额达到5184亿美元。", {"language": "zh"}, 0.0),
]


@pytest.fixture(scope="module")
def lexical() -> LexicalIndex:
    return LexicalIndex(CHUNKS)


def test_lexical_index_only_matches_chunks_in_the_questions_language(lexical):
    assert set(lexical.coverage("How much was trade with Latin America?", "en")) == {"en-trade", "en-forum"}
    assert set(lexical.coverage("comercio con América Latina", "es")) == {"es-trade"}
    assert set(lexical.coverage("拉美贸易额", "zh")) == {"zh-trade"}
    assert lexical.coverage("trade", "fr") == {}
    assert lexical.coverage("the of and", "en") == {}  # only stopwords: nothing to look for
    assert lexical.coverage("neverseen", "en") == {}  # a word no chunk holds matches none
    assert lexical.coverage("trade", "en").get("es-trade", 0.0) == 0.0  # another language's chunk: no share


def test_lexical_index_keeps_no_chunk_text():
    """What an app process holds per chunk is its id and its column in the model, not its text: texts of
    every chunk would make the memory grow with the corpus (issue 14)."""
    lexical = LexicalIndex(iter(CHUNKS))  # read in one pass
    text = CHUNKS[0].text
    held = [lexical]
    seen: set[int] = set()
    while held:
        value = held.pop()
        if id(value) in seen or isinstance(value, int | float | bytes | type):
            continue
        seen.add(id(value))
        assert not (isinstance(value, str) and value == text)
        if isinstance(value, dict):
            held += [*value.keys(), *value.values()]
        elif isinstance(value, list | tuple | set):
            held += list(value)
        elif hasattr(value, "__dict__"):
            held += list(vars(value).values())


def test_lexical_index_coverage_is_the_share_of_the_questions_term_weight_a_chunk_holds(lexical):
    coverage = lexical.coverage("trade in Shanghai", "en")
    assert coverage["en-forum"] == pytest.approx(1.0)  # holds every term
    assert 0 < coverage["en-trade"] < 1  # "trade" only
    assert lexical.coverage("中国与拉美的贸易额", "zh") == {"zh-trade": pytest.approx(1.0)}


def test_a_rare_term_weighs_more_than_a_common_one_and_an_unseen_term_as_much_as_the_rarest(lexical):
    weights = lexical.term_weights(["trade", "shanghai", "neverseen"])  # in 2 chunks, in 1, in none
    assert weights["trade"] < weights["shanghai"] == weights["neverseen"]


def record(doc_id: str, sha256: str, language: str, chunks: int = 1) -> DocumentRecord:
    return DocumentRecord(doc_id, f"/docs/{doc_id}.txt", doc_id, language, sha256, chunks, "2025-01-01")


def chunks_of(record: DocumentRecord, *texts: str) -> list[ScoredChunk]:
    return [ScoredChunk(cid, text, {"doc_id": record.doc_id, "language": record.language}, 0.0)
            for cid, text in zip(record.chunk_ids(), texts)]


def test_after_an_ingest_only_the_new_versions_chunks_are_read_and_the_index_is_the_one_a_fresh_build_gives(
    monkeypatch
):
    """The index after an ingest is built on the serving one from the committed records: only the chunks of the
    versions it lacks are read and tokenized (every chunk, at 100,000 chunks, was seconds of it), and the chunks of
    a replaced or removed version count no more."""
    import bot.lexical_index

    texts = {"trade": [CHUNKS[0].text, CHUNKS[1].text], "es": [CHUNKS[2].text], "zh": [CHUNKS[3].text],
             "climate": ["Mangroves protect the coast of Shanghai from storms."]}
    earlier_records = {"trade": record("trade", "a" * 64, "en", 2), "es": record("es", "b" * 64, "es"),
                       "zh": record("zh", "c" * 64, "zh"), "climate": record("climate", "d" * 64, "en")}
    earlier = LexicalIndex([c for d, r in earlier_records.items() for c in chunks_of(r, *texts[d])],
                           earlier_records.values())
    texts |= {"trade": ["Port investment in Chancay reached 3 billion dollars, the forum on trade heard."],
              "ports": ["The new port of Chancay handles trade with Shanghai."]}
    records = {**earlier_records, "trade": record("trade", "e" * 64, "en"), "ports": record("ports", "f" * 64, "en")}
    del records["climate"]
    stored = {r.doc_id: chunks_of(r, *texts[r.doc_id]) for r in records.values()}
    read, tokenized = [], []
    real_tokenize = bot.lexical_index.tokenize
    monkeypatch.setattr(bot.lexical_index, "tokenize",
                        lambda text, lang: tokenized.append(text) or real_tokenize(text, lang))
    refreshed = earlier.updated(records, lambda new: read.extend(new) or [c for r in new for c in stored[r.doc_id]])
    assert sorted(r.doc_id for r in read) == ["ports", "trade"]  # the new version of one, and one new document
    assert sorted(tokenized) == sorted(texts["trade"] + texts["ports"])
    monkeypatch.setattr(bot.lexical_index, "tokenize", real_tokenize)

    fresh = LexicalIndex([c for chunks in stored.values() for c in chunks], records.values())
    for question, lang in [("trade in Chancay and Shanghai", "en"), ("comercio con América Latina", "es"),
                           ("拉美贸易额", "zh"), ("dollars billion forum mangroves", "en")]:
        assert dict(refreshed.coverage(question, lang)) == dict(fresh.coverage(question, lang))
        words = real_tokenize(question, lang)
        assert refreshed.term_weights(words) == fresh.term_weights(words)
    assert set(refreshed.coverage("Latin America 518 mangroves", "en")) == set()  # replaced, removed: gone
    assert set(earlier.coverage("Latin America mangroves", "en")) == {"trade:aaaaaaaaaaaa:0", "climate:dddddddddddd:0"}
    assert earlier.coverage("Chancay port", "en") == {}  # the index that keeps serving meanwhile is unchanged
    assert refreshed.updated(records, lambda new: pytest.fail("nothing changed: nothing to read")) is refreshed


def test_words_of_replaced_versions_do_not_stay_in_the_vocabulary_for_good():
    """A document edited again and again with new words (dates, figures, names): the terms no chunk holds any more
    are dropped once they pass a quarter of the vocabulary, and the index still answers as a fresh build does."""
    index = LexicalIndex([], [])
    for version in range(60):
        words = " ".join(f"term{version}x{n}" for n in range(20))
        current = record("note", f"{version:064d}", "en")
        stored = chunks_of(current, f"Port of Chancay {words}.")
        index = index.updated({"note": current}, lambda new, stored=stored: stored)
    vocabulary = index._indexes["en"].vocabulary
    assert len(vocabulary) < 2 * 24, len(vocabulary)  # 60 versions x 20 words would be 1,200 terms
    fresh = LexicalIndex(stored, [current])
    for question in ("term59x3 Chancay", "term0x1 port", "term58x19"):
        assert dict(index.coverage(question, "en")) == dict(fresh.coverage(question, "en"))
        assert index.term_weights([question.split()[0]]) == fresh.term_weights([question.split()[0]])
