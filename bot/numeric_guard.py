"""Numbers in a generated answer that none of its cited sources contains.

A generative answerer may invent or garble figures. Every number of the answer (518.47, 518,47, 1,234, 35 %,
5184.7亿, 七十 ...) is compared with the numbers of the sources the answer cites ([n]); when it cites none, with
all the sources it was given. Formats are normalised before comparing, so "518,47" (Spanish decimal comma) is
supported by "518.47", "5184.7亿美元" by "US$518.47 billion" and "600 mil millones" by "6000亿". A figure rounded
to fewer digits than the source ("518.5", "518") counts as supported. Citation markers and list numbering are not
numbers of the answer; a year is also accepted when any provided source mentions it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

# --- citations -----------------------------------------------------------------------------------------------

_CITATION = re.compile(r"[\[【［]\s*(\d{1,3}(?:\s*[,，、;]\s*\d{1,3})*)\s*[\]】］]")
_LIST_MARKER = re.compile(r"(?m)^[ \t]*(?:[-*•][ \t]*)?\d{1,2}[.)、．][ \t]+")


def cited_numbers(answer: str, n_sources: int | None = None) -> list[int]:
    """The citation numbers [n] / [1, 2] / 【n】 of an answer, in order of first use (valid ones when n_sources)."""
    out: list[int] = []
    for match in _CITATION.finditer(answer):
        for part in re.split(r"[,，、;]", match.group(1)):
            n = int(part.strip())
            if n not in out and (n_sources is None or 1 <= n <= n_sources):
                out.append(n)
    return out


# --- numbers -------------------------------------------------------------------------------------------------

_ARABIC_ANY = re.compile(r"(?<![\d.,])(\d{1,3}(?:[,.\u00a0\u202f]\d{3})+(?:[.,]\d+)?|\d+(?:[.,]\d+)?)(?![.,]?\d)")

_SCALES: list[tuple[str, Decimal]] = [
    # longest first; matched right after the number (after optional spaces)
    ("万亿", Decimal(10) ** 12), ("千亿", Decimal(10) ** 11), ("百亿", Decimal(10) ** 10), ("十亿", Decimal(10) ** 9),
    ("千万", Decimal(10) ** 7), ("百万", Decimal(10) ** 6), ("亿", Decimal(10) ** 8), ("万", Decimal(10) ** 4),
    ("mil millones", Decimal(10) ** 9), ("millardos", Decimal(10) ** 9), ("millardo", Decimal(10) ** 9),
    ("trillions", Decimal(10) ** 12), ("trillion", Decimal(10) ** 12), ("billones", Decimal(10) ** 12),
    ("billón", Decimal(10) ** 12), ("billions", Decimal(10) ** 9), ("billion", Decimal(10) ** 9),
    ("bn", Decimal(10) ** 9), ("millones", Decimal(10) ** 6), ("millón", Decimal(10) ** 6),
    ("millions", Decimal(10) ** 6), ("million", Decimal(10) ** 6), ("mn", Decimal(10) ** 6),
    ("thousand", Decimal(10) ** 3), ("mil", Decimal(10) ** 3), ("千", Decimal(10) ** 3),
]
_SCALE_AFTER = re.compile(
    r"[ \t\u00a0]*(" + "|".join(re.escape(word) for word, _ in _SCALES) + r")(?![a-záéíóúñ])", re.IGNORECASE
)
_SCALE_OF = {word.lower(): value for word, value in _SCALES}
_PERCENT_AFTER = re.compile(r"[ \t\u00a0]*(%|％|por ?ciento|percent|per cent)", re.IGNORECASE)

_ZH_DIGITS = {
    "零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9,
}
_ZH_UNITS = {"十": 10, "百": 100, "千": 1000}
_ZH_BIG = {"万": 10**4, "亿": 10**8}
_ZH_NUMERAL = re.compile(r"[零〇一二两三四五六七八九十百千万亿]+")

_WORDS = {
    # English
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
    "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16,
    "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50,
    "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90, "hundred": 100, "dozen": 12,
    # Spanish
    "cero": 0, "uno": 1, "una": 1, "dos": 2, "tres": 3, "cuatro": 4, "cinco": 5, "seis": 6, "siete": 7, "ocho": 8,
    "nueve": 9, "diez": 10, "once": 11, "doce": 12, "trece": 13, "catorce": 14, "quince": 15, "dieciséis": 16,
    "diecisiete": 17, "dieciocho": 18, "diecinueve": 19, "veinte": 20, "veintiuno": 21, "veintidós": 22,
    "veintitrés": 23, "veinticuatro": 24, "veinticinco": 25, "veintiséis": 26, "veintisiete": 27, "veintiocho": 28,
    "veintinueve": 29, "treinta": 30, "cuarenta": 40, "cincuenta": 50, "sesenta": 60, "setenta": 70, "ochenta": 80,
    "noventa": 90, "cien": 100, "ciento": 100, "doscientos": 200, "trescientos": 300, "cuatrocientos": 400,
    "quinientos": 500, "seiscientos": 600, "setecientos": 700, "ochocientos": 800, "novecientos": 900,
}
_WORD_RUN = re.compile(
    r"\b(?:" + "|".join(sorted(map(re.escape, _WORDS), key=len, reverse=True)) + r")"
    r"(?:(?:[ -]|\s+y\s+|\s+and\s+)(?:" + "|".join(sorted(map(re.escape, _WORDS), key=len, reverse=True)) + r"))*\b",
    re.IGNORECASE,
)
_MONTHS = {
    "january": 1, "february": 2, "march": 3, "april": 4, "may": 5, "june": 6, "july": 7, "august": 8,
    "september": 9, "october": 10, "november": 11, "december": 12, "enero": 1, "febrero": 2, "marzo": 3,
    "abril": 4, "mayo": 5, "junio": 6, "julio": 7, "agosto": 8, "septiembre": 9, "setiembre": 9, "octubre": 10,
    "noviembre": 11, "diciembre": 12,
}
_MONTH_WORD = re.compile(r"\b(" + "|".join(_MONTHS) + r")\b", re.IGNORECASE)
_ROMAN = re.compile(r"\b(?=[MDCLXVI]{2,})M{0,3}(?:CM|CD|D?C{0,3})(?:XC|XL|L?X{0,3})(?:IX|IV|V?I{0,3})\b")
_ROMAN_VALUES = {"M": 1000, "D": 500, "C": 100, "L": 50, "X": 10, "V": 5, "I": 1}


@dataclass(frozen=True)
class Candidate:
    value: Decimal
    quantum: Decimal  # the precision the figure was written with (0.01 for 518.47, 10^7 for 518.47e9 ...)


@dataclass
class NumberMention:
    raw: str  # as written, with its scale word or percent sign
    start: int
    end: int
    candidates: tuple[Candidate, ...]

    @property
    def is_year(self) -> bool:
        return any(c.quantum == 1 and 1900 <= c.value <= 2100 for c in self.candidates) and "." not in self.raw \
            and "," not in self.raw and not any(ch.isspace() for ch in self.raw)


def _exponent_quantum(digits: str) -> Decimal:
    """0.01 for '518.47', 1 for '600'."""
    decimals = len(digits.split(".")[1]) if "." in digits else 0
    return Decimal(1).scaleb(-decimals)


def _readings(token: str) -> list[str]:
    """Plain decimal strings a written number may stand for: '1,234' is 1234 (en) or 1.234 (es)."""
    token = token.replace("\u00a0", "").replace("\u202f", "")
    commas, dots = token.count(","), token.count(".")
    if commas and dots:
        decimal_sep = "," if token.rfind(",") > token.rfind(".") else "."
        thousands = "." if decimal_sep == "," else ","
        return [token.replace(thousands, "").replace(decimal_sep, ".")]
    sep = "," if commas else "." if dots else ""
    if not sep:
        return [token]
    count = commas or dots
    tail = token.rsplit(sep, 1)[1]
    if count > 1:
        return [token.replace(sep, "")]
    if len(tail) == 3:  # 1,234 / 1.234: thousands or decimals
        return [token.replace(sep, ""), token.replace(sep, ".")]
    return [token.replace(sep, ".")]


def _candidates(readings: Iterable[str], scale: Decimal | None) -> tuple[Candidate, ...]:
    out: list[Candidate] = []
    for reading in readings:
        try:
            value = Decimal(reading)
        except InvalidOperation:
            continue
        quantum = _exponent_quantum(reading)
        out.append(Candidate(value, quantum))
        if scale is not None:
            out.append(Candidate(value * scale, quantum * scale))
    return tuple(dict.fromkeys(out))


def _zh_value(text: str) -> int | None:
    """七十 -> 70, 一百二十 -> 120, 三万五千 -> 35000, 二零二三 -> 2023; None when not a numeral."""
    if not text:
        return None
    if all(ch in _ZH_DIGITS for ch in text):
        if len(text) == 1:
            return _ZH_DIGITS[text]
        return int("".join(str(_ZH_DIGITS[ch]) for ch in text))
    total, section, digit = 0, 0, None
    for ch in text:
        if ch in _ZH_DIGITS:
            if digit is not None and digit != 0 and _ZH_DIGITS[ch] != 0:
                return None  # two digits in a row inside a unit numeral: not a number
            digit = _ZH_DIGITS[ch]
        elif ch in _ZH_UNITS:
            section += (1 if digit is None else digit) * _ZH_UNITS[ch]
            digit = None
        elif ch in _ZH_BIG:
            section += digit or 0
            total = (total + section) * _ZH_BIG[ch] if ch == "亿" else total + section * _ZH_BIG[ch]
            section, digit = 0, None
    return total + section + (digit or 0)


def _scale_at(text: str, pos: int) -> tuple[Decimal | None, int]:
    match = _SCALE_AFTER.match(text, pos)
    if not match:
        return None, pos
    return _SCALE_OF[match.group(1).lower()], match.end()


def _arabic_mentions(text: str, pattern: re.Pattern) -> list[NumberMention]:
    out = []
    for match in pattern.finditer(text):
        token = match.group(1)
        scale, end = _scale_at(text, match.end())
        percent = _PERCENT_AFTER.match(text, end)
        if percent:
            end = percent.end()
        out.append(NumberMention(text[match.start():end], match.start(), end, _candidates(_readings(token), scale)))
    return out


def _zh_mentions(text: str, answer_side: bool) -> list[NumberMention]:
    out = []
    for match in _ZH_NUMERAL.finditer(text):
        raw = match.group(0)
        core = raw.rstrip("万亿")
        big = raw[len(core):]
        if answer_side:
            # single characters (一些, 十分, 两国) and numerals without a digit (千万 'by all means') are words
            if len(raw) < 2 or not any(ch in _ZH_DIGITS for ch in raw) or raw[0] in "百千万亿":
                continue
        value = _zh_value(raw)
        if value is None:
            continue
        candidates = [Candidate(Decimal(value), Decimal(1))]
        if big and core:  # 三千亿 also reads as 3000 (亿)
            core_value = _zh_value(core)
            if core_value is not None:
                candidates.append(Candidate(Decimal(core_value), Decimal(1)))
        out.append(NumberMention(raw, match.start(), match.end(), tuple(candidates)))
    return out


def _word_values(text: str) -> list[Decimal]:
    """Numbers written as English/Spanish words in a source ('seventy', 'setenta y cinco', 'two hundred')."""
    out = []
    for match in _WORD_RUN.finditer(text):
        parts = [p for p in re.split(r"[ -]+|\s+(?:y|and)\s+", match.group(0).lower()) if p]
        total, current = 0, 0
        for part in parts:
            value = _WORDS.get(part)
            if value is None:
                continue
            if value == 100 and part in ("hundred",):
                current = max(current, 1) * 100
            else:
                current += value
        total += current
        out.append(Decimal(total))
    return out


def _roman_value(token: str) -> int:
    total = 0
    for i, ch in enumerate(token):
        value = _ROMAN_VALUES[ch]
        total += -value if i + 1 < len(token) and _ROMAN_VALUES[token[i + 1]] > value else value
    return total


def find_numbers(text: str) -> list[NumberMention]:
    """The numbers of an answer: Arabic (any format, with scale words and %) and Chinese numerals."""
    cleaned = _CITATION.sub(lambda m: " " * len(m.group(0)), text)
    cleaned = _LIST_MARKER.sub(lambda m: " " * len(m.group(0)), cleaned)
    mentions = _arabic_mentions(cleaned, _ARABIC_ANY)
    taken = [(m.start, m.end) for m in mentions]
    for mention in _zh_mentions(cleaned, answer_side=True):
        if not any(s <= mention.start < e for s, e in taken):
            mentions.append(mention)
    return sorted(mentions, key=lambda m: m.start)


def source_values(text: str) -> set[Decimal]:
    """Every value a source supports: its numbers in every reading, scaled and unscaled, plus number words."""
    values: set[Decimal] = set()
    for mention in _arabic_mentions(text, _ARABIC_ANY):
        values.update(c.value for c in mention.candidates)
    for mention in _zh_mentions(text, answer_side=False):
        values.update(c.value for c in mention.candidates)
    values.update(_word_values(text))
    values.update(Decimal(_MONTHS[m.group(1).lower()]) for m in _MONTH_WORD.finditer(text))
    values.update(Decimal(_roman_value(m.group(0))) for m in _ROMAN.finditer(text) if m.group(0))
    return values


def _quantize_safe(value: Decimal, quantum: Decimal) -> Decimal | None:
    try:
        return value.quantize(quantum, ROUND_HALF_UP)
    except InvalidOperation:
        return None


def unsupported_numbers(answer: str, sources: Sequence[str], cited: Sequence[int] | None = None) -> list[str]:
    """Numbers of `answer` found in none of the cited sources (1-based numbers; all sources when none is cited).

    `sources` are the texts of the numbered sources, in order. Returns each unsupported number once, as written.
    """
    if cited is None:
        cited = cited_numbers(answer, len(sources))
    chosen = [sources[n - 1] for n in cited if 1 <= n <= len(sources)] or list(sources)
    values: set[Decimal] = set()
    for text in chosen:
        values |= source_values(text)
    all_values: set[Decimal] | None = None
    out: list[str] = []
    for mention in find_numbers(answer):
        if _supported_safe(mention, values):
            continue
        if mention.is_year:
            if all_values is None:
                all_values = set().union(*(source_values(t) for t in sources)) if sources else set()
            if _supported_safe(mention, all_values):
                continue
        raw = mention.raw.strip()
        if raw not in out:
            out.append(raw)
    return out


def _supported_safe(mention: NumberMention, values: set[Decimal]) -> bool:
    for candidate in mention.candidates:
        if candidate.value in values:
            return True
    for candidate in mention.candidates:
        for value in values:
            # rounded to the precision the answer wrote (518.5 or 518 for 518.47), keeping 2+ significant digits
            # (so "2" is not supported by any 1.6 of the sources)
            if abs(candidate.value) < 10 * candidate.quantum or abs(value) < candidate.quantum:
                continue
            rounded = _quantize_safe(value, candidate.quantum)
            if rounded is not None and rounded == candidate.value:
                return True
    return False


def hit_texts(hits: Sequence) -> list[str]:
    """The text a numbered source offers for checking: title, section, its chunks."""
    out = []
    for hit in hits:
        meta = hit.metadata or {}
        parts = [meta.get("title", ""), meta.get("section", ""), hit.text, *getattr(hit, "extra_texts", [])]
        out.append("\n".join(p for p in parts if p))
    return out
