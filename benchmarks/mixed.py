"""Mixed long documents: the real job, measured.

Each XQuAD article (all its paragraphs) is one document in exactly one language, article i in
("en", "es", "zh")[i % 3]. Every question is asked in en, es and zh, so each of the 9 (question language ->
document language) pairs is measured. Articles 18-23 and 42-47 are left out of the index: their questions must
be refused. Thresholds and weights are tuned on the dev split (questions of articles 0-23) and reported on the
test split (articles 24-47); both splits share one index of 36 documents.

`python -m benchmarks.mixed [--split dev|test|both] [--before REV] [--no-baseline] [--json OUT] [--keep DIR]` prints the
tables: ours, today's behaviour (the code at REV, run in a child process on the same store) and the plain
LangChain baseline, all from the same run.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from benchmarks.report import markdown_table
from benchmarks.xquad import LANGS, Article, DatasetMissing, answer_contains, default_dataset_dir, load_articles

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[1]
SPLITS = {"dev": range(0, 24), "test": range(24, 48)}
LEFT_OUT = frozenset([*range(18, 24), *range(42, 48)])
BEFORE_REV = "a0a0907"  # main before the trust work (issue 10): "today's behaviour" in the tables


def document_language(article: int) -> str:
    return LANGS[article % 3]


@dataclass(frozen=True)
class Ask:
    """One question in one language about one article; `gold_article` is None when it was left out."""

    qid: str
    lang: str
    text: str
    article: int
    doc_lang: str
    gold: tuple[str, ...]  # answer texts in the document's language

    @property
    def gold_article(self) -> int | None:
        return None if self.article in LEFT_OUT else self.article


def questions_of(articles: Sequence[Article], split: str) -> list[Ask]:
    out = []
    for article in articles:
        if article.index not in SPLITS[split]:
            continue
        doc_lang = document_language(article.index)
        for q in article.questions:
            for lang in LANGS:
                out.append(Ask(q.qid, lang, q.text[lang], article.index, doc_lang, q.gold[doc_lang]))
    return out


def write_articles(articles: Sequence[Article], root: Path) -> dict[str, int]:
    """The indexed articles as .txt files; returns resolved path -> article index."""
    sources = {}
    for article in articles:
        if article.index in LEFT_OUT:
            continue
        lang = document_language(article.index)
        path = root / f"article-{article.index:02d}.{lang}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(article.text[lang] + "\n", encoding="utf-8")
        sources[str(path.resolve())] = article.index
    return sources


# --- asking: the same function runs here (ours) and in a child process on older code (today's behaviour) ---

def ask_all(store_dir: Path, asks: Iterable[dict]) -> list[dict]:
    """Ask each question through the pipeline on the store; what was retrieved first, cited first, answered."""
    from bot import ForumQA
    from settings import Settings
    from store import open_index

    settings = Settings(_env_file=None, store_dir=store_dir, answerer="extractive")
    qa = ForumQA(settings, open_index(settings))
    qa.retriever.lexical_index(wait=True)  # every question counts its words
    out = []
    for ask in asks:
        request = qa.prepare(ask["text"])
        answer = qa.answerer.answer(request)
        out.append({
            "retrieved": request.hits[0].metadata.get("source") if request.hits else None,
            "cited": answer.sources[0].source if answer.answered and answer.sources else None,
            "answered": answer.answered, "answer": answer.answer, "language": answer.language,
        })
    return out


def ask_with_code_at(rev: str, docs: Path, asks: list[dict], workdir: Path) -> list[dict] | None:
    """`ask_all` with the pipeline as it was at `rev`: its bot/ingest/store/prompts/settings.py are unpacked
    in front of this checkout on the child's path, and it indexes `docs` in a store of its own (kept in
    `workdir`), since a store's layout may have changed since. None when git or the revision is not available."""
    tree = workdir / f"code-{rev}"
    tree.mkdir(parents=True, exist_ok=True)
    try:
        archive = subprocess.run(["git", "archive", rev, "bot", "ingest", "store", "prompts", "settings.py"],
                                 cwd=ROOT, capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", str(tree)], input=archive, check=True)
    except (OSError, subprocess.CalledProcessError) as exc:
        log.warning("today's behaviour skipped: cannot unpack %s (%s)", rev, exc)
        return None
    (workdir / "asks.json").write_text(json.dumps(asks, ensure_ascii=False), encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tree), str(ROOT)])}
    env = {k: v for k, v in env.items() if not k.startswith("FORUMQA_")}
    subprocess.run(
        [sys.executable, "-c", "import sys, json; from pathlib import Path; from benchmarks.mixed import ask_all; "
         "from ingest.pipeline import ingest_paths; from settings import Settings; from store import open_index; "
         "s = Settings(_env_file=None, store_dir=Path(sys.argv[1]), answerer='extractive'); "
         "ingest_paths([Path(sys.argv[2])], open_index(s), s); "
         "json.dump(ask_all(s.store_dir, json.load(open(sys.argv[3]))), open(sys.argv[4], 'w'))",
         str(workdir / "store"), str(docs), str(workdir / "asks.json"), str(workdir / "before.json")],
        cwd=tree, env=env, check=True,
    )
    return json.loads((workdir / "before.json").read_text(encoding="utf-8"))


