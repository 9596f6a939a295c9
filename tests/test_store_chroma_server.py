"""The same ingest and query against a real `chroma run` server instead of the embedded store."""

from __future__ import annotations

import pytest
from fixtures_builders import EN_CLIMATE, ES_INVESTMENT, ZH_TRADE, write_txt

from store import open_index

pytestmark = [pytest.mark.chroma_server, pytest.mark.slow]


def test_ingest_list_and_query_through_a_chroma_server(
    tmp_path, chroma_server, run_ingest, make_settings, fused_embedder, monkeypatch
):
    assert chroma_server.startup_s < 20, f"chroma run took {chroma_server.startup_s:.1f} s to answer"
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    folder = tmp_path / "reports"
    files = {
        "zh": write_txt(folder / "trade.txt", ZH_TRADE),
        "es": write_txt(folder / "inversion.txt", ES_INVESTMENT),
        "en": write_txt(folder / "climate.txt", EN_CLIMATE),
    }
    server = ("--chroma-host", chroma_server.host, "--chroma-port", chroma_server.port)
    settings = make_settings(chroma_host=chroma_server.host, chroma_port=chroma_server.port)

    result = run_ingest(*server, folder)
    assert result.returncode == 0, result.output
    assert "3 added" in result.stdout

    listing = run_ingest(*server, "--list", "--json")
    assert listing.returncode == 0, listing.output
    assert {d["source"]: d["language"] for d in listing.json()} == {
        str(path.resolve()): language for language, path in files.items()
    }
    # the server holds the data; the local store folder only holds the writers' lock
    assert (chroma_server.path / "chroma.sqlite3").exists()
    assert not (settings.store_dir / "chroma.sqlite3").exists()

    index = open_index(settings, fused_embedder)
    assert len(index.documents()) == 3
    hits = index.dense_search(fused_embedder.embed_query("¿Cuánto creció la inversión en energías renovables?"), k=3)
    assert hits[0].metadata["source"] == str(files["es"].resolve())
    assert "inversión" in hits[0].text
    hits = index.dense_search(fused_embedder.embed_query("全球贸易增长"), k=3)
    assert hits[0].metadata["source"] == str(files["zh"].resolve())

    again = run_ingest(*server, folder)
    assert "0 added, 0 updated, 3 unchanged" in again.stdout and "0 chunks embedded" in again.stdout
