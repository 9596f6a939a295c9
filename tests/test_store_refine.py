"""The default usem3+e5 index in two passes: documents are committed with provisional vectors (USE-m half) and
are searchable at once; refine() then fills in the mE5 half and marks each record final, its commit point."""

from __future__ import annotations

import numpy as np
import pytest
from fixtures_builders import EN_CLIMATE, ES_INVESTMENT, ZH_TRADE, write_txt

from bot import ForumQA
from ingest.pipeline import ingest_paths, refine_pending
from store import ChromaIndex, document_id, open_index

pytestmark = pytest.mark.slow  # the real mE5 model refines every store here


@pytest.fixture
def corpus(tmp_path):
    folder = tmp_path / "reports"
    write_txt(folder / "trade.txt", ZH_TRADE)
    write_txt(folder / "inversion.txt", ES_INVESTMENT)
    write_txt(folder / "climate.txt", EN_CLIMATE)
    return folder


def stored_vectors(index: ChromaIndex) -> dict[str, np.ndarray]:
    got = index.stored_rows(include=("embeddings",))
    return dict(zip(got["ids"], np.asarray(got["embeddings"])))


def test_provisional_documents_are_searchable_then_refined(make_settings, corpus, fused_embedder):
    settings = make_settings(answerer="extractive")
    index = open_index(settings, fused_embedder)
    report = ingest_paths([corpus], index, settings, refine=False)

    assert report.count("added") == 3 and report.chunks_refined == 0 and report.left_provisional == 3
    assert {r.vectors for r in index.documents()} == {"provisional"}
    answer = ForumQA(settings, index).ask("How do early warning systems help during floods?")
    assert answer.answered and answer.sources[0].source.endswith("climate.txt")

    provisional = stored_vectors(index)
    revision, state = index.revision(), index.state()
    refined = refine_pending(index, settings)

    assert refined == len(provisional) > 0
    assert {r.vectors for r in index.documents()} == {"final"}
    assert index.state() != state  # embedded readers in other processes reopen the store
    assert index.revision() == revision  # the texts are unchanged: BM25 is not rebuilt
    final = stored_vectors(index)
    fast = fused_embedder.fast.dimension
    got = index.stored_rows(include=("documents",))
    e5 = fused_embedder.slow.embed_array(got["documents"]) / np.sqrt(2)
    for i, chunk_id in enumerate(got["ids"]):
        np.testing.assert_allclose(final[chunk_id][:fast], provisional[chunk_id][:fast], atol=1e-6)  # kept
        np.testing.assert_allclose(final[chunk_id][fast:], e5[i], atol=1e-4)  # the real mE5 half
        assert not np.allclose(provisional[chunk_id][fast:], final[chunk_id][fast:], atol=1e-3)

    again = ingest_paths([corpus], index, settings)
    assert again.count("unchanged") == 3 and again.chunks_embedded == 0 and again.chunks_refined == 0


def test_cross_language_question_after_refinement(make_settings, corpus, fused_embedder):
    settings = make_settings(answerer="extractive")
    index = open_index(settings, fused_embedder)
    ingest_paths([corpus], index, settings)  # refines by default

    answer = ForumQA(settings, index).ask("¿Qué ponen en peligro los niveles del mar en las costas?")
    assert answer.sources[0].source.endswith("climate.txt")
    assert ForumQA(settings, index).ask("发展中国家的出口面临什么？").sources[0].source.endswith("trade.txt")


def test_a_crash_before_the_record_is_marked_final_leaves_it_provisional(make_settings, corpus, fused_embedder,
                                                                         monkeypatch):
    settings = make_settings()
    index = open_index(settings, fused_embedder)
    ingest_paths([corpus], index, settings, refine=False)
    original_commit = index.registry.commit

    def crash(*args, **kwargs):
        raise KeyboardInterrupt("killed between the vector update and the commit")

    monkeypatch.setattr(index.registry, "commit", crash)
    with pytest.raises(KeyboardInterrupt):
        refine_pending(index, settings)
    monkeypatch.setattr(index.registry, "commit", original_commit)

    reopened = open_index(settings, fused_embedder)
    assert {r.vectors for r in reopened.documents()} == {"provisional"}  # nothing claimed that wasn't done
    report = ingest_paths([corpus], reopened, settings)  # the next ingest finishes the job
    assert report.count("unchanged") == 3 and report.chunks_refined > 0 and report.left_provisional == 0
    assert {r.vectors for r in reopened.documents()} == {"final"}


def test_an_edited_provisional_document_is_replaced_not_refined(make_settings, corpus, fused_embedder):
    settings = make_settings()
    index = open_index(settings, fused_embedder)
    ingest_paths([corpus], index, settings, refine=False)
    stale = index.document(document_id(str((corpus / "climate.txt").resolve())))

    write_txt(corpus / "climate.txt", EN_CLIMATE + " Mangroves also protect the coast from erosion.")
    report = ingest_paths([corpus], index, settings)

    assert report.count("updated") == 1 and report.left_provisional == 0
    assert index.refine([stale]) == 0  # an old version is never refined over the new one
    current = index.document(stale.doc_id)
    assert current.sha256 != stale.sha256 and current.vectors == "final"
    assert index.repair() == 0  # no chunk of the old version is left behind


def test_cli_no_refine_then_refine(run_ingest, corpus):
    first = run_ingest("--no-refine", corpus)
    assert first.returncode == 0, first.output
    assert "3 documents have provisional vectors; run: python -m ingest --refine" in first.stdout
    assert first.stdout.count("[provisional vectors: run --refine]") == 0
    listing = run_ingest("--list")
    assert listing.stdout.count("[provisional vectors: run --refine]") == 3

    refined = run_ingest("--refine")
    assert refined.returncode == 0, refined.output
    assert "chunks refined" in refined.stdout and not refined.stdout.startswith("0 chunks")
    assert "provisional" not in run_ingest("--list").stdout
    assert run_ingest("--refine").stdout.startswith("0 chunks refined")
