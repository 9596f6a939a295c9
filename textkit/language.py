"""Language detection with lingua: documents may be 'other'; questions are one of the served three."""

from __future__ import annotations

import re
from functools import lru_cache

from lingua import Language, LanguageDetectorBuilder

from textkit.scripts import HAN, HAN_CHAR

SERVED = ("zh", "es", "en")  # the languages questions are answered in, and the interface's
DOCUMENT_LANGUAGES = (*SERVED, "other")  # what a document can be detected as
_KANA_HANGUL = re.compile(r"[\u3040-\u30ff\uac00-\ud7af]")
_LETTER = re.compile(r"[^\W\d_]")
_CODES = {Language.CHINESE: "zh", Language.SPANISH: "es", Language.ENGLISH: "en"}
# Near neighbours of the served languages, so that a French or Portuguese report is 'other', not 'es'.
_OTHERS = (Language.FRENCH, Language.PORTUGUESE, Language.ITALIAN, Language.GERMAN, Language.DUTCH,
           Language.CATALAN, Language.JAPANESE, Language.KOREAN, Language.RUSSIAN, Language.ARABIC)


@lru_cache(maxsize=1)
def _served_detector():
    return LanguageDetectorBuilder.from_languages(*_CODES).build()


@lru_cache(maxsize=1)
def _wide_detector():
    return LanguageDetectorBuilder.from_languages(*_CODES, *_OTHERS).build()


def _script_guess(text: str) -> str | None:
    letters = _LETTER.findall(text)
    if not letters:
        return None
    if _KANA_HANGUL.search(text):
        return "other"
    if len(HAN_CHAR.findall(text)) / len(letters) > 0.3:
        return "zh"
    return None


_NOT_CJK_LETTER = rf"(?:(?![{HAN}])[^\W\d_])"
# A word of Latin (or other non-CJK) letters, with inner apostrophes and hyphens: "China's", "Rojas-Rachel".
_WORD = re.compile(rf"{_NOT_CJK_LETTER}+(?:['’-]{_NOT_CJK_LETTER}+)*")
_SENTENCE_START = re.compile(r"(?:^|[.!?。！？:;¿¡\n])[\s\"'«“‘(\[]*$")
_SENTENCE_END = re.compile(r"[\s\"'»”’)\]]*(?:[.!?。！？:;\n]|$)")
# lingua's confidence (of the three served languages, summing to 1) needed to trust a short question;
# a residue of a few letters ("OK", "no") must be all but certain (an accent, "sí").
CONFIDENT = 0.75
SHORT_LETTERS, SHORT_CONFIDENT = 4, 0.99


def _capitalised_runs(text: str, words: list[re.Match]) -> list[list[re.Match]]:
    """Capitalised words, grouped into runs of neighbours separated by spaces only."""
    runs: list[list[re.Match]] = []
    previous = None
    for word in words:
        if word.group(0)[0].isupper():
            if runs and runs[-1][-1] is previous and not text[previous.end() : word.start()].strip():
                runs[-1].append(word)
            else:
                runs.append([word])
        previous = word
    return runs


def strip_names(text: str) -> str:
    """The text without the words that look like names: capitalised words that do not start a sentence
    ("Who is Claudio Rojas Rachel?", "What is CELAC?"), and a whole sentence of two or more capitalised words
    ("Claudio Rojas Rachel?"). A sentence's first word stays when more follows ("What Columbia President went…").
    Names say little about the language a visitor writes in, and lingua reads "Rojas" as Spanish."""
    names: list[re.Match] = []
    for run in _capitalised_runs(text, list(_WORD.finditer(text))):
        initial = bool(_SENTENCE_START.search(text[: run[0].start()]))
        whole = initial and len(run) > 1 and bool(_SENTENCE_END.match(text, run[-1].end()))
        names += run if whole or not initial else run[1:]
    out, last = [], 0
    for name in names:
        out.append(text[last : name.start()])
        last = name.end()
    return "".join(out) + text[last:]


def _confident(language: Language | None, confidence: float, letters: int) -> bool:
    needed = SHORT_CONFIDENT if letters < SHORT_LETTERS else CONFIDENT
    return language in _CODES and confidence >= needed


def detect_question_language(text: str, default: str = "en", prior: str | None = None) -> str:
    """zh, es or en, reliable on short questions: script first, then lingua on the three, with names set aside.

    `prior` (the visitor's interface language, if served) decides when the text is ambiguous: no letters, only
    names ("Claudio Rojas Rachel?"), or a residue lingua is unsure of ("OK"). Without it, ambiguous text gets
    lingua's best guess, and text without letters `default`."""
    prior = prior if prior in SERVED else None
    if _script_guess(text) == "zh":
        return "zh"
    if not _LETTER.search(text):
        return prior or default
    if re.search(r"[¿¡]", text):
        return "es"
    rest = strip_names(text)
    if _script_guess(rest) == "zh":  # "Claudio Rojas Rachel是谁？"
        return "zh"
    if re.search(r"ñ", rest, re.IGNORECASE):
        return "es"
    letters = len(_LETTER.findall(rest))
    if letters:
        best = _served_detector().compute_language_confidence_values(rest)[0]
        if _confident(best.language, best.value, letters):
            return _CODES[best.language]
    if prior:
        return prior
    language = _served_detector().detect_language_of(rest if letters else text)
    return _CODES.get(language, default)


def detect_document_language(text: str) -> str:
    """zh, es, en or other, from a sample of the document."""
    sample = text[:6000]
    guess = _script_guess(sample)
    if guess is not None:
        return guess
    if not _LETTER.search(sample):
        return "other"
    language = _wide_detector().detect_language_of(sample)
    return _CODES.get(language, "other")
