"""Builders for test documents in every supported format, written into a test's tmp folder.

No binary fixtures are committed: each test generates exactly the files it needs.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from pathlib import Path

# --- texts (each with words the tests look for) ---

ZH_TRADE = (
    "二零二三年论坛报告指出，全球贸易增长放缓。"
    "发展中国家的出口面临新的挑战！"
    "各国代表讨论了供应链的韧性问题？"
    "与会者一致认为，数字贸易是未来增长的关键；"
    "报告建议加强区域合作，降低关税壁垒。"
    "中小企业需要更多的融资渠道和技术支持。"
)

ES_INVESTMENT = (
    "El informe del foro de este año analiza la inversión extranjera directa en América Latina. "
    "La inversión en energías renovables creció un veinte por ciento durante el año pasado. "
    "Los participantes señalaron que la educación y la innovación son claves para el desarrollo. "
    "Además, recomendaron mejorar la infraestructura de transporte en las zonas rurales."
)

EN_CLIMATE = (
    "The forum report discusses climate adaptation in coastal cities. "
    "Rising sea levels threaten harbours, wetlands and fisheries along the coast. "
    "Delegates agreed that early warning systems save lives during floods and storms. "
    "The report recommends public funding for sea walls and mangrove restoration."
)


def write_txt(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode(encoding))
    return path


def write_markdown(path: Path, title: str, sections: Sequence[tuple[str, str]]) -> Path:
    """`# title`, then one `## heading` per (heading, body) section."""
    lines = [f"# {title}", ""]
    for heading, body in sections:
        lines += [f"## {heading}", "", body, ""]
    return write_txt(path, "\n".join(lines))


def write_html(path: Path, title: str, sections: Sequence[tuple[str, str]], lang: str = "en") -> Path:
    """A page with <title>, a script that must not be indexed, and one <h2> per (heading, body) section."""
    body = "".join(f"<h2>{html.escape(h)}</h2>\n<p>{html.escape(b)}</p>\n" for h, b in sections)
    page = (
        f'<!DOCTYPE html>\n<html lang="{lang}"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        "<script>var trackingSecret = 'do-not-index';</script></head>\n"
        f"<body><nav>menu</nav>\n{body}</body></html>\n"
    )
    return write_txt(path, page)


def write_docx(
    path: Path, heading: str, paragraphs: Sequence[str], core_title: str | None = None,
    sections: Sequence[tuple[str, Sequence[str]]] = (),
) -> Path:
    """A DOCX with a level-1 heading, paragraphs, optional further (heading, paragraphs) sections."""
    import docx

    document = docx.Document()
    if core_title is not None:
        document.core_properties.title = core_title
    document.add_heading(heading, level=1)
    for paragraph in paragraphs:
        document.add_paragraph(paragraph)
    for sub_heading, sub_paragraphs in sections:
        document.add_heading(sub_heading, level=2)
        for paragraph in sub_paragraphs:
            document.add_paragraph(paragraph)
    path.parent.mkdir(parents=True, exist_ok=True)
    document.save(str(path))
    return path


def _pdf_string(line: str) -> bytes:
    raw = line.encode("cp1252")
    return b"(" + raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)") + b")"


def pdf_bytes(pages: Sequence[Sequence[str]], title: str | None = None) -> bytes:
    """A minimal valid PDF 1.4: one Helvetica (WinAnsi) text page per entry, each line a text row.

    Text must be representable in cp1252 (English/Spanish); the xref offsets are computed exactly.
    """
    objects: list[bytes] = []

    def add(body: bytes) -> int:
        objects.append(body)
        return len(objects)

    catalog = add(b"")  # filled in once the pages object exists
    pages_obj = add(b"")
    font = add(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")
    page_ids = []
    for lines in pages:
        ops = [b"BT", b"/F1 11 Tf", b"14 TL", b"50 780 Td"]
        for line in lines:
            ops += [_pdf_string(line) + b" Tj", b"T*"]
        ops.append(b"ET")
        stream = b"\n".join(ops)
        content = add(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
        page_ids.append(add(
            b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 612 842] " % pages_obj
            + b"/Resources << /Font << /F1 %d 0 R >> >> /Contents %d 0 R >>" % (font, content)
        ))
    objects[catalog - 1] = b"<< /Type /Catalog /Pages %d 0 R >>" % pages_obj
    kids = b" ".join(b"%d 0 R" % p for p in page_ids)
    objects[pages_obj - 1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, len(page_ids))
    info = add(b"<< /Title %s /Producer (forumqa tests) >>" % _pdf_string(title)) if title else None

    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    trailer = b"<< /Size %d /Root %d 0 R" % (len(objects) + 1, catalog)
    if info:
        trailer += b" /Info %d 0 R" % info
    out += b"trailer\n" + trailer + b" >>\nstartxref\n%d\n%%%%EOF\n" % xref
    return bytes(out)


def write_pdf(path: Path, pages: Sequence[Sequence[str]], title: str | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pdf_bytes(pages, title))
    return path


def write_corrupt_pdf(path: Path) -> Path:
    """Starts like a PDF, then is garbage: no objects, no xref, no trailer."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"%PDF-1.7\n" + bytes(range(256)) * 8 + b"\nthis is not a pdf body\n")
    return path


def build_mixed_corpus(folder: Path) -> dict[str, Path]:
    """One file per format across zh/es/en, plus a corrupt PDF and an empty file.

    Returns name -> path; the expected languages and titles are in EXPECTED_CORPUS.
    """
    folder.mkdir(parents=True, exist_ok=True)
    files = {
        "txt": write_txt(folder / "贸易报告.txt", ZH_TRADE * 3),
        "md": write_markdown(
            folder / "inversion.md", "Informe de inversión",
            [("Energías renovables", ES_INVESTMENT), ("Educación", "La educación es clave para el desarrollo "
                                                     "de las comunidades rurales y urbanas del país.")],
        ),
        "html": write_html(
            folder / "climate.html", "Coastal climate report",
            [("Sea levels", EN_CLIMATE), ("Early warning", "Early warning systems save lives in floods.")],
        ),
        "pdf": write_pdf(
            folder / "agua.pdf",
            [
                ["Informe sobre el agua potable en las ciudades.", "La gestión del agua mejora la salud pública."],
                ["Segunda página: la inversión en depuradoras es urgente.", "Los municipios piden más fondos."],
            ],
        ),
        "docx": write_docx(
            folder / "energy.docx", "Renewable energy outlook",
            ["Solar and wind power capacity doubled in the region over five years.",
             "Grid storage remains the main bottleneck for further growth of renewables."],
        ),
        "corrupt": write_corrupt_pdf(folder / "broken.pdf"),
        "empty": write_txt(folder / "empty.txt", ""),
    }
    return files


# name -> (language, title) for the good files of build_mixed_corpus
EXPECTED_CORPUS = {
    "txt": ("zh", "贸易报告"),
    "md": ("es", "Informe de inversión"),
    "html": ("en", "Coastal climate report"),
    "pdf": ("es", "agua"),
    "docx": ("en", "Renewable energy outlook"),
}
