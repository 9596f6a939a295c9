"""One loader per format, each turning a file's bytes into a title and sections of plain text."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from pathlib import Path

from bs4 import BeautifulSoup

from ingest.decoding import decode_text
from ingest.docx_loader import load_docx
from ingest.errors import CorruptFile
from ingest.loaded import LoadedDocument, Section
from ingest.titles import first_line_title, metadata_title, split_front_matter

_NOISE_TAGS = ("script", "style", "noscript", "iframe", "object", "embed", "svg", "template", "head")
_HEADINGS = ("h1", "h2", "h3", "h4")


def load_text(data: bytes, path: Path) -> LoadedDocument:
    text = decode_text(data)
    return LoadedDocument(first_line_title(text), [Section(text)])


def load_markdown(data: bytes, path: Path) -> LoadedDocument:
    from langchain_text_splitters import MarkdownHeaderTextSplitter  # slow to import: only when needed

    front_title, text = split_front_matter(decode_text(data))
    splitter = MarkdownHeaderTextSplitter(
        headers_to_split_on=[("#", "h1"), ("##", "h2"), ("###", "h3")], strip_headers=True
    )
    parts = splitter.split_text(text)
    heading_title = next((p.metadata["h1"] for p in parts if p.metadata.get("h1")), "")
    title = front_title or heading_title or first_line_title(parts[0].page_content if parts else "")
    sections = []
    for part in parts:
        heading = part.metadata.get("h3") or part.metadata.get("h2") or part.metadata.get("h1") or ""
        sections.append(Section(part.page_content, heading))
    return LoadedDocument(title, sections)


def load_html(data: bytes, path: Path) -> LoadedDocument:
    soup = BeautifulSoup(decode_text(data), "html.parser")
    title = soup.title.get_text(" ", strip=True) if soup.title else ""
    for tag in soup(_NOISE_TAGS):
        tag.decompose()
    first_heading = soup.find(_HEADINGS)
    title = title or (first_heading.get_text(" ", strip=True) if first_heading else "")
    marker = "\u0000HEADING\u0000"
    for heading in soup.find_all(_HEADINGS):
        heading.replace_with(f"\n{marker}{heading.get_text(' ', strip=True)}\n")
    text = soup.get_text("\n")
    sections, heading = [], ""
    for block in re.split(f"\n(?={marker})", text):
        if block.startswith(marker):
            heading, _, block = block[len(marker):].partition("\n")
        body = _tidy(block)
        if body:
            sections.append(Section(body, heading.strip()))
    return LoadedDocument(title, sections)


def load_pdf(data: bytes, path: Path) -> LoadedDocument:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            raise CorruptFile("encrypted PDF")
        title = metadata_title((reader.metadata or {}).get("/Title")) if reader.metadata else ""
        sections = []
        for number, page in enumerate(reader.pages, start=1):
            body = _tidy(page.extract_text() or "")
            if body:
                sections.append(Section(body, "", number))
    except CorruptFile:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, IndexError, AssertionError,
            RecursionError, OSError, ZeroDivisionError) as exc:
        raise CorruptFile(f"unreadable PDF ({type(exc).__name__}: {str(exc)[:120]})") from exc
    return LoadedDocument(title or first_line_title(sections[0].text if sections else ""), sections)


def _tidy(text: str) -> str:
    lines = (re.sub(r"[ \t\u00a0]+", " ", line).strip() for line in text.splitlines())
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


Loader = Callable[[bytes, Path], LoadedDocument]

LOADERS: dict[str, Loader] = {
    ".txt": load_text,
    ".md": load_markdown,
    ".markdown": load_markdown,
    ".html": load_html,
    ".htm": load_html,
    ".pdf": load_pdf,
    ".docx": load_docx,
}
