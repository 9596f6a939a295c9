"""DOCX to sections, read straight from the package's XML in one streaming pass: time linear in the file's size.

Styles are read once (style id -> name), then the body's top-level paragraphs are streamed and dropped as they
are read, so neither time nor memory depends on python-docx's per-paragraph style lookups. Like python-docx's
`Document.paragraphs`, only the body's own paragraphs give text (not table cells or text boxes), but every
paragraph counts towards MAX_PARAGRAPHS and is freed once read."""

from __future__ import annotations

import io
import posixpath
import zipfile
from pathlib import Path

from ingest.errors import CorruptFile, FileTooLarge
from ingest.loaded import LoadedDocument, Section
from ingest.titles import first_line_title, metadata_title

# Format guards that refuse a bomb at once; the operator's budget is file_timeout_s and parse_memory_mb.
MAX_UNCOMPRESSED = 200 * 1024 * 1024
MAX_PARAGRAPHS = 100_000  # a long report has a few thousand; far more in a small file is a parse bomb

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}Relationship"
_DC_TITLE = "{http://purl.org/dc/elements/1.1/}title"
_RUN_TEXT = {f"{_W}t": None, f"{_W}tab": "\t", f"{_W}ptab": "\t", f"{_W}br": "\n", f"{_W}cr": "\n",
             f"{_W}noBreakHyphen": "-"}


def _xml(archive: zipfile.ZipFile, name: str):
    from lxml import etree

    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    return etree.parse(archive.open(name), parser).getroot()


def _targets(archive: zipfile.ZipFile, rels_name: str, base: str) -> dict[str, str]:
    """Relationship type (its last word) -> part name, from a .rels part; {} when there is none."""
    if rels_name not in archive.namelist():
        return {}
    out = {}
    for rel in _xml(archive, rels_name).iter(_REL):
        target = rel.get("Target", "")
        name = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join(base, target))
        out.setdefault(rel.get("Type", "").rsplit("/", 1)[-1], name)
    return out


def _style_names(archive: zipfile.ZipFile, styles_part: str | None) -> dict[str, str]:
    if not styles_part or styles_part not in archive.namelist():
        return {}
    names = {}
    for style in _xml(archive, styles_part).iter(f"{_W}style"):
        name = style.find(f"{_W}name")
        names[style.get(f"{_W}styleId", "")] = (name.get(f"{_W}val", "") if name is not None else "").lower()
    return names


def _paragraph_text(paragraph) -> str:
    runs = (r for child in paragraph for r in ((child,) if child.tag == f"{_W}r" else
                                               child.iterchildren(f"{_W}r") if child.tag == f"{_W}hyperlink" else ()))
    parts = []
    for run in runs:
        for item in run:
            if item.tag in _RUN_TEXT:
                fixed = _RUN_TEXT[item.tag]
                if item.tag == f"{_W}br" and item.get(f"{_W}type", "textWrapping") != "textWrapping":
                    fixed = ""  # page and column breaks, as python-docx reads them
                parts.append(item.text or "" if fixed is None else fixed)
    return "".join(parts)


def _is_heading(style_id: str | None, styles: dict[str, str]) -> bool:
    name = styles.get(style_id or "", "")
    return name.startswith("heading") or name == "title"


def _body_paragraphs(archive: zipfile.ZipFile, part: str, styles: dict[str, str]):
    """(is heading, text) of each top-level paragraph of the body, streamed; every paragraph (in tables and
    text boxes too) is counted and dropped once read."""
    from lxml import etree

    body, count = f"{_W}body", 0
    for _, element in etree.iterparse(archive.open(part), events=("end",), tag=f"{_W}p",
                                      resolve_entities=False, no_network=True):
        count += 1
        if count > MAX_PARAGRAPHS:
            raise FileTooLarge(f"DOCX holds more than {MAX_PARAGRAPHS:,} paragraphs (a parse bomb?)")
        parent = element.getparent()
        if parent is not None and parent.tag == body:
            style = element.find(f"{_W}pPr/{_W}pStyle")
            yield _is_heading(style.get(f"{_W}val") if style is not None else None, styles), _paragraph_text(element)
        element.clear()
        if parent is None:
            continue
        while element.getprevious() is not None:  # drop what has been read: memory stays flat
            del parent[0]


def load_docx(data: bytes, path: Path) -> LoadedDocument:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            if sum(info.file_size for info in archive.infolist()) > MAX_UNCOMPRESSED:
                raise FileTooLarge(f"DOCX expands to more than {MAX_UNCOMPRESSED / 1048576:g} MB (zip bomb?)")
            package = _targets(archive, "_rels/.rels", "")
            main = package.get("officeDocument") or "word/document.xml"
            core = package.get("core-properties")
            title = ""
            if core and core in archive.namelist():
                found = _xml(archive, core).find(_DC_TITLE)
                title = metadata_title(found.text) if found is not None else ""
            folder = posixpath.dirname(main)
            rels = _targets(archive, posixpath.join(folder, "_rels", posixpath.basename(main) + ".rels"), folder)
            styles = _style_names(archive, rels.get("styles"))
            sections: list[Section] = []
            heading, lines = "", []
            for is_heading, raw in _body_paragraphs(archive, main, styles):
                text = raw.strip()
                if not text:
                    continue
                if is_heading:
                    if lines:
                        sections.append(Section("\n".join(lines), heading))
                    heading, lines = text, []
                    title = title or text
                else:
                    lines.append(text)
    except (FileTooLarge, MemoryError):
        raise
    except Exception as exc:  # zipfile/lxml raise many unrelated types on broken files
        raise CorruptFile(f"unreadable DOCX ({type(exc).__name__}: {str(exc)[:120]})") from exc
    if lines:
        sections.append(Section("\n".join(lines), heading))
    return LoadedDocument(title or first_line_title(sections[0].text if sections else ""), sections)
