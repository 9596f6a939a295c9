"""Language-aware chunking: Chinese sentence ends, content parity between scripts, overlap."""

from __future__ import annotations

import re

import pytest
from fixtures_builders import EN_CLIMATE, ZH_TRADE

from ingest.chunking import make_splitter, weighted_length
from ingest.loaders import LoadedDocument, Section
from ingest.pipeline import make_chunks
from store import DocumentRecord

# The same four sentences in Chinese and English.
ZH_PARALLEL = (
    "二零二三年论坛报告指出，全球贸易增长放缓。发展中国家的出口面临新的挑战！"
    "各国代表讨论了供应链的韧性问题？与会者一致认为，数字贸易是未来增长的关键；"
)
EN_PARALLEL = (
    "The 2023 forum report notes that global trade growth has slowed. Exports from developing countries "
    "face new challenges! Did the delegates discuss the resilience of supply chains? Participants agreed "
    "that digital trade is the key to future growth; "
)
ZH_ENDS = "。！？；"


def longest_shared_boundary(left: str, right: str) -> int:
    """Length of the longest prefix of `right` that `left` ends with."""
    return max((n for n in range(1, min(len(left), len(right)) + 1) if left.endswith(right[:n])), default=0)


def test_weighted_length_counts_cjk_characters_by_weight():
    length = weighted_length(2.5)
    assert length("abcd") == 4
    assert length("贸易") == 5
    assert length("贸易。") == 7  # CJK punctuation weighs like CJK text
    assert length("WTO 贸易") == 9


def test_chinese_is_split_after_sentence_punctuation_which_stays_with_its_sentence():
    text = ZH_PARALLEL * 12
    splitter = make_splitter(chunk_size=120, chunk_overlap=0, cjk_char_weight=2.5)

    chunks = splitter.split_text(text)

    assert len(chunks) > 5
    for chunk in chunks:
        assert chunk[-1] in ZH_ENDS, chunk
        assert chunk[0] not in ZH_ENDS, chunk
        assert weighted_length(2.5)(chunk) <= 120
    assert "".join(chunks) == text  # nothing lost, nothing duplicated without overlap
    # every sentence end of the text is a possible cut, and the cuts used are all sentence ends
    assert {c[-1] for c in chunks} <= set(ZH_ENDS) and len({c[-1] for c in chunks}) >= 2


def test_a_chinese_and_an_english_chunk_of_the_same_size_carry_comparable_content():
    weighted = make_splitter(chunk_size=700, chunk_overlap=0, cjk_char_weight=2.5)
    unweighted = make_splitter(chunk_size=700, chunk_overlap=0, cjk_char_weight=1.0)
    zh_text, en_text = ZH_PARALLEL * 40, EN_PARALLEL * 40

    zh_chunks, en_chunks = weighted.split_text(zh_text), weighted.split_text(en_text)

    # fewer raw characters per Chinese chunk, by about the configured weight
    zh_mean = sum(map(len, zh_chunks[:-1])) / len(zh_chunks[:-1])
    en_mean = sum(map(len, en_chunks[:-1])) / len(en_chunks[:-1])
    assert 2.0 <= en_mean / zh_mean <= 3.2, (en_mean, zh_mean)
    assert max(map(len, zh_chunks)) <= 700 / 2.5
    # so the same content needs a comparable number of chunks in either language (this translation is ~3.2
    # English characters per Chinese one); unweighted, a Chinese chunk would hold ~3x the content
    weighted_ratio = len(zh_chunks) / len(en_chunks)
    unweighted_ratio = len(unweighted.split_text(zh_text)) / len(en_chunks)
    assert 0.55 <= weighted_ratio <= 1.3, (len(zh_chunks), len(en_chunks))
    assert unweighted_ratio < 0.4 and unweighted_ratio < weighted_ratio / 2


@pytest.mark.parametrize(
    "text",
    [
        "".join(f"第{i}句话讲的是贸易。" for i in range(60)),
        " ".join(f"Sentence number {i} is about trade." for i in range(60)),
    ],
    ids=["zh", "en"],
)
def test_consecutive_chunks_overlap(text):
    splitter = make_splitter(chunk_size=200, chunk_overlap=60, cjk_char_weight=2.5)

    chunks = splitter.split_text(text)

    assert len(chunks) >= 4
    for left, right in zip(chunks, chunks[1:], strict=False):
        shared = longest_shared_boundary(left, right)
        assert shared >= 8, (left, right)
        assert weighted_length(2.5)(right[:shared]) <= 60 + 40  # about the configured overlap, not more


def test_overlap_is_capped_at_half_the_chunk_size():
    splitter = make_splitter(chunk_size=100, chunk_overlap=500, cjk_char_weight=2.5)
    chunks = splitter.split_text(" ".join(f"Word{i}" for i in range(200)))
    assert len(chunks) > 5
    for left, right in zip(chunks, chunks[1:], strict=False):
        assert len(right) - longest_shared_boundary(left, right) > 0  # every chunk brings new text


def test_make_chunks_numbers_chunks_and_carries_document_metadata(make_settings):
    settings = make_settings(chunk_size=200, chunk_overlap=40)
    record = DocumentRecord(
        doc_id="d1", source="/r/report.md", title="Report", language="en", sha256="ab" * 32, chunks=0,
        ingested_at="2024-01-01T00:00:00+00:00", edition="/r/report",
    )
    loaded = LoadedDocument("Report", [Section(EN_CLIMATE, "Coasts"), Section(ZH_TRADE, "贸易", page=3)])

    chunks = make_chunks(loaded, record, settings)

    assert [c.metadata["chunk_index"] for c in chunks] == list(range(len(chunks)))
    assert len({c.chunk_id for c in chunks}) == len(chunks)
    assert {c.metadata["section"] for c in chunks} == {"Coasts", "贸易"}
    for chunk in chunks:
        assert chunk.metadata["doc_id"] == "d1" and chunk.metadata["sha256"] == "ab" * 32
        assert ("page" in chunk.metadata) == (chunk.metadata["section"] == "贸易")
        assert not re.search(r"[\u4e00-\u9fff]", chunk.text) or chunk.metadata["section"] == "贸易"
