"""Collections from the CLI: `python -m ingest --collection NAME` keeps a forum's documents apart, `--list` counts
per collection, and a bad or unknown collection name is one error line with exit 2."""

from __future__ import annotations

import json

from fixtures_builders import write_txt

ALPHA = "Alpha Forum Report\n\nThe alpha forum met in Lima in 2024 to discuss copper mining and smelters.\n"
BETA = "Beta Forum Report\n\nThe beta forum met in Quito in 2025 to discuss fisheries and ports.\n"


def test_ingest_into_collections_and_list_them_per_collection(ingest_in_process, tmp_path):
    alpha, beta = write_txt(tmp_path / "alpha.txt", ALPHA), write_txt(tmp_path / "beta.txt", BETA)
    assert ingest_in_process("--embedder", "fake", "--collection", "alpha", alpha).returncode == 0
    added = ingest_in_process("--embedder", "fake", "--collection", "beta", beta)
    assert added.returncode == 0 and "1 added" in added.stdout, added.output

    listing = ingest_in_process("--embedder", "fake", "--list")
    assert listing.returncode == 0, listing.output
    lines = listing.stdout.splitlines()
    assert lines[0] == "[forum]" and "0 documents, 0 chunks in collection forum" in lines  # the default, empty
    assert "1 documents, 1 chunks in collection alpha" in lines and "1 documents, 1 chunks in collection beta" in lines
    assert lines[-1] == "3 collections: 2 documents, 2 chunks"
    assert lines.index("[beta]") < lines.index("1 documents, 1 chunks in collection beta")

    records = json.loads(ingest_in_process("--embedder", "fake", "--list", "--json").stdout)
    assert {(r["collection"], r["title"]) for r in records} == {("alpha", "Alpha Forum Report"),
                                                                ("beta", "Beta Forum Report")}
    only = ingest_in_process("--embedder", "fake", "--list", "--collection", "beta")
    assert "Beta Forum Report" in only.stdout and "Alpha" not in only.stdout
    assert only.stdout.splitlines()[-1] == "1 documents, 1 chunks"

    # Removing names the collection: alpha's report is not in beta.
    missing = ingest_in_process("--embedder", "fake", "--collection", "beta", "--remove", alpha)
    assert missing.returncode == 1 and "not found" in missing.stdout
    removed = ingest_in_process("--embedder", "fake", "--collection", "alpha", "--remove", alpha)
    assert removed.returncode == 0 and "removed" in removed.stdout


def test_a_store_without_collections_lists_as_before(ingest_in_process, tmp_path):
    report = write_txt(tmp_path / "alpha.txt", ALPHA)
    assert ingest_in_process("--embedder", "fake", report).returncode == 0
    listing = ingest_in_process("--embedder", "fake", "--list")
    assert "[" not in listing.stdout.splitlines()[0] and listing.stdout.splitlines()[-1] == "1 documents, 1 chunks"


def test_a_bad_or_unknown_collection_is_one_error_line_and_creates_nothing(ingest_in_process, tmp_path):
    report = write_txt(tmp_path / "alpha.txt", ALPHA)
    for args, says in [(("--collection", "Bad-Name", report), "is not a collection name"),
                       (("--collection", "no", report), "is not a collection name"),
                       (("--list", "--collection", "nowhere"), "no collection named 'nowhere'"),
                       (("--refine", "--collection", "nowhere"), "no collection named 'nowhere'"),
                       (("--remove", "--collection", "nowhere", report), "no collection named 'nowhere'")]:
        result = ingest_in_process("--embedder", "fake", *args)
        assert result.returncode == 2, (args, result.output)
        assert result.stderr.startswith("error: ") and says in result.stderr and "Traceback" not in result.stderr
    assert "nowhere" not in ingest_in_process("--embedder", "fake", "--list").stdout
