"""Where a document's title comes from when its format says nothing better: the first short line of its text,
a Markdown front matter's `title:`, and which metadata titles are not titles at all.

Each loader takes its format's own title first (PDF and DOCX metadata, HTML <title> then <h1>, Markdown front
matter then the first `#` heading) and falls back to `first_line_title`; without any, the pipeline uses the file
name. `python -m ingest --title` and `PATCH /api/documents/{id}` set one by hand."""

from __future__ import annotations

import re

TITLE_LINE_CHARS = 120
# A line ending like a sentence or a clause is the start of the text, not its title.
_SENTENCE_END = re.compile(r"[.!?。！？;；:：,，…]$")
_LETTER = re.compile(r"[^\W\d_]")
_FRONT_MATTER = re.compile(r"\A\ufeff?---[ \t]*\r?\n(.*?)\r?\n(?:---|\.\.\.)[ \t]*(?:\r?\n|\Z)", re.DOTALL)
_FRONT_MATTER_TITLE = re.compile(r"^title[ \t]*:[ \t]*(.+?)[ \t]*$", re.MULTILINE | re.IGNORECASE)
# What PDF and DOCX writers put in the title field when the author gave none.
_PLACEHOLDER_TITLE = re.compile(
    r"^(untitled|sin t[ií]tulo|无标题|title|document\d*|presentation\d*|slide \d+)$"
    r"|^microsoft (word|powerpoint|excel) - "
    r"|\.(docx?|pdf|odt|rtf|txt|pptx?|indd|qxp)$",
    re.IGNORECASE,
)


def first_line_title(text: str) -> str:
    """The first non-empty line, when it reads as a title: at most TITLE_LINE_CHARS characters, with a letter in
    it, not ending in sentence or clause punctuation (. ! ? ; : , and their CJK forms). Else ""."""
    for line in text.splitlines():
        line = " ".join(line.split())
        if line:
            fits = len(line) <= TITLE_LINE_CHARS and _LETTER.search(line) and not _SENTENCE_END.search(line)
            return line if fits else ""
    return ""


def metadata_title(value: object) -> str:
    """A title from a file's metadata, or "" for none or for a writer's placeholder ("Untitled",
    "Microsoft Word - x.docx", a file name)."""
    title = " ".join(str(value or "").split())
    return "" if _PLACEHOLDER_TITLE.search(title) else title


def split_front_matter(text: str) -> tuple[str, str]:
    """(the front matter's `title:`, the text after the front matter); ("", text) without front matter."""
    found = _FRONT_MATTER.match(text)
    if not found:
        return "", text
    title = _FRONT_MATTER_TITLE.search(found.group(1))
    value = title.group(1).strip() if title else ""
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        value = value[1:-1].strip()
    return value, text[found.end():]
