"""The default offline chain on the bundled sample corpus, with the real default embedder."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from support import subprocess_env

from bot.chain import ForumQA, InvalidQuestion
from bot.prompt_files import render
from ingest.pipeline import ingest_paths
from settings import Settings
from store import open_index

ROOT = Path(__file__).resolve().parent.parent
QUESTIONS = json.loads((ROOT / "tests" / "sample_questions.json").read_text(encoding="utf-8"))
SAMPLE = ROOT / "data" / "sample"

pytestmark = pytest.mark.slow  # the real default embedder (USE-m and mE5) over the sample corpus


@pytest.fixture(scope="module")
def store_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("sample-store")
    settings = Settings(store_dir=folder)
    report = ingest_paths([SAMPLE], open_index(settings), settings)
    assert not report.failed
    return folder


@pytest.fixture(scope="module")
def qa(store_dir) -> ForumQA:
    settings = Settings(store_dir=store_dir)
    return ForumQA(settings, open_index(settings))


def cited_files(answer) -> set[str]:
    numbers = {int(n) for n in re.findall(r"\[(\d+)\]", answer.answer)}
    return {Path(answer.sources[n - 1].source).name for n in numbers if 0 < n <= len(answer.sources)}


def _same_language(q: dict) -> bool:
    return q["answerable"] and q["source"].startswith("forum-2025")


def _cross_language(q: dict) -> bool:
    return q["answerable"] and not q["source"].startswith("forum-2025")


@pytest.mark.parametrize("q", [q for q in QUESTIONS if _same_language(q)], ids=lambda q: q["question"][:40])
def test_answer_in_question_language_cites_source_with_fact(qa, q):
    answer = qa.ask(q["question"])
    assert answer.language == q["lang"]
    assert answer.answered
    assert all(fact in answer.answer for fact in q["expect"]), answer.answer
    assert q["source"] in cited_files(answer)
    cited = [s for s in answer.sources if Path(s.source).name == q["source"]]
    assert cited and cited[0].language == q["lang"], "the edition in the question's language is preferred"


@pytest.mark.parametrize("q", [q for q in QUESTIONS if not q["answerable"]], ids=lambda q: q["question"][:40])
def test_unanswerable_question_is_declined_in_its_language(qa, q):
    answer = qa.ask(q["question"])
    assert answer.language == q["lang"]
    assert answer.answered is False
    assert answer.answer == render("not_covered", q["lang"]).strip()
    assert answer.sources == []


@pytest.mark.parametrize(
    "question, fact",
    [
        ("中拉青年研究人员交流项目提供多少个奖学金？", "120"),
        ("¿Cuántas becas ofrece el programa de intercambio para jóvenes investigadores?", "120"),
        ("¿Quién coordina el programa de intercambio juvenil?", "Montenegro"),
    ],
)
def test_zh_and_es_questions_answered_from_english_only_document(qa, question, fact):
    answer = qa.ask(question)
    assert answer.answered
    assert fact in answer.answer
    assert "youth-exchange-program-en.txt" in cited_files(answer)
    assert answer.language in {"zh", "es"} and answer.language != "en"


def test_cross_language_questions_mostly_answered(qa):
    questions = [q for q in QUESTIONS if _cross_language(q)]
    good = 0
    for q in questions:
        answer = qa.ask(q["question"])
        good += answer.answered and all(f in answer.answer for f in q["expect"]) and q["source"] in cited_files(answer)
    assert good / len(questions) >= 0.7, f"{good}/{len(questions)}"


@pytest.mark.parametrize(
    "question, language",
    [("When?", "en"), ("¿Dónde?", "es"), ("何时举行？", "zh"), ("Cuánto comercio hubo", "es"),
     ("How much trade was there", "en"), ("贸易额", "zh")],
)
def test_short_questions_detected(qa, question, language):
    assert qa.ask(question).language == language


def test_user_language_overrides_detection(qa):
    answer = qa.ask("How much was China–Latin America trade worth in 2024?", lang="es")
    assert answer.language == "es"
    assert answer.answer.startswith(render("extractive", "es", evidence="", note="").strip())
    assert "518.47" in answer.answer


@pytest.mark.parametrize("bad", ["", "   ", "x" * 2001])
def test_invalid_questions_raise(qa, bad):
    with pytest.raises(InvalidQuestion):
        qa.ask(bad)


def test_sources_numbered_in_citation_order(qa):
    answer = qa.ask("¿Qué puerto es el eje del plan logístico?")
    cited = list(dict.fromkeys(int(n) for n in re.findall(r"\[(\d+)\]", answer.answer)))
    assert cited == [s.n for s in answer.sources] == list(range(1, len(answer.sources) + 1))


def test_batch_json_answers_100_questions_in_one_process(store_dir):
    lines = [q["question"] for q in QUESTIONS]
    lines = (lines * 4)[:100]
    proc = subprocess.run(
        [sys.executable, "-m", "bot", "ask", "--store", str(store_dir), "--json"],
        input="\n".join(lines) + "\n", capture_output=True, text=True, cwd=store_dir.parent, env=subprocess_env(),
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    answers = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
    assert len(answers) == 100
    for line, answer in zip(lines, answers):
        assert answer["question"] == line
        assert {"question", "answer", "language", "answered", "sources"} <= answer.keys()
        for source in answer["sources"]:
            assert {"n", "source", "title", "language", "snippet", "score"} <= source.keys()


def test_single_question_cli_text_and_exit_code(store_dir):
    proc = subprocess.run(
        [sys.executable, "-m", "bot", "ask", "--store", str(store_dir), "2024年中拉贸易额是多少？"],
        capture_output=True, text=True, cwd=store_dir.parent, env=subprocess_env(), timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "5184.7亿美元" in proc.stdout
    assert "[1]" in proc.stdout
