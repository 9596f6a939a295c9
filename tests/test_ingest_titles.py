"""Titles: from each format's own metadata or heading, else the first short line, else the file name; given by
hand with `python -m ingest --title`, and then kept when the file changes and is ingested again."""

from __future__ import annotations

import json

import pytest
from fixtures_builders import EN_CLIMATE, ES_INVESTMENT, write_docx, write_html, write_pdf, write_txt

from ingest.loaders import load_docx, load_html, load_markdown, load_pdf, load_text
from ingest.pipeline import ingest_paths, set_title
from store import open_index


@pytest.mark.parametrize(("text", "title"), [
    ("Nota sobre cooperación portuaria\n\nContexto\nTras el foro...", "Nota sobre cooperación portuaria"),
    ("\n\n  中拉青年学者交流计划  \n\n背景……", "中拉青年学者交流计划"),
    (EN_CLIMATE, ""),  # a long first line is the text itself
    ("The forum met in Shanghai.\nMore text.", ""),  # a sentence, not a title
    ("Delegates said:\nMore text.", ""),
    ("2025-11-07\nMore text.", ""),  # no letter
])
def test_a_text_files_title_is_its_first_short_line(tmp_path, text, title):
    assert load_text(text.encode(), tmp_path / "x.txt").title == title


def test_markdown_front_matter_title_wins_and_is_not_indexed(tmp_path):
    data = '---\ntitle: "Informe de inversión 2025"\nauthor: Equipo\n---\n# Resumen\n\n' + ES_INVESTMENT
    loaded = load_markdown(data.encode(), tmp_path / "x.md")
    assert loaded.title == "Informe de inversión 2025"
    assert "author" not in loaded.text and ES_INVESTMENT in loaded.text


def test_markdown_title_is_its_first_top_heading_else_its_first_short_line(tmp_path):
    with_heading = f"Intro line\n\n## Detail\n\ntext\n\n# Coastal climate\n\n{EN_CLIMATE}"
    assert load_markdown(with_heading.encode(), tmp_path / "x.md").title == "Coastal climate"
    setext = f"Coastal climate report\n======================\n\n{EN_CLIMATE}"
    assert load_markdown(setext.encode(), tmp_path / "x.md").title == "Coastal climate report"


def test_html_title_element_wins_over_the_first_heading(tmp_path):
    path = write_html(tmp_path / "x.html", "Coastal climate report", [("Sea levels", EN_CLIMATE)])
    assert load_html(path.read_bytes(), path).title == "Coastal climate report"


def test_a_pdf_writers_placeholder_title_gives_way_to_the_first_short_line(tmp_path):
    pages = [["Informe sobre el agua", "La gestión del agua mejora la salud pública."]]
    for placeholder in ("Microsoft Word - agua.docx", "Untitled", "informe_final.pdf"):
        path = write_pdf(tmp_path / "x.pdf", pages, title=placeholder)
        assert load_pdf(path.read_bytes(), path).title == "Informe sobre el agua", placeholder


def test_a_docx_placeholder_title_gives_way_to_the_first_heading(tmp_path):
    path = write_docx(tmp_path / "x.docx", "Renewable energy outlook", ["Body text."], core_title="Document1")
    assert load_docx(path.read_bytes(), path).title == "Renewable energy outlook"


def test_a_title_given_by_hand_reaches_the_sources_and_survives_a_new_version(tmp_path, make_settings,
                                                                              fake_embedder):
    report = write_txt(tmp_path / "reports" / "climate.txt", EN_CLIMATE)
    settings = make_settings(embedder="fake")
    index = open_index(settings, fake_embedder)
    ingest_paths([report], index, settings)
    assert [d.title for d in index.documents()] == ["climate"]  # no title line: the file name

    record = set_title(report, "  Coastal climate\n report ", index, settings)
    assert record.title == "Coastal climate report" and record.title_set
    assert {c.metadata["title"] for c in index.committed_chunks()} == {"Coastal climate report"}

    write_txt(report, "Sea walls\n\n" + EN_CLIMATE + " A new paragraph.")  # its own first line would be a title
    ingest_paths([report], index, settings)
    assert [(d.title, d.title_set) for d in index.documents()] == [("Coastal climate report", True)]
    assert {c.metadata["title"] for c in index.committed_chunks()} == {"Coastal climate report"}
    assert set_title(tmp_path / "not-stored.txt", "X", index, settings) is None


@pytest.mark.slow
def test_ingest_title_flag_titles_one_file(tmp_path, run_ingest):
    report = write_txt(tmp_path / "reports" / "climate.txt", EN_CLIMATE)
    result = run_ingest("--embedder", "fake", "--title", "Coastal climate report", report)
    assert result.returncode == 0, result.output
    assert "title: Coastal climate report" in result.stdout
    again = run_ingest("--embedder", "fake", "--title", "Climate, second title", report)  # unchanged file
    assert again.returncode == 0 and "1 unchanged" in again.stdout, again.output
    listed = run_ingest("--embedder", "fake", "--list", "--json")
    assert [d["title"] for d in json.loads(listed.stdout)] == ["Climate, second title"]

    refused = run_ingest("--embedder", "fake", "--title", "One title", report.parent)
    assert refused.returncode == 2 and "--title" in refused.stderr
