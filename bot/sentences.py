"""Sentence splitting for Chinese, Spanish and English text, and the answer-type cues of a sentence."""

from __future__ import annotations

import re

from textkit.scripts import HAN_CHAR

# End of a sentence: Chinese punctuation, or . ! ? followed by space, except after a short abbreviation or a
# single capital (initials) and never between digits (518.47).
_SPLIT = re.compile(r"(?<=[。！？；!?])\s*|(?<=[^\d\s][^\d\s.][.])\s+(?=[\"“¿¡(\[A-ZÁÉÍÓÚÑ0-9])|\n+")
_MIN_CHARS = 12


_ABBREVIATION = re.compile(r"\b(Dr|Dra|Mr|Mrs|Ms|Sr|Sra|Srta|Prof|St|No|Nos|Vol|Inc|Ltd|Jr|etc|vs|e\.g|i\.e|U\.S)\.$")


def _pieces(text: str) -> list[str]:
    merged: list[str] = []
    for piece in _SPLIT.split(text):
        if piece is None:
            continue
        if merged and _ABBREVIATION.search(merged[-1]):
            merged[-1] = f"{merged[-1]} {piece}"
        else:
            merged.append(piece)
    return merged


_HEADING_WORDS = 6  # a line without final punctuation and this few words is a heading ("Launch and host city")


def _is_sentence(piece: str) -> bool:
    """Drop headings and labels ("Expected results"): too short to answer anything."""
    if HAN_CHAR.search(piece):
        return len(piece) >= 6
    words = len(piece.split())
    if words <= _HEADING_WORDS and not re.search(r"[.!?:;…”\")]$", piece) and not _NUMBERED_ITEM.match(piece):
        return False
    return len(piece) >= _MIN_CHARS and words >= 4


def split_sentences(text: str) -> list[str]:
    out = []
    for piece in _pieces(text):
        piece = re.sub(r"^[#>*\-•\s]+", "", piece or "").strip()
        if _is_sentence(piece):
            out.append(piece)
    return out


_QUESTION_TYPES = {
    "quantity": re.compile(
        r"how (much|many)|what (was|is) the (value|amount|volume|figure|number|total)|多少|几|cu[aá]nt[oa]s?\b|"
        r"qu[eé] (monto|cantidad|cifra|volumen|valor)|percentage|porcentaje|百分之|规模|总额",
        re.IGNORECASE,
    ),
    "date": re.compile(
        r"\bwhen\b|what (year|date|day|month)|which (year|date|day)|何时|什么时候|哪一?年|哪一?天|几月|日期|"
        r"cu[aá]ndo|qu[eé] (a[nñ]o|fecha|d[ií]a|mes)|en qu[eé] (a[nñ]o|fecha)",
        re.IGNORECASE,
    ),
    "person": re.compile(r"\bwho(m|se)?\b|谁|哪位|何人|qui[eé]n(es)?\b", re.IGNORECASE),
    "place": re.compile(r"\bwhere\b|哪里|哪儿|在哪|何地|什么地方|d[oó]nde\b|en qu[eé] (lugar|ciudad|pa[ií]s)",
                        re.IGNORECASE),
}

_NUMBER = re.compile(
    # a lone 一 before a classifier is mostly the article "a" (一个平台, "a platform"), not a count; 一万, 一亿 are
    r"\d|(?:[二三四五六七八九十百千万亿两]|[一二三四五六七八九十百千万亿两]{2,})[多余]?[位个家项名]|"
    r"[一二三四五六七八九十百千万亿两]+[多余]?[亿万%％]|percent|"
    r"por ciento|\b(?:two|three|four|five|six|"
    r"seven|eight|nine|ten|twelve|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|hundreds?|thousands?|"
    r"millions?|billions?|dozens?|dos|tres|cuatro|cinco|seis|siete|ocho|nueve|diez|doce|veinte|treinta|cuarenta|"
    r"cincuenta|sesenta|setenta|ochenta|noventa|cien|cientos?|mil|millones|decenas?)\b",
    re.IGNORECASE,
)
_DATE = re.compile(
    r"\b(1[89]|20)\d\d\b|\d{1,2}\s*(月|日)|\b(january|february|march|april|may|june|july|august|september|october|"
    r"november|december|enero|febrero|marzo|abril|mayo|junio|julio|agosto|septiembre|octubre|noviembre|"
    r"diciembre)\b",
    re.IGNORECASE,
)
_NAME = re.compile(r"\b[A-ZÁÉÍÓÚÑ][a-záéíóúñ]+(?:\s+(?:de\s+|del\s+)?[A-ZÁÉÍÓÚÑ][a-záéíóúñ]+)+|[\u4e00-\u9fff]{2,4}"
                   r"(?:先生|女士|博士|教授|院长|副院长|大使|主任|部长)|(?:院长|大使|主任|部长|教授|博士)[\u4e00-\u9fff]{2,3}|"
                   r"[\u4e00-\u9fff]{2,4}（[A-Z]")


