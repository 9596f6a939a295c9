"""`python -m bot ask --collection NAME` asks one forum's documents only, as the API, the widget and the chat do;
without it the default collection answers; a collection the store does not hold is one error line, exit 2, and
asking creates nothing."""

from __future__ import annotations

from fixtures_builders import write_txt

ALPHA = "Alpha Forum Report\n\nThe alpha forum met in Lima in 2024 to discuss copper mining and smelters.\n"
BETA = "Beta Forum Report\n\nThe beta forum met in Quito in 2025 to discuss fisheries and ports.\n"
DEFAULT = "Default Forum Report\n\nThe default forum met in Santiago in 2023 to discuss lithium and solar power.\n"
TITLES = {"alpha": "Alpha Forum Report", "beta": "Beta Forum Report", "forum": "Default Forum Report"}
QUESTION = "Where did the forum meet and what did it discuss?"


def test_bot_ask_answers_from_the_named_collection_only(ingest_in_process, run_main, tmp_path):
    for name, text in (("alpha", ALPHA), ("beta", BETA)):
        added = ingest_in_process("--embedder", "fake", "--collection", name, write_txt(tmp_path / f"{name}.txt", text))
        assert added.returncode == 0, added.output
    assert ingest_in_process("--embedder", "fake", write_txt(tmp_path / "default.txt", DEFAULT)).returncode == 0

    for asked in ("alpha", "beta", None):
        where = ("--collection", asked) if asked else ()
        result = run_main("bot", "ask", "--embedder", "fake", "--answerer", "fake", *where, "--json", QUESTION)
        assert result.returncode == 0, result.output
        answer = result.json()
        cited = {s["title"] for s in answer["sources"] + answer["also_retrieved"]}
        assert cited == {TITLES[asked or "forum"]}, (asked, cited)

    unknown = run_main("bot", "ask", "--embedder", "fake", "--answerer", "fake", "--collection", "gamma", QUESTION)
    assert unknown.returncode == 2 and unknown.stdout == ""
    assert unknown.stderr.strip() == ("error: no collection named 'gamma' in the store; python -m ingest --list "
                                      "shows them")
    malformed = run_main("bot", "ask", "--embedder", "fake", "--answerer", "fake", "--collection", "Bad-Name", "x")
    assert malformed.returncode == 2 and len(malformed.stderr.strip().splitlines()) == 1
    assert "is not a collection name" in malformed.stderr
    listing = ingest_in_process("--embedder", "fake", "--list").stdout
    assert "gamma" not in listing and listing.splitlines()[-1] == "3 collections: 3 documents, 3 chunks"
