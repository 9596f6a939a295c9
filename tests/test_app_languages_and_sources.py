"""The visitor's language and the sources an answer used, through the web layer in process: the real app
(`create_app`, TestClient) on the bundled sample corpus with the fake chat model, the chat's handlers, and
the chat's rendering of cited and merely retrieved sources."""

from __future__ import annotations

import asyncio
import re

import gradio as gr
import pytest
from support import ROOT, build_settings, copy_store
from web_fixtures import parse_sse

from bot import Answer, Source
from bot.citations import cited_numbers
from web.chat_ui import ChatHandlers
from web.render import render_answer
from web.server import create_app

AMBIGUOUS = "Claudio Rojas Rachel?"
CLEAR_EN = "Who is Claudio Rojas Rachel?"
TRADE_EN = "How much was trade between China and Latin America in 2024?"


@pytest.fixture(scope="module")
def app(tmp_path_factory, usem3_sample_store):
    folder = tmp_path_factory.mktemp("app-languages")
    settings = build_settings(folder, store_dir=copy_store(usem3_sample_store, folder / "store"),
                              sample_dir=ROOT / "data" / "sample", embedder="usem3", answerer="fake",
                              rate_limit="1000/minute")
    return create_app(settings)  # no lifespan: no warm-up thread


def ask(http, question: str, accept_language: str | None = None, **body) -> dict:
    headers = {"Accept-Language": accept_language} if accept_language else {}
    response = http.post("/api/ask", json={"question": question, **body}, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.parametrize(("accept_language", "expected"),
                         [("es-ES,es;q=0.9,en;q=0.8", "es"), ("zh-CN", "zh"), ("fr-FR,en;q=0.5", "en")])
def test_accept_language_decides_an_ambiguous_question(http, accept_language, expected):
    assert ask(http, AMBIGUOUS, accept_language)["language"] == expected


@pytest.mark.parametrize("accept_language", ["es", "zh-CN,zh;q=0.9"])
def test_accept_language_is_ignored_for_a_clear_question_and_an_explicit_lang_wins(http, accept_language):
    assert ask(http, CLEAR_EN, accept_language)["language"] == "en"
    assert ask(http, "¿Quién es Wu Xueming?", accept_language)["language"] == "es"
    assert ask(http, AMBIGUOUS, accept_language, lang="en")["language"] == "en"


def test_the_streamed_answer_uses_accept_language_too(http):
    with http.stream("POST", "/api/chat", json={"question": AMBIGUOUS}, headers={"Accept-Language": "zh"}) as r:
        assert r.status_code == 200
        events = parse_sse("".join(r.iter_text()))
    assert events[-1][0] == "final" and events[-1][1]["language"] == "zh"


def test_the_json_lists_the_cited_sources_numbered_as_cited_and_the_rest_apart(http):
    answer = ask(http, TRADE_EN, lang="en")
    assert answer["answered"]
    cited = cited_numbers(answer["answer"])
    assert cited and [s["n"] for s in answer["sources"]] == cited == list(range(1, len(cited) + 1))
    assert answer["also_retrieved"], "the sample corpus retrieves more documents than the answer cites"
    assert all(s["n"] == 0 for s in answer["also_retrieved"])
    assert {s["doc_id"] for s in answer["sources"]}.isdisjoint(s["doc_id"] for s in answer["also_retrieved"])


def chat_steps(handlers: ChatHandlers, message: str, request: gr.Request) -> list[tuple[str, dict]]:
    async def steps():
        return [step async for step in handlers.chat(message, [], "auto", {}, request)]

    return asyncio.run(steps())


def test_the_chat_takes_the_browsers_language_for_an_ambiguous_question(app):
    handlers = ChatHandlers(app.state.context)
    request = gr.Request(headers={"accept-language": "es-ES,es;q=0.9"})
    *_, (rendered, answers) = chat_steps(handlers, AMBIGUOUS, request)
    assert answers[1]["answer"]["language"] == "es"
    *_, (rendered, answers) = chat_steps(handlers, CLEAR_EN, request)
    assert answers[1]["answer"]["language"] == "en"


def source(n: int, title: str, doc_id: str) -> Source:
    return Source(n=n, source=f"/data/{title}.md", title=title, language="es", snippet=f"{title} snippet",
                  score=0.5, doc_id=doc_id)


@pytest.mark.parametrize(("ui", "sources_label", "also_label"),
                         [("es", "Fuentes", "También encontrado"), ("zh", "来源", "其他检索结果"),
                          ("en", "Sources", "Also retrieved")])
def test_the_chat_shows_cited_sources_numbered_and_the_others_apart(ui, sources_label, also_label):
    answer = Answer("q", "El comercio alcanzó 518,47 [1] y la inversión 600 [2].", "es", True,
                    sources=[source(1, "Informe", "0123456789abcdef"), source(2, "Nota", "fedcba9876543210")],
                    also_retrieved=[source(0, "Museo", "00000000000000aa")])
    rendered = render_answer(answer, ui)
    cited_part, _, also_part = rendered.partition("\n\n---\n\n")
    assert f"**{sources_label}**" in cited_part
    assert "1. [Informe](/view/0123456789abcdef?q=Informe+snippet)" in cited_part  # no quote: the snippet
    assert "2. [Nota](/view/fedcba9876543210?q=Nota+snippet)" in cited_part
    assert "Museo" not in cited_part
    assert also_label in also_part and "[Museo](/view/00000000000000aa?q=Museo+snippet)" in also_part
    shown = re.sub(r"\]\([^)]*\)", "]", also_part)  # the text, without the links' targets
    assert "0." not in shown and "snippet" not in shown  # unnumbered, titles only


def test_an_answer_without_other_documents_has_no_also_retrieved_part():
    answer = Answer("q", "Respuesta [1].", "es", True, sources=[source(1, "Informe", "0123456789abcdef")])
    assert "---" not in render_answer(answer, "es") and "También" not in render_answer(answer, "es")
