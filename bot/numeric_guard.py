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
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from bot.citations import CITATION, cited_numbers

# --- markers that are not figures (citations are found by bot.citations) -------------------------------------

_LIST_MARKER = re.compile(r"(?m)^[ \t]*(?:[-*•][ \t]*)?\d{1,2}[.)、．][ \t]+")


# --- numbers -------------------------------------------------------------------------------------------------

_ARABIC = re.compile(r"(?<![\d.,])(\d{1,3}(?:[,.\u00a0\u202f]\d{3})+(?:[.,]\d+)?|\d+(?:[.,]\d+)?)(?![.,]?\d)")

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


PLAIN, BASE, SCALED = "plain", "base", "scaled"


@dataclass(frozen=True)
class Candidate:
    value: Decimal
    quantum: Decimal  # the precision it was written with: 0.01 for 518.47, 10^7 for 518.47 billion
    kind: str = PLAIN  # plain: no scale word; base: 518.47 of "518.47 billion"; scaled: 518470000000


@dataclass
class NumberMention:
    raw: str  # as written, with its scale word or percent sign
    start: int
    end: int
    candidates: tuple[Candidate, ...]

    @property
    def is_year(self) -> bool:
        plain = self.raw.strip()
        return plain.isdigit() and len(plain) == 4 and 1900 <= int(plain) <= 2100


@dataclass
class SourceNumbers:
    """The values one or more sources support: `values` (written without a scale word, or already scaled) and
    `bases` (the 518.47 of "518.47 billion": enough for an answer that drops the scale, not one that changes it)."""

    values: set[Decimal] = field(default_factory=set)
    bases: set[Decimal] = field(default_factory=set)

    def __or__(self, other: SourceNumbers) -> SourceNumbers:
        return SourceNumbers(self.values | other.values, self.bases | other.bases)


def _quantum(reading: str) -> Decimal:
    """0.01 for '518.47', 1 for '600'."""
    decimals = len(reading.split(".")[1]) if "." in reading else 0
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
    if commas + dots > 1:
        return [token.replace(sep, "")]
    if len(token.rsplit(sep, 1)[1]) == 3:  # 1,234 / 1.234: thousands or decimals
        return [token.replace(sep, ""), token.replace(sep, ".")]
    return [token.replace(sep, ".")]


def _candidates(readings: Iterable[str], scale: Decimal | None) -> tuple[Candidate, ...]:
    out: list[Candidate] = []
    for reading in readings:
        try:
            value = Decimal(reading)
        except InvalidOperation:
            continue
        quantum = _quantum(reading)
        if scale is None:
            out.append(Candidate(value, quantum))
        else:
            out += [Candidate(value, quantum, BASE), Candidate(value * scale, (quantum * scale).normalize(), SCALED)]
    return tuple(dict.fromkeys(out))


def _zh_value(text: str) -> int | None:
    """七十 -> 70, 一百二十 -> 120, 三万五千 -> 35000, 二零二三 -> 2023; None when not a numeral."""
    if not text:
        return None
    if all(ch in _ZH_DIGITS for ch in text):
        return int("".join(str(_ZH_DIGITS[ch]) for ch in text))
    total, section, digit = 0, 0, None
    for ch in text:
        if ch in _ZH_DIGITS:
            if digit and _ZH_DIGITS[ch]:
                return None  # two digits in a row inside a numeral with units: not one number
            digit = _ZH_DIGITS[ch]
        elif ch in _ZH_UNITS:
            section += (1 if digit is None else digit) * _ZH_UNITS[ch]
            digit = None
        else:  # 万 / 亿
            section += digit or 0
            if ch == "亿":
                total = (total + section) * _ZH_BIG[ch]
            else:
                total += section * _ZH_BIG[ch]
            section, digit = 0, None
    return total + section + (digit or 0)


def _arabic_mentions(text: str) -> list[NumberMention]:
    out = []
    for match in _ARABIC.finditer(text):
        end = match.end()
        scale = None
        scale_match = _SCALE_AFTER.match(text, end)
        if scale_match:
            scale, end = _SCALE_OF[scale_match.group(1).lower()], scale_match.end()
        percent = _PERCENT_AFTER.match(text, end)
        if percent:
            end = percent.end()
        candidates = _candidates(_readings(match.group(1)), scale)
        out.append(NumberMention(text[match.start():end], match.start(), end, candidates))
    return out


def _zh_mentions(text: str, answer_side: bool) -> list[NumberMention]:
    out = []
    for match in _ZH_NUMERAL.finditer(text):
        raw = match.group(0)
        if answer_side and (len(raw) < 2 or not any(ch in _ZH_DIGITS for ch in raw) or raw[0] in "百千万亿"):
            continue  # words, not figures: 一些, 十分, 两国, 千万 ('by all means'), 万一 ('in case')
        value = _zh_value(raw)
        if value is None:
            continue
        candidates = [Candidate(Decimal(value), Decimal(1), SCALED if raw[-1] in "万亿" else PLAIN)]
        core = raw.rstrip("万亿")
        if core != raw and (core_value := _zh_value(core)) is not None:  # 三千亿 also reads 3000 (亿)
            candidates.append(Candidate(Decimal(core_value), Decimal(1), BASE))
        out.append(NumberMention(raw, match.start(), match.end(), tuple(candidates)))
    return out


