"""The Gradio chat's handlers with the real chain on the sample corpus (in process, no browser): streaming
answers rendered with their sources, the interface language, and like/dislike feedback in the JSONL file."""

from __future__ import annotations

import asyncio
import json

import gradio as gr
import pytest
from support import ROOT, build_settings

from web.chat_ui import ChatHandlers, build_chat_ui
from web.context import build_context

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def handlers(tmp_path_factory):
    settings = build_settings(tmp_path_factory.mktemp("chat-ui"), sample_dir=ROOT / "data" / "sample")
    return ChatHandlers(build_context(settings))


def run_chat(handlers, message, history=None, lang="auto", answers=None, request=None):
    """Every step the chat shows for `message` (its handler streams asynchronously, as Gradio runs it)."""

    async def steps():
        return [step async for step in handlers.chat(message, history or [], lang, answers or {}, request)]

    return asyncio.run(steps())


def test_the_chat_streams_then_shows_the_answer_with_linked_sources(handlers):
    steps = run_chat(handlers, "¿Cuánto alcanzó el comercio entre China y América Latina en 2024?", lang="es")
    assert len(steps) > 2, "the answer arrives in pieces"
    final, answers = steps[-1]
    assert "518" in final and "**Fuentes**" in final and "](/view/" in final
    assert answers[1]["answer"]["language"] == "es" and answers[1]["answer"]["sources"]


def test_auto_labels_the_sources_in_the_answers_language(handlers):
    final, _ = run_chat(handlers, "2024年中国与拉美的贸易额是多少？")[-1]
    assert "**来源**" in final


def test_a_follow_up_keeps_the_conversation(handlers):
    question = "Where was the China–LAC think tank forum held?"
    first, answers = run_chat(handlers, question, lang="en")[-1]
    history = [{"role": "user", "content": question}, {"role": "assistant", "content": first}]
    final, answers = run_chat(handlers, "When was it held?", history, "en", answers)[-1]
    assert set(answers) == {1, 3}
    assert answers[3]["question"] == "When was it held?"


@pytest.mark.parametrize(
    ("message", "lang", "expected"),
    [("", "auto", "Please type a question."), ("   ", "zh", "请输入问题。"), ("x" * 2500, "es", "límite es 2000")],
)
def test_invalid_questions_get_a_message_in_the_interface_language(handlers, message, lang, expected):
    steps = run_chat(handlers, message, lang=lang)
    assert len(steps) == 1 and expected in steps[0][0]


def test_like_and_dislike_are_saved_with_question_answer_and_sources(handlers):
    question = "¿Cuánto alcanzó el comercio entre China y América Latina en 2024?"
    rendered, answers = run_chat(handlers, question, lang="es")[-1]
    handlers.feedback(answers, gr.LikeData(None, {"index": 1, "value": rendered, "liked": True}))
    handlers.feedback(answers, gr.LikeData(None, {"index": [1, 0], "value": rendered, "liked": False}))
    lines = handlers.ctx.settings.feedback_path.read_text(encoding="utf-8").splitlines()
    liked, disliked = (json.loads(line) for line in lines[-2:])
    assert (liked["liked"], disliked["liked"]) == (True, False)
    assert liked["question"] == question and "518" in liked["answer"]
    assert liked["sources"][0]["doc_id"] and liked["sources"][0]["title"]
    assert liked["language"] == "es"


def test_choosing_a_language_relabels_the_interface(handlers):
    header, lang, chatbot, textbox = handlers.relabel("zh")
    assert "论坛报告问答助手" in header["value"]
    assert lang["label"] == "回答语言" and textbox["placeholder"] == "请输入您的问题…"
    header, *_ = handlers.relabel("es")
    assert "Asistente" in header["value"]


class _Browser:
    headers = {"accept-language": "es-ES,es;q=0.9,en;q=0.5"}


@pytest.mark.parametrize(("choice", "request_", "auto", "title"), [
    ("auto", _Browser(), "Automático", "Asistente de informes del foro"),
    ("zh", None, "自动", "论坛报告问答助手"),
    ("en", _Browser(), "Auto", "Forum reports assistant"),
])
def test_auto_the_tab_title_and_the_examples_follow_the_interface_language(handlers, choice, request_, auto, title):
    header, lang, chatbot, _ = handlers.relabel(choice, request_)
    assert lang["choices"][0] == (auto, "auto")
    assert header["value"].split("\n")[0] == f"# {title}"  # the page copies this line into its tab title
    ui = "es" if choice == "auto" else choice
    assert [e["text"] for e in chatbot["examples"]] == handlers.ctx.settings.starter_questions[ui]


def test_the_chat_page_builds_without_a_label_or_toolbar_over_the_messages(handlers):
    demo = build_chat_ui(handlers.ctx)
    assert isinstance(demo, gr.Blocks)
    chatbot = next(b for b in demo.blocks.values() if isinstance(b, gr.Chatbot))
    config = chatbot.get_config()
    assert config["show_label"] is False
    assert config["buttons"] == ["copy"], "no share or copy-all icons over the first message"
    assert [e["text"] for e in config["examples"]] == handlers.ctx.settings.starter_questions["en"]
    assert any(d.get("js") and "document.title" in d["js"] for d in demo.config["dependencies"])
