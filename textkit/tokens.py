"""Search tokens: jieba words for Chinese, accent-folded lowercase words for Spanish and English."""

from __future__ import annotations

import logging
import re
import unicodedata
from functools import lru_cache

from textkit.scripts import HAN_CHAR

_WORD = re.compile(r"[^\W_]+(?:[.,'][^\W_]+)*", re.UNICODE)
_STOPWORDS = frozenset(
    """a an and are as at be by de del did do does el en es for from how in is la las los of on or por que qué
    the to was were what when where which who whom why with y un una al se su sus lo como cual cuál cuando cuándo
    donde dónde quien quién cuanto cuánto cuanta cuánta cuantos cuántos this that it its into than then there
    的 了 是 在 和 与 及 有 吗 呢 什么 哪 哪里 谁 多少 何时 怎么 如何 为 对 把 被 个 这 那 年""".split()
)


@lru_cache(maxsize=1)
def _jieba():
    import jieba

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    return jieba


def fold_accents(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


@lru_cache(maxsize=4)
def _stemmer(language: str):
    import Stemmer  # PyStemmer: Snowball stemmers in C

    return Stemmer.Stemmer({"en": "english", "es": "spanish"}[language])


def tokenize(text: str, language: str | None = None, drop_stopwords: bool = True) -> list[str]:
    """Tokens for BM25 and lexical overlap; Chinese runs go through jieba, the rest through a word regex.
    English and Spanish words are stemmed (Snowball) when the text's language is given."""
    text = unicodedata.normalize("NFKC", text).lower()
    if HAN_CHAR.search(text):
        raw = [t.strip() for t in _jieba().lcut_for_search(text)]
        tokens = [fold_accents(t) for t in raw if t and (HAN_CHAR.search(t) or _WORD.fullmatch(t))]
    else:
        tokens = _WORD.findall(fold_accents(text))
    if drop_stopwords:
        tokens = [t for t in tokens if t not in _STOPWORDS]
    if language in ("en", "es"):
        tokens = _stemmer(language).stemWords(tokens)
    return tokens