def _word_values(text: str) -> list[Decimal]:
    """Numbers written as English/Spanish words ('seventy', 'setenta y cinco', 'two hundred')."""
    out = []
    for match in _WORD_RUN.finditer(text):
        current = 0
        for part in re.split(r"[ -]+|\s+(?:y|and)\s+", match.group(0).lower()):
            value = _WORDS.get(part)
            if value is None:
                continue
            current = max(current, 1) * 100 if part == "hundred" else current + value
        out.append(Decimal(current))
    return out


def _roman_value(token: str) -> int:
    total = 0
    for i, ch in enumerate(token):
        value = _ROMAN_VALUES[ch]
        total += -value if i + 1 < len(token) and _ROMAN_VALUES[token[i + 1]] > value else value
    return total


def _blank(match: re.Match) -> str:
    return " " * len(match.group(0))


def find_numbers(answer: str) -> list[NumberMention]:
    """The figures of an answer: Arabic numbers in any format (with scale word, %) and Chinese numerals.
    Citation markers [n] and list numbering ("1. ") are not figures."""
    cleaned = _LIST_MARKER.sub(_blank, CITATION.sub(_blank, answer))
    mentions = _arabic_mentions(cleaned)
    taken = [(m.start, m.end) for m in mentions]
    mentions += [m for m in _zh_mentions(cleaned, answer_side=True) if not any(s <= m.start < e for s, e in taken)]
    return sorted(mentions, key=lambda m: m.start)


def source_numbers(text: str) -> SourceNumbers:
    """Every value a source text supports, in every reading of its numbers, plus numbers written as words,
    month names and Roman numerals (XV)."""
    out = SourceNumbers()
    for mention in [*_arabic_mentions(text), *_zh_mentions(text, answer_side=False)]:
        for candidate in mention.candidates:
            (out.bases if candidate.kind == BASE else out.values).add(candidate.value)
    out.values.update(_word_values(text))
    out.values.update(Decimal(_MONTHS[m.group(1).lower()]) for m in _MONTH_WORD.finditer(text))
    out.values.update(Decimal(_roman_value(m.group(0))) for m in _ROMAN.finditer(text) if m.group(0))
    return out


def _matches(candidate: Candidate, values: Iterable[Decimal]) -> bool:
    for value in values:
        if value == candidate.value:
            return True
        # rounded to the precision the answer wrote (518.5 or 518 for 518.47), keeping 2+ significant digits
        # (so "2" is not supported by any 1.6 of the sources)
        if abs(candidate.value) < 10 * candidate.quantum or abs(value) < candidate.quantum:
            continue
        try:
            if value.quantize(candidate.quantum, ROUND_HALF_UP) == candidate.value:
                return True
        except InvalidOperation:
            continue
    return False


def is_supported(mention: NumberMention, numbers: SourceNumbers) -> bool:
    for candidate in mention.candidates:
        # a figure without scale may come from "518.47 billion"; "518.47 trillion" may not
        pool = numbers.values | numbers.bases if candidate.kind == PLAIN else numbers.values
        if _matches(candidate, pool):
            return True
    return False


def unsupported_numbers(answer: str, sources: Sequence[str], cited: Sequence[int] | None = None) -> list[str]:
    """Figures of `answer` found in none of its cited sources (1-based; all of `sources` when it cites none).

    `sources` are the texts of the numbered sources, in order. A year (1900-2100) is also accepted when any of
    the sources has it. Returns each unsupported figure once, as written (with its scale word or %).
    """
    if cited is None:
        cited = cited_numbers(answer, len(sources))
    chosen = [sources[n - 1] for n in cited if 1 <= n <= len(sources)] or list(sources)
    numbers = SourceNumbers()
    for text in chosen:
        numbers = numbers | source_numbers(text)
    everything: SourceNumbers | None = None
    out: list[str] = []
    for mention in find_numbers(answer):
        if is_supported(mention, numbers):
            continue
        if mention.is_year:
            if everything is None:
                everything = SourceNumbers()
                for text in sources:
                    everything = everything | source_numbers(text)
            if is_supported(mention, everything):
                continue
        raw = mention.raw.strip()
        if raw not in out:
            out.append(raw)
    return out


def hit_texts(hits: Sequence) -> list[str]:
    """What a numbered source offers for checking: its title and section, its chunk and the extra chunks."""
    out = []
    for hit in hits:
        meta = hit.metadata or {}
        parts = [meta.get("title", ""), meta.get("section", ""), hit.text, *getattr(hit, "extra_texts", [])]
        out.append("\n".join(p for p in parts if p))
    return out
