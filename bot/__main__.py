"""python -m bot ask [--store DIR] [--collection NAME] [--lang auto|zh|es|en] [--json] [QUESTION]
python -m bot report [--since 30d] [--format md|csv|json] [--collection NAME] [--store DIR] [--log-url URL]

Without QUESTION, reads one question per line from stdin and answers each in the same process. A question that
cannot be answered (invalid, or a backend down) gets an error line and the next question is asked; the exit
status is then 1, as for `python -m ingest` when some files fail and the rest are ingested. Invalid settings, a
missing backend package, a store that cannot be opened or a collection it does not hold stop it at once with one
line and exit status 2.

`report` prints the editors' report over the question log (settings.question_log): questions per day and
language, the answered rate, the unanswered questions by topic, the most cited documents, the down-voted
answers. A log that cannot be read is exit status 2.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from bot.answer import Answer
from bot.answerers import ANSWERERS
from bot.chain import LANG_CHOICES, ForumQA, InvalidQuestion
from bot.insight_formats import FORMATS
from bot.insights import InvalidSince, build_report, parse_since
from bot.llm import LLMError
from bot.topics import topic_threshold
from faults import BackendUnavailable, MissingBackend
from settings import InvalidSettings, apply_offline_environment, load_settings
from store import QuestionLogUnavailable, StoreError, open_index
from store.collections import UnknownCollection, check_collection_name, collection_settings, stored_collections
from store.embedders import EMBEDDERS, make_embedder
from store.question_log import open_question_log


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bot", description="Ask the forum documents.")
    commands = parser.add_subparsers(dest="command", required=True)
    ask = commands.add_parser("ask", help="answer a question, or one per line from stdin")
    ask.add_argument("question", nargs="?", help="the question; omit to read questions from stdin")
    ask.add_argument("--store", type=Path)
    ask.add_argument("--chroma-host")
    ask.add_argument("--chroma-port", type=int)
    ask.add_argument("--embedder", choices=EMBEDDERS)
    ask.add_argument("--answerer", choices=ANSWERERS)
    ask.add_argument("--collection", help="ask this collection (one forum's documents) only; default: the store's "
                                          "default collection")
    ask.add_argument("--lang", choices=LANG_CHOICES, default="auto")
    ask.add_argument("--json", action="store_true", help="one JSON object per answer, one per line")
    report = commands.add_parser("report", help="what visitors asked: the question log's report")
    report.add_argument("--since", default="30d", help="30d, 12h, 4w, a date (2026-11-01) or all; default 30d")
    report.add_argument("--format", choices=FORMATS, default="md")
    report.add_argument("--store", type=Path, help="the store whose question log (beside it) is read")
    report.add_argument("--log-url", help="a postgresql:// question log (settings.question_log_url)")
    report.add_argument("--embedder", choices=EMBEDDERS, help="groups the unanswered questions by topic")
    report.add_argument("--collection", help="only the questions asked of this collection (default: all)")
    return parser.parse_args(argv)


def render_text(answer: Answer) -> str:
    """The answer, the sources it cites as [n], then the other retrieved documents, unnumbered."""
    lines = [answer.answer]
    for s in answer.sources:
        where = f", p. {s.page}" if s.page else ""
        lines.append(f"  [{s.n}] {s.title} ({s.language}{where}) {s.source}")
    if answer.also_retrieved:
        lines.append("  also retrieved, not cited:")
        lines += [f"    - {s.title} ({s.language}) {s.source}" for s in answer.also_retrieved]
    return "\n".join(lines)


def held_collection(settings, name: str) -> str:
    """`name`, if the store holds that collection or it is the default one: asking creates no collection."""
    if check_collection_name(name, settings.collection) == settings.collection or name in stored_collections(settings):
        return name
    raise UnknownCollection(f"no collection named '{name}' in the store; python -m ingest --list shows them")


def report(args: argparse.Namespace) -> int:
    try:
        settings = load_settings(store_dir=args.store, question_log_url=args.log_url, embedder=args.embedder)
        since = parse_since(args.since)
        question_log = open_question_log(settings)
        try:
            entries = question_log.entries(since)
        finally:
            question_log.close()
        embedder = make_embedder(settings)
    except (InvalidSettings, InvalidSince, MissingBackend) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except QuestionLogUnavailable as exc:  # its message is one line, naming the driver's error
        print(f"error: the question log cannot be read: {exc}", file=sys.stderr)
        return 2
    result = build_report(entries, embedder, topic_threshold(settings), since, collection=args.collection)
    sys.stdout.write(FORMATS[args.format](result))
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    apply_offline_environment()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if args.command == "report":
        return report(args)
    try:
        settings = load_settings(
            store_dir=args.store, chroma_host=args.chroma_host, chroma_port=args.chroma_port,
            embedder=args.embedder, answerer=args.answerer,
        )
        if args.collection is not None:
            settings = collection_settings(settings, held_collection(settings, args.collection))
        qa = ForumQA(settings, open_index(settings))
        qa.retriever.lexical_index(wait=True)  # every answer here counts the question's words
    except (InvalidSettings, MissingBackend, StoreError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    questions = [args.question] if args.question is not None else (line.rstrip("\n") for line in sys.stdin)
    status = 0
    for question in questions:
        if args.question is None and not question.strip():
            continue
        try:
            answer = qa.ask(question, args.lang)
        except (InvalidQuestion, BackendUnavailable, LLMError) as exc:  # this question fails; the next are asked
            print(json.dumps({"question": question, "error": str(exc)}, ensure_ascii=False) if args.json
                  else f"error: {exc}", flush=True)
            status = 1
            continue
        if args.json:
            print(json.dumps(answer.to_dict(), ensure_ascii=False), flush=True)
        else:
            print(render_text(answer), flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
