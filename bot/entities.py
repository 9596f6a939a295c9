"""What a question names, and whether a document mentions it.

A question about "trade with Brazil in 2024" is not answered by a report that never mentions Brazil, however
close the rest of its words are. Figures are the same in every language; names in Latin script are compared
accent- and case-folded, allowing one letter of difference ("Brasil", "Brazil") or a shared stem
("Latin", "latinoamericanos").
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path

from textkit.tokens import fold_accents

_FIGURE = re.compile(r"(?<![\d.,])(?:\d{3,}|\d{1,3}(?:[.,]\d{3})+)(?:[.,]\d+)?(?![\d])")
_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)
_LATIN_NAME = re.compile(r"(?<=[\s(“\"'])[A-ZÁÉÍÓÚÑ][a-záéíóúñü]{2,}|(?<=[\s(“\"'])[A-Z]{2,6}\b")
_STEM = 5
_PLACES = Path(__file__).with_name("places.json")
_LISTED_PLACES = 3
_SENTENCE_END = re.compile(r"(?<=[.!?。！？；;])\s*|\n")


def named_in(question: str) -> tuple[set[str], set[str]]:
    """(figures, Latin-script names) of a question: numbers of three digits or more (years, amounts; "Super
    Bowl 50" may well be "this year's final" in the text), and capitalised words that don't start it."""
    figures = {m.group(0) for m in _FIGURE.finditer(question)}
    names = {m.group(0) for m in _LATIN_NAME.finditer(question)}
    return figures, names


def _folded_words(text: str) -> set[str]:
    return set(_WORD.findall(fold_accents(text).lower()))


def _shared_prefix(a: str, b: str) -> int:
    return next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))


def _mentions_name(name: str, words: set[str]) -> bool:
    """Exactly, or as a word sharing its stem ("Chinese"/"China", "Latin"/"latinoamericanos"), or with one
    letter of difference ("Brasil"/"Brazil")."""
    name = fold_accents(name).lower()
    if name in words:
        return True
    if any(_shared_prefix(w, name) >= max(_STEM - 1, min(len(w), len(name)) - 1) for w in words):
        return True
    return len(name) >= _STEM and any(
        len(w) == len(name) and sum(a != b for a, b in zip(w, name)) == 1 for w in words
    )


def _digits(text: str) -> str:
    """Digits with their group and decimal separators removed: "120,000", "120.000" and "120000" agree."""
    return re.sub(r"(?<=\d)[.,\u00a0 ](?=\d)", "", text)


def _pattern(spellings: dict[str, str]) -> re.Pattern:
    """Longest first, so that "拉美国家" is Latin America and not "美国", "South Africa" not also "Africa".
    Latin spellings are whole words (accents and case folded), with a plural ending allowed."""
    alternatives = sorted(spellings, key=len, reverse=True)
    latin = "|".join(re.escape(a) for a in alternatives if a.isascii())
    other = "|".join(re.escape(a) for a in alternatives if not a.isascii())
    return re.compile(rf"\b(?P<name>{latin})(?:e?s)?\b|(?P<han>{other})")


@lru_cache(maxsize=1)
def _places() -> tuple[re.Pattern, re.Pattern, dict[str, str]]:
    """(a pattern of the places' names, one of their names and adjectives, spelling -> English name)."""
    data = json.loads(_PLACES.read_text(encoding="utf-8"))
    names = {fold_accents(s).lower(): p[0] for p in data["places"] for s in p}
    adjectives = {fold_accents(s).lower(): place for place, words in data["adjectives"].items() for s in words}
    return _pattern(names), _pattern({**names, **adjectives}), {**names, **adjectives}


def places_in(text: str, adjectives: bool = False) -> set[str]:
    """The places (by English name) that `text` names in en, es or zh; with `adjectives`, also those it
    only qualifies ("Chinese", "peruanos"). A question's places are its names: "the British colony" may well
    be a text about England."""
    names, everything, english = _places()
    pattern = everything if adjectives else names
    folded = fold_accents(text).lower()
    return {english[m.group("name") or m.group("han")] for m in pattern.finditer(folded)}


def places_discussed(text: str) -> set[str]:
    """The places `text` says something about: those named in a sentence that names at most
    _LISTED_PLACES of them. A place that only appears in a list ("experts from Mexico, Argentina, Peru, Chile…")
    does not make the text an answer to "what did Peru sign?" or "how much did China trade with Mexico?"."""
    out: set[str] = set()
    for sentence in _SENTENCE_END.split(text):
        places = places_in(sentence, adjectives=True)
        if len(places) <= _LISTED_PLACES:
            out |= places
    return out


def names_anything(question: str) -> bool:
    figures, names = named_in(question)
    return bool(figures or names or places_in(question))


def missing(question: str, text: str, text_language: str, names: bool = True) -> list[str]:
    """The figures, places and, when `names`, other names of `question` that `text` does not mention.
    Places are known in every language (places.json). Other names are checked only against Latin-script text
    in the question's language: across languages they are unreliable ("French" is "francés", "Andean"
    "andino"), and a Chinese document writes them in characters."""
    figures, named = named_in(question)
    digits = _digits(text)
    out = [f for f in figures if not re.search(rf"(?<!\d){re.escape(_digits(f))}(?!\d)", digits)]
    out += sorted(places_in(question) - places_discussed(text))
    if names and text_language in ("en", "es"):
        words = _folded_words(text)
        out += [n for n in named if not places_in(n) and not _mentions_name(n, words)]
    return out
