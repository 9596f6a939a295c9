"""Per-format loaders: titles, section headings and PDF pages, as they reach the stored chunks."""

from __future__ import annotations

import io

import pytest
from fixtures_builders import (
    EN_CLIMATE,
    ES_INVESTMENT,
    pdf_bytes,
    write_corrupt_pdf,
    write_docx,
    write_html,
    write_markdown,
    write_pdf,
    write_txt,
)

from ingest.errors import CorruptFile, EmptyDocument
from ingest.loaders import load_docx, load_html, load_pdf
from ingest.pipeline import ingest_paths, parse_file
from store import open_index


def test_hand_built_pdf_is_valid_and_its_text_extractable():
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(pdf_bytes([["Página uno (año)"], ["Page two \\ back"]], title="T")), strict=True)
    assert [p.extract_text().strip() for p in reader.pages] == ["Página uno (año)", "Page two \\ back"]
    assert reader.metadata["/Title"] == "T"


def test_pdf_title_comes_from_its_metadata_and_pages_are_numbered(tmp_path):
    path = write_pdf(tmp_path / "x.pdf", [["First page text."], [], ["Third page text."]], title="Water report")
    loaded = load_pdf(path.read_bytes(), path)
    assert loaded.title == "Water report"
    assert [(s.page, s.text) for s in loaded.sections] == [(1, "First page text."), (3, "Third page text.")]


def test_docx_core_title_wins_over_the_first_heading(tmp_path):
    path = write_docx(tmp_path / "x.docx", "First heading", ["Body text."], core_title="Core title")
    assert load_docx(path.read_bytes(), path).title == "Core title"


def test_html_without_title_uses_its_first_heading_and_drops_scripts(tmp_path):
    data = b"<html><body><script>secret()</script><h1>Main heading</h1><p>Body text.</p></body></html>"
    loaded = load_html(data, tmp_path / "x.html")
    assert loaded.title == "Main heading"
    assert "secret" not in loaded.text and "Body text." in loaded.text


@pytest.mark.parametrize(
    ("name", "data", "error"),
    [
        ("empty.txt", b"", EmptyDocument),
        ("blank.md", b"  \n\n\t \n", EmptyDocument),
        ("no-text.html", b"<html><head><title>t</title></head><body><script>x()</script></body></html>", EmptyDocument),
        ("blank.pdf", pdf_bytes([[]]), EmptyDocument),
        ("broken.docx", b"PK\x03\x04 not really a zip", CorruptFile),
    ],
)
def test_files_without_text_are_refused_with_a_named_error(tmp_path, make_settings, name, data, error):
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(error):
        parse_file(path, data, make_settings())


def test_corrupt_pdf_is_a_corrupt_file(tmp_path, make_settings):
    path = write_corrupt_pdf(tmp_path / "broken.pdf")
    with pytest.raises(CorruptFile, match="PDF"):
        parse_file(path, path.read_bytes(), make_settings())


def test_headings_land_in_chunk_section_and_pdf_chunks_carry_their_page(tmp_path, make_settings, fake_embedder):
    folder = tmp_path / "reports"
    md = write_markdown(
        folder / "inversion.md", "Informe de inversión",
        [("Energías renovables", ES_INVESTMENT), ("Educación", "La educación rural necesita más escuelas.")],
    )
    html = write_html(
        folder / "climate.html", "Coastal climate report",
        [("Sea levels", EN_CLIMATE), ("Early warning", "Early warning systems save lives in floods.")],
    )
    docx = write_docx(
        folder / "energy.docx", "Renewable energy outlook", ["Solar capacity doubled in five years."],
        sections=[("Storage", ["Grid storage remains the main bottleneck."])],
    )
    pdf = write_pdf(
        folder / "agua.pdf",
        [["Informe sobre el agua potable en las ciudades."], ["Segunda página: depuradoras urgentes."]],
    )
    plain = write_txt(folder / "notes.txt", "Plain notes without any heading at all.")
    settings = make_settings(embedder="fake", chunk_size=120, chunk_overlap=20)
    index = open_index(settings, fake_embedder)

    report = ingest_paths([folder], index, settings)

    assert not report.failed, report.failed
    chunks = index.committed_chunks()

    def of(path):
        return [c for c in chunks if c.metadata["source"] == str(path.resolve())]

    def section_for(path, needle):
        found = {c.metadata["section"] for c in of(path) if needle in c.text}
        assert found, f"{needle!r} not stored for {path.name}: {[c.text for c in of(path)]}"
        return found

    assert section_for(md, "energías renovables") == {"Energías renovables"}
    assert section_for(md, "escuelas") == {"Educación"}
    assert section_for(html, "sea levels threaten") == {"Sea levels"}
    assert section_for(html, "save lives in floods") == {"Early warning"}
    assert not any("do-not-index" in c.text for c in chunks)
    assert section_for(docx, "Solar capacity") == {"Renewable energy outlook"}
    assert section_for(docx, "Grid storage") == {"Storage"}
    assert section_for(plain, "Plain notes") == {""}

    pdf_chunks = of(pdf)
    assert {c.metadata["page"] for c in pdf_chunks} == {1, 2}
    for chunk in pdf_chunks:
        assert ("Segunda página" in chunk.text) == (chunk.metadata["page"] == 2)
    assert all("page" not in c.metadata for c in chunks if c.metadata["source"] != str(pdf.resolve()))