def baseline_ask_all(docs: Path, workdir: Path, asks: Iterable[dict]) -> list[dict]:
    """The plain LangChain RAG: never refuses, answers with its first chunk."""
    from benchmarks.baseline import TOP_K, build_baseline_from_files
    from settings import Settings
    from store import make_embedder

    built = build_baseline_from_files(sorted(docs.glob("*.txt")), workdir, make_embedder(Settings(_env_file=None)))
    out = []
    for ask in asks:
        found = built.store.similarity_search(ask["text"], k=TOP_K)
        first = found[0] if found else None
        source = first.metadata.get("source") if first else None
        out.append({"retrieved": source, "cited": source, "answered": bool(found),
                    "answer": first.page_content if first else "", "language": None})
    return out


# --- scoring ---

@dataclass
class PairTally:
    n: int = 0
    top1: int = 0
    hits: int = 0
    refused: int = 0

    def add(self, right_document: bool, hit: bool, answered: bool) -> None:
        self.n += 1
        self.top1 += right_document
        self.hits += hit
        self.refused += not answered


def score(asks: Sequence[Ask], results: Sequence[dict], sources: dict[str, int]) -> dict:
    """Per pair: recall@1 (the first cited source, or the first retrieved document of a refused answer),
    answer hit and false refusals; per question language: refusal of left-out questions."""
    pairs: dict[str, PairTally] = defaultdict(PairTally)
    left_out: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for ask, got in zip(asks, results, strict=True):
        if ask.gold_article is None:
            left_out[ask.lang][0] += not got["answered"]
            left_out[ask.lang][1] += 1
            continue
        first = got["cited"] or got["retrieved"]
        right = sources.get(str(Path(first).resolve())) == ask.article if first else False
        hit = got["answered"] and answer_contains(got["answer"], ask.gold)
        pairs[f"{ask.lang}→{ask.doc_lang}"].add(right, hit, got["answered"])
    answerable = list(pairs.values())
    total = sum(t.n for t in answerable)
    refused_left = sum(v[0] for v in left_out.values())
    asked_left = sum(v[1] for v in left_out.values())
    return {
        "pairs": {
            pair: {"n": t.n, "recall@1": round(t.top1 / t.n, 3), "answer_hit": round(t.hits / t.n, 3),
                   "false_refusal": round(t.refused / t.n, 3)}
            for pair, t in sorted(pairs.items())
        },
        "answer_hit": round(sum(t.hits for t in answerable) / total, 3) if total else None,
        "false_refusal": round(sum(t.refused for t in answerable) / total, 3) if total else None,
        "min_recall@1": min((round(t.top1 / t.n, 3) for t in answerable), default=None),
        "left_out_refused": {lang: round(v[0] / v[1], 3) for lang, v in sorted(left_out.items())},
        "left_out_refused_all": round(refused_left / asked_left, 3) if asked_left else None,
    }


