"""Language-aware chunking with LangChain's recursive splitter.

Length is measured in Latin-equivalent characters: one CJK character carries about as much content as
`cjk_char_weight` Latin characters, so a Chinese chunk and an English chunk of the same size say about as much.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from langchain_text_splitters import RecursiveCharacterTextSplitter

from textkit.scripts import HAN

_CJK = re.compile(rf"[{HAN}\u3000-\u303f\uff00-\uffef]")  # ideographs, CJK punctuation and full-width forms

SEPARATORS = [
    "\n\n", "\n",
    "。", "！", "？", "；",  # Chinese sentence ends, kept at the end of the sentence
    ". ", "! ", "? ", "; ",
    "，", ", ", " ", "",
]


def weighted_length(cjk_char_weight: float) -> Callable[[str], int]:
    def length(text: str) -> int:
        cjk = len(_CJK.findall(text))
        return int(len(text) - cjk + cjk * cjk_char_weight)

    return length


def make_splitter(chunk_size: int, chunk_overlap: int, cjk_char_weight: float) -> RecursiveCharacterTextSplitter:
    return RecursiveCharacterTextSplitter(
        separators=SEPARATORS,
        keep_separator="end",
        chunk_size=chunk_size,
        chunk_overlap=min(chunk_overlap, chunk_size // 2),
        length_function=weighted_length(cjk_char_weight),
        strip_whitespace=True,
    )
