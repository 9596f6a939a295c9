"""Language detection with lingua: documents may be 'other'; questions are one of the served three."""

from __future__ import annotations

import re
from functools import lru_cache

from lingua import Language, LanguageDetectorBuilder

SERVED = ("zh", "es", "en")
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
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
    if len(_CJK.findall(text)) / len(letters) > 0.3:
        return "zh"
    return None


def detect_question_language(text: str, default: str = "en") -> str:
    """zh, es or en, reliable on short questions (script first, then lingua on the three)."""
    guess = _script_guess(text)
    if guess == "zh":
        return "zh"
    if not _LETTER.search(text):
        return default
    if re.search(r"[¿¡ñ]", text, re.IGNORECASE):
        return "es"
    language = _served_detector().detect_language_of(text)
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