def render(results: dict) -> str:
    parts = []
    for split, systems in results["splits"].items():
        role = "tuned on" if split == "dev" else "held out: the reported figures"
        pairs = sorted({p for s in systems.values() for p in s["pairs"]})
        rows = [[system, *(s["pairs"].get(p, {}).get("recall@1") for p in pairs), s["answer_hit"],
                 s["false_refusal"], s["left_out_refused_all"]] for system, s in systems.items()]
        parts.append(f"### Mixed long documents, {split} split ({role})\n\n" + markdown_table(
            ["System", *(f"R@1 {p}" for p in pairs), "Answer hit", "False refusals", "Left-out refused"], rows))
        detail = [[system, p, v["n"], v["recall@1"], v["answer_hit"], v["false_refusal"]]
                  for system, s in systems.items() for p, v in s["pairs"].items()]
        parts.append(markdown_table(["System", "Pair", "n", "R@1", "Answer hit", "False refusal"], detail))
    return "\n\n".join(parts)


def run(dataset: Path, workdir: Path, splits: Sequence[str], before: str | None, baseline: bool) -> dict:
    from ingest.pipeline import ingest_paths
    from settings import Settings
    from store import open_index

    articles = load_articles(dataset)
    sources = write_articles(articles, workdir / "docs")
    settings = Settings(_env_file=None, store_dir=workdir / "store", answerer="extractive")
    start = time.perf_counter()
    report = ingest_paths([workdir / "docs"], open_index(settings), settings)
    if report.failed:
        raise RuntimeError(f"ingest failed: {report.failed[0].reason}")
    log.info("indexed %s articles in %.0f s", len(sources), time.perf_counter() - start)
    asks = [a for split in splits for a in questions_of(articles, split)]
    payload = [{"text": a.text} for a in asks]
    answers: dict[str, list[dict]] = {}
    start = time.perf_counter()
    answers["ours"] = ask_all(settings.store_dir, payload)
    log.info("ours: %s questions in %.0f s", len(asks), time.perf_counter() - start)
    if before:
        got = ask_with_code_at(before, workdir / "docs", payload, workdir / "before")
        if got is not None:
            answers[f"before ({before})"] = got
    if baseline:
        answers["plain LangChain"] = baseline_ask_all(workdir / "docs", workdir / "baseline", payload)
    out: dict = {"documents": len(sources), "questions": len(asks), "splits": {}}
    for split in splits:
        keep = [i for i, a in enumerate(asks) if a.article in SPLITS[split]]
        out["splits"][split] = {
            system: score([asks[i] for i in keep], [got[i] for i in keep], sources)
            for system, got in answers.items()
        }
    return out


def main(argv: list[str] | None = None) -> int:
    from settings import apply_offline_environment

    parser = argparse.ArgumentParser(prog="python -m benchmarks.mixed", description=__doc__.split("\n\n")[0])
    parser.add_argument("--split", choices=["dev", "test", "both"], default="both")
    parser.add_argument("--before", default=BEFORE_REV, help="git revision of 'today's behaviour' ('' to skip)")
    parser.add_argument("--no-baseline", action="store_true", help="skip the plain LangChain baseline")
    parser.add_argument("--xquad", type=Path, default=default_dataset_dir())
    parser.add_argument("--json", type=Path, help="write the results here")
    parser.add_argument("--keep", type=Path, help="build the documents and store in DIR and keep them (a re-run "
                        "on the same DIR skips the unchanged articles' ingest)")
    args = parser.parse_args(argv)
    apply_offline_environment()
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s: %(message)s", datefmt="%H:%M:%S")
    log.setLevel(logging.INFO)
    splits = ["dev", "test"] if args.split == "both" else [args.split]
    with tempfile.TemporaryDirectory(prefix="forumqa-mixed-") as tmp:
        workdir = args.keep or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        try:
            results = run(args.xquad, workdir, splits, args.before or None, not args.no_baseline)
        except DatasetMissing as exc:
            print(f"mixed benchmark skipped: {exc}")
            return 0
    print(render(results))
    if args.json:
        args.json.write_text(json.dumps(results, ensure_ascii=False, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
