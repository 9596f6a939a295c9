"""Two readers of one `chroma run` server (two apps, say): a document added or removed through one counts for the
other from its very next question, not once a cached registry expires."""

from __future__ import annotations

import pytest
from fixtures_builders import write_txt
from support import ROOT

from bot import ForumQA
from ingest.pipeline import ingest_paths, prepare_file, remove_paths
from store import document_id, open_index

pytestmark = [pytest.mark.chroma_server, pytest.mark.slow]

NOTE = ("Nota sobre el puerto de Chancay\n\nEl puerto de Chancay recibió diecisiete grúas nuevas en 2025, según "
        "esta nota ficticia sobre grúas portuarias.\n")
QUESTION = "¿Cuántas grúas nuevas recibió el puerto de Chancay?"


def found(answer) -> set[str]:
    return {s.doc_id for s in answer.sources + answer.also_retrieved}


def test_a_change_through_one_index_counts_for_another_on_its_next_question(
    tmp_path, chroma_server, make_settings, fake_embedder, monkeypatch
):
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    settings = make_settings(embedder="fake", chroma_host=chroma_server.host, chroma_port=chroma_server.port)
    writer, reader = open_index(settings, fake_embedder), open_index(settings, fake_embedder)
    assert not ingest_paths([ROOT / "data" / "sample"], writer, settings).failed
    qa = ForumQA(settings, reader)
    note = write_txt(tmp_path / "gruas.txt", NOTE)
    assert document_id(str(note.resolve())) not in found(qa.ask(QUESTION))  # the reader's registry is now cached

    prepared = prepare_file(note, settings, {})
    reader.documents()  # read afresh just now: a cache would be trusted for the next seconds
    writer.write_documents([(prepared.record, prepared.chunks)], replaced=set())
    assert document_id(str(note.resolve())) in found(qa.ask(QUESTION))

    reader.documents()
    assert remove_paths([note], writer, settings) == [(str(note.resolve()), True)]
    assert document_id(str(note.resolve())) not in found(qa.ask(QUESTION))