# a place is named after a locative: "held at SASS", "en la Academia de…", "in Shanghai" (not any name)
_PLACE = re.compile(r"\b(?:at|in|en)\s+(?:the\s+|la\s+|el\s+|los\s+|las\s+)?[A-ZÁÉÍÓÚÑ]")
_PLACE_ZH = re.compile(r"在[\u4e00-\u9fff]{2,12}(举行|举办|召开)|[\u4e00-\u9fff]{2,6}(市|省|院|大学|中心|港)")


def question_type(question: str) -> str | None:
    for name, pattern in _QUESTION_TYPES.items():
        if pattern.search(question):
            return name
    return None


def matches_type(sentence: str, qtype: str | None) -> bool:
    if qtype == "quantity":
        return bool(_NUMBER.search(sentence))
    if qtype == "date":
        return bool(_DATE.search(sentence))
    if qtype == "person":
        return bool(_NAME.search(sentence))
    if qtype == "place":
        return bool(_PLACE.search(sentence) or _PLACE_ZH.search(sentence))
    return False


_LIST_QUESTION = re.compile(
    r"\bwhat (are|were) the\b.*\b(points|areas|challenges|priorities|recommendations|measures|issues|steps)\b|"
    r"\b(which|what) (challenges|areas|points|priorities|countries|recommendations)\b|\blist\b|\bthree\b|"
    r"\bcu[aá]les\b|\bqu[eé] (desaf[ií]os|retos|[aá]reas|puntos|pa[ií]ses|recomendaciones|prioridades)\b|\btres\b|"
    r"哪些|哪几|几点|三点|什么挑战|什么共识",
    re.IGNORECASE,
)
_ORDINALS = {
    1: ("first", "firstly", "primero", "en primer lugar", "第一", "首先", "一是"),
    2: ("second", "secondly", "segundo", "en segundo lugar", "第二", "其次", "二是"),
    3: ("third", "thirdly", "tercero", "en tercer lugar", "第三", "再次", "三是"),
    4: ("fourth", "cuarto", "第四", "四是"),
    5: ("fifth", "quinto", "第五", "五是"),
    9: ("finally", "lastly", "por último", "finalmente", "最后"),
}
_LIST_ITEM = re.compile(  # Latin ordinals as words; Chinese ones followed by a comma ("第一次会议" is no item)
    "^(?:" + "|".join(re.escape(w) for ws in _ORDINALS.values() for w in ws if w.isascii() or " " in w) + r")[,:]|"
    "^(?:" + "|".join(re.escape(w) for ws in _ORDINALS.values() for w in ws if not w.isascii()) + ")[，,、：:]|"
    "^[一二三四五]是",
    re.IGNORECASE,
)


def asks_for_list(question: str) -> bool:
    """"What are the three points…", "¿Qué desafíos…?", "有哪些挑战": the answer is several items."""
    return bool(_LIST_QUESTION.search(question))


_NUMBERED_ITEM = re.compile(r"^(\d{1,2})[.)、](?!\d)\s*")


def list_item_rank(sentence: str) -> int:
    """1 for "First, …" / "Primero, …" / "首先，…", 2 for the second item, …; 0 for a sentence that is not one."""
    text = sentence.strip().lower()
    numbered = _NUMBERED_ITEM.match(text)
    if numbered:
        return int(numbered.group(1))
    if not _LIST_ITEM.match(text):
        return 0
    return next(rank for rank, words in _ORDINALS.items() if any(text.startswith(w) for w in words))
