"""XQuAD (en/es/zh, parallel): loading, writing paragraphs as documents, and the retrieval/answer metrics."""

from __future__ import annotations

import json
from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from pathlib import Path

from textkit.language import SERVED

LANGS = tuple(sorted(SERVED))  # en, es, zh: the order the benchmarks give documents their languages in (i % 3)
RANK_DEPTH = 10  # MRR is MRR@10; recall@5 needs at least 5


class DatasetMissing(FileNotFoundError):
    """The XQuAD files are not where the benchmark looks for them."""


def default_dataset_dir() -> Path:
    """../shared/benchmarks/xquad beside the project root (this file is <root>/benchmarks/xquad.py)."""
    return Path(__file__).resolve().parents[2] / "shared" / "benchmarks" / "xquad"


@dataclass(frozen=True)
class Paragraph:
    pid: int  # position in the (parallel) file, the same in every language
    lang: str
    text: str


@dataclass(frozen=True)
class Question:
    qid: str
    pid: int
    lang: str
    text: str
    gold_en: tuple[str, ...]  # the English answer texts: answers are quoted from English paragraphs


@dataclass
class XQuAD:
    paragraphs: dict[str, list[Paragraph]]
    questions: dict[str, list[Question]]

    @property
    def question_count(self) -> int:
        return len(self.questions["en"])


def _read(folder: Path, lang: str) -> list[dict]:
    path = folder / f"xquad.{lang}.json"
    if not path.is_file():
        raise DatasetMissing(f"{path} not found")
    data = json.loads(path.read_text(encoding="utf-8"))["data"]
    return [paragraph for article in data for paragraph in article["paragraphs"]]


def load_xquad(folder: Path, max_paragraphs: int | None = None, max_questions: int | None = None) -> XQuAD:
    """The first `max_paragraphs` paragraphs (all when None) with up to `max_questions` questions each
    (all when None), in all three languages."""
    raw = {lang: _read(folder, lang)[:max_paragraphs] for lang in LANGS}
    gold = {qa["id"]: tuple(a["text"] for a in qa["answers"]) for p in raw["en"] for qa in p["qas"]}
    paragraphs: dict[str, list[Paragraph]] = {}
    questions: dict[str, list[Question]] = {}
    for lang in LANGS:
        if len(raw[lang]) != len(raw["en"]):
            raise ValueError(f"xquad.{lang}.json is not parallel to xquad.en.json")
        paragraphs[lang] = [Paragraph(pid, lang, p["context"]) for pid, p in enumerate(raw[lang])]
        questions[lang] = [
            Question(qa["id"], pid, lang, qa["question"], gold[qa["id"]])
            for pid, p in enumerate(raw[lang])
            for qa in p["qas"][:max_questions]
        ]
    return XQuAD(paragraphs, questions)


def write_paragraphs(paragraphs: Iterable[Paragraph], root: Path) -> dict[str, tuple[str, int]]:
    """One .txt document per paragraph, one folder per language (so no two share an edition key).

    Returns resolved source path -> (lang, pid), how retrieved documents are mapped back to paragraphs.
    """
    sources = {}
    for p in paragraphs:
        path = root / p.lang / f"p{p.pid:03d}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(p.text + "\n", encoding="utf-8")
        sources[str(path.resolve())] = (p.lang, p.pid)
    return sources


def distinct(items: Iterable[Hashable]) -> list:
    """Order-preserving de-duplication (chunks -> documents)."""
    return list(dict.fromkeys(items))


def answer_contains(text: str, golds: Iterable[str]) -> bool:
    folded = text.casefold()
    return any(g.strip().casefold() in folded for g in golds if g.strip())


@dataclass
class Tally:
    """Recall@1, recall@5, MRR@10 of the gold document, and the answer hit rate, over some questions."""

    n: int = 0
    top1: int = 0
    top5: int = 0
    reciprocal_ranks: float = 0.0
    answers: int = 0
    answer_hits: int = 0

    def add_ranking(self, ranked: list, gold: Hashable) -> None:
        self.n += 1
        ranked = ranked[:RANK_DEPTH]
        if gold in ranked:
            rank = ranked.index(gold) + 1
            self.top1 += rank == 1
            self.top5 += rank <= 5
            self.reciprocal_ranks += 1.0 / rank

    def add_answer(self, text: str, golds: Iterable[str]) -> None:
        self.answers += 1
        self.answer_hits += answer_contains(text, golds)

    def summary(self) -> dict:
        def ratio(a: float, b: int) -> float | None:
            return round(a / b, 4) if b else None

        return {
            "n": self.n,
            "recall@1": ratio(self.top1, self.n),
            "recall@5": ratio(self.top5, self.n),
            "mrr": ratio(self.reciprocal_ranks, self.n),
            "answer_hit": ratio(self.answer_hits, self.answers),
            "answers_n": self.answers,
        }


def build_stats(documents: int, chunks: int, seconds: float) -> dict:
    """The row of an index build in the report, ours or the baseline's."""
    return {
        "documents": documents, "chunks": chunks, "seconds": round(seconds, 2),
        "chunks_per_s": round(chunks / seconds, 1) if seconds else None,
    }


@dataclass(frozen=True)
class ArticleQuestion:
    qid: str
    article: int
    text: dict[str, str]  # the same question in each language
    gold: dict[str, tuple[str, ...]]  # its answer texts in each language


@dataclass(frozen=True)
class Article:
    index: int
    text: dict[str, str]  # all paragraphs of the article, per language
    questions: tuple[ArticleQuestion, ...]


def load_articles(folder: Path) -> list[Article]:
    """The 48 XQuAD articles, each whole (its paragraphs joined) and parallel in en, es and zh."""
    data = {}
    for lang in LANGS:
        path = folder / f"xquad.{lang}.json"
        if not path.is_file():
            raise DatasetMissing(f"{path} not found")
        data[lang] = json.loads(path.read_text(encoding="utf-8"))["data"]
    articles = []
    for i in range(len(data["en"])):
        parts = {lang: data[lang][i]["paragraphs"] for lang in LANGS}
        qas = {lang: {qa["id"]: qa for p in parts[lang] for qa in p["qas"]} for lang in LANGS}
        questions = tuple(
            ArticleQuestion(
                qid, i, {lang: qas[lang][qid]["question"] for lang in LANGS},
                {lang: tuple(a["text"] for a in qas[lang][qid]["answers"]) for lang in LANGS},
            )
            for qid in qas["en"]
        )
        text = {lang: "\n\n".join(p["context"] for p in parts[lang]) for lang in LANGS}
        articles.append(Article(i, text, questions))
    return articles
