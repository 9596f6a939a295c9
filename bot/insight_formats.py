"""The insight report as text: Markdown for reading, CSV for a spreadsheet (one row per figure, its section
first), JSON for other tools. FORMATS is the registry `python -m bot report --format` chooses from."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable

from bot.insights import InsightReport

TOPIC_EXAMPLES = 10  # the distinct questions shown per topic


def _percent(rate: float | None) -> str:
    return "–" if rate is None else f"{rate:.0%}"


def _cell(text: str) -> str:
    """Text inside a Markdown table cell: one line, no column breaks."""
    return " ".join(str(text).split()).replace("|", "\\|")


def render_markdown(report: InsightReport) -> str:
    span = f"{report.since:%Y-%m-%d %H:%M} – {report.until:%Y-%m-%d %H:%M} UTC" if report.since else \
        f"until {report.until:%Y-%m-%d %H:%M} UTC"
    languages = ", ".join(f"{lang} {n}" for lang, n in report.languages.items()) or "none"
    rate = _percent(report.answered_rate)
    where = f" in {report.collection}" if report.collection else ""
    out = [f"# Questions asked{where}, {span}", "",
           f"{report.questions} questions ({languages}), {report.answered} answered ({rate}).",
           "", "## Per day", "", "| day | questions | answered | by language |", "|---|---|---|---|"]
    out += [f"| {d.day} | {d.questions} | {_percent(d.answered_rate)} | "
            f"{', '.join(f'{k} {v}' for k, v in sorted(d.languages.items()))} |" for d in report.days if d.questions]
    out += ["", "## Unanswered questions by topic", ""]
    if not report.unanswered_topics:
        out.append("None.")
    for n, topic in enumerate(report.unanswered_topics, start=1):
        langs = ", ".join(f"{k} {v}" for k, v in topic.languages.items())
        out.append(f"{n}. **{_cell(topic.label)}** — {topic.count} ({langs})")
        out += [f"   - {_cell(q)} ({lang}, {times})" for q, lang, times in topic.questions[1:TOPIC_EXAMPLES]]
        if len(topic.questions) > TOPIC_EXAMPLES:
            out.append(f"   - … {len(topic.questions) - TOPIC_EXAMPLES} more")
    out += ["", "## Most cited documents", ""]
    out += [f"{n}. {_cell(d['title'] or d['doc_id'])} ({d['doc_id']}) — {d['citations']}"
            for n, d in enumerate(report.most_cited, start=1)] or ["None."]
    out += ["", "## Down-voted answers", ""]
    out += [f"- {v['at'][:16]} ({v['language']}) **{_cell(v['question'])}** — {_cell(v['answer'])}"
            for v in report.down_voted] or ["None."]
    return "\n".join(out) + "\n"


CSV_COLUMNS = ["section", "day", "language", "topic", "text", "count", "answered", "answered_rate"]


def render_csv(report: InsightReport) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    writer.writerow(["total", "", "", "", "", report.questions, report.answered, report.answered_rate])
    for day in report.days:
        for language, count in sorted(day.languages.items()):
            writer.writerow(["day", day.day, language, "", "", count, "", ""])
        writer.writerow(["day", day.day, "", "", "", day.questions, day.answered, day.answered_rate])
    for n, topic in enumerate(report.unanswered_topics, start=1):
        for question, language, times in topic.questions:
            writer.writerow(["unanswered", "", language, n, question, times, 0, ""])
    for cited in report.most_cited:
        writer.writerow(["cited", "", "", "", f"{cited['title']} ({cited['doc_id']})", cited["citations"], "", ""])
    for voted in report.down_voted:
        writer.writerow(["down_voted", voted["at"][:10], voted["language"], "", voted["question"], 1, "", ""])
    return buffer.getvalue()


def render_json(report: InsightReport) -> str:
    return json.dumps(report.to_dict(), ensure_ascii=False, indent=2) + "\n"


FORMATS: dict[str, Callable[[InsightReport], str]] = {"md": render_markdown, "csv": render_csv, "json": render_json}
