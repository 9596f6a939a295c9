"""What a loader makes of a file: a title and sections of plain text."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Section:
    text: str
    heading: str = ""
    page: int | None = None


@dataclass
class LoadedDocument:
    title: str = ""
    sections: list[Section] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "\n\n".join(s.text for s in self.sections)
