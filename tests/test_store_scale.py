"""What keeps a large store cheap to reopen and to read (issue 14): the registry's records saved for the current
commit, a re-ingest of unchanged files that scans no chunk, and a read of every chunk that never holds the index
for the whole read."""

from __future__ import annotations

import json
import threading

import pytest
from fixtures_builders import write_txt

from ingest.pipeline import ingest_paths, remove_paths
from store import open_index
from store.snapshot import saved_registry_path
from store.vectors import ChunkVectors

REPORTS = {
    f"r{n}.txt": f"Report {n} on port logistics: {n} new cranes arrived at the harbour of town number {n}."
    for n in range(6)
}


def _reports(folder):
    return [write_txt(folder / name, text) for name, text in REPORTS.items()]


def test_a_new_reader_takes_the_records_saved_for_the_current_commit_only(tmp_path, make_settings, fake_embedder):
    settings = make_settings(embedder="fake")
    first = _reports(tmp_path / "reports")
    index = open_index(settings, fake_embedder)
    ingest_paths(first[:3], index, settings)
    saved = saved_registry_path(settings)
    older = saved.read_text(encoding="utf-8")
    body = json.loads(older)
    assert len(body["records"]) == 3

    body["records"][0]["title"] = "Title only the saved file has"
    saved.write_text(json.dumps(body), encoding="utf-8")
    titles = {r.title for r in open_index(settings, fake_embedder).documents()}
    assert "Title only the saved file has" in titles  # saved for the current commit: no read of every record

    ingest_paths(first[3:], index, settings)
    saved.write_text(older, encoding="utf-8")  # records saved for an earlier commit
    assert len(open_index(settings, fake_embedder).documents()) == 6
    saved.write_text("{not json", encoding="utf-8")
    assert len(open_index(settings, fake_embedder).documents()) == 6


def _stop(records):
    raise KeyboardInterrupt


def test_reingesting_unchanged_files_scans_no_chunk_but_orphans_are_still_removed(tmp_path, make_settings,
                                                                                   fake_embedder, monkeypatch):
    settings = make_settings(embedder="fake")
    files = _reports(tmp_path / "reports")
    index = open_index(settings, fake_embedder)
    ingest_paths(files, index, settings)
    scans = []
    scan = ChunkVectors.delete_uncommitted
    monkeypatch.setattr(ChunkVectors, "delete_uncommitted",
                        lambda self, records: scans.append(1) or scan(self, records))

    report = ingest_paths(files, index, settings)
    assert report.count("unchanged") == len(files) and not scans

    write_txt(files[0], "Report 0, revised: twelve cranes arrived at the harbour, not nine.")
    chunks = index.vectors.count()
    with monkeypatch.context() as crash:  # a writer stopped before its commit: new chunks, no record
        crash.setattr(index.registry, "commit", _stop)
        with pytest.raises(KeyboardInterrupt):
            ingest_paths(files[:1], index, settings)
    assert index.vectors.count() > chunks
    report = ingest_paths(files[1:], index, settings)
    assert scans and report.orphans_removed > 0 and index.vectors.count() == chunks


def test_records_a_crashed_writer_never_marked_committed_reach_running_readers_once_repaired(
        tmp_path, make_settings, fake_embedder, monkeypatch):
    settings = make_settings(embedder="fake")
    files = _reports(tmp_path / "reports")
    writer, reader = open_index(settings, fake_embedder), open_index(settings, fake_embedder)
    ingest_paths(files[:3], writer, settings)
    assert len(reader.documents()) == 3
    with monkeypatch.context() as crash:  # a writer stopped after writing its records, before marking the commit
        crash.setattr(writer.registry, "_note_commit", lambda: _stop([]))
        with pytest.raises(KeyboardInterrupt):
            ingest_paths(files[3:], writer, settings)
    assert len(reader.documents()) == 3  # nothing tells the reader that its records are out of date

    writer.repair()  # what the next ingest does first
    assert len(reader.documents()) == 6


def test_reading_every_chunk_lets_questions_in_between_its_pages(tmp_path, make_settings, fake_embedder,
                                                                 monkeypatch):
    settings = make_settings(embedder="fake")
    index = open_index(settings, fake_embedder)
    ingest_paths(_reports(tmp_path / "reports"), index, settings)
    monkeypatch.setattr("store.chroma_index._READ_PAGE", 1)
    read: list = []
    answered: list[bool] = []  # per page: whether a question got its answer before the next page was read
    page_read, question_answered = threading.Event(), threading.Event()

    def read_asking_in_between() -> None:
        for chunk in index.iter_committed_chunks():
            read.append(chunk)
            page_read.set()
            answered.append(question_answered.wait(timeout=10))  # the index's lock held for the whole: never
            question_answered.clear()

    reader = threading.Thread(target=read_asking_in_between)
    reader.start()
    while reader.is_alive():
        if page_read.wait(timeout=0.1):
            page_read.clear()
            index.documents(fresh=False)  # what a question asks of the index meanwhile
            question_answered.set()
    reader.join()
    assert sorted(c.metadata["source"] for c in read) == sorted(str(p.resolve()) for p in tmp_path.glob("reports/*"))
    assert len(answered) == len(REPORTS) and all(answered)

    chosen = index.documents()[:1]  # what the lexical index lacks after an ingest: only its chunks are read
    again = list(index.chunks_of(chosen))
    assert {c.chunk_id for c in again} == set(chosen[0].chunk_ids()) and all(c.text for c in again)


def test_a_search_among_chosen_chunks_skips_those_removed_since(tmp_path, make_settings, fake_embedder):
    settings = make_settings(embedder="fake")
    files = _reports(tmp_path / "reports")
    index = open_index(settings, fake_embedder)
    ingest_paths(files, index, settings)
    chunks = index.committed_chunks()
    chosen = [c.chunk_id for c in chunks]  # as BM25 knew them
    removed = [c.chunk_id for c in chunks if c.metadata["source"] == str(files[0].resolve())]
    remove_paths(files[:1], index, settings)

    query = fake_embedder.embed_query("cranes at the harbour")
    found = index.dense_search(query, len(chosen), language="en", ids=chosen)
    assert {c.metadata["source"] for c in found} == {str(p.resolve()) for p in files[1:]}
    assert index.dense_search(query, 3, language="en", ids=removed) == []
