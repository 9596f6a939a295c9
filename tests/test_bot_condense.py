"""Condensing is a step of the chain of its own: ForumQA asks its condenser (settings.answerer's, or one given)
for the question to retrieve with, and an answerer needs no condense method of its own. A small real Chroma store
with the deterministic fake embedder."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from support import build_settings

from bot.answer import Answer, AnswerRequest
from bot.chain import ForumQA
from bot.follow_up import follow_up_query
from ingest.pipeline import ingest_paths
from store import open_index
from store.embedders import FakeEmbeddings

FIRST = "How much was trade between China and Latin America in 2024?"
HISTORY = [{"role": "user", "content": FIRST}, {"role": "assistant", "content": "US$518 billion [1]"}]


class AnswererWithoutCondense:
    """Fits the Answerer interface (answer, stream) and keeps the requests it was given."""

    def __init__(self) -> None:
        self.requests: list[AnswerRequest] = []

    def answer(self, request: AnswerRequest) -> Answer:
        self.requests.append(request)
        return Answer(request.question, f"about: {request.standalone}", request.language, True)

    def stream(self, request: AnswerRequest) -> Iterator[str | Answer]:
        answer = self.answer(request)
        yield answer.answer
        yield answer


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    root = tmp_path_factory.mktemp("condense")
    (root / "reports").mkdir()
    (root / "reports" / "trade-en.txt").write_text(
        "Trade report\n\nTrade between China and Latin America reached 518 billion dollars in 2024; cumulative "
        "investment in the region exceeds 600 billion dollars.", encoding="utf-8")
    settings = build_settings(root, embedder="fake")  # answerer: extractive, the default
    index = open_index(settings, FakeEmbeddings())
    assert not ingest_paths([root / "reports"], index, settings).failed
    return settings, index


def test_the_offline_answerers_condenser_is_chosen_and_an_answerer_needs_no_condense_method(store):
    answerer = AnswererWithoutCondense()
    qa = ForumQA(*store, answerer=answerer)
    assert qa.condenser is follow_up_query
    answer = qa.ask("And the investment?", lang="en", history=HISTORY)
    assert answer.answer == f"about: {FIRST} And the investment?"
    assert [r.standalone for r in answerer.requests] == [f"{FIRST} And the investment?"]
    pieces = list(qa.stream("And the investment?", lang="en"))
    assert pieces[-1].answer == "about: And the investment?"  # no history, nothing to condense


def test_the_chain_asks_the_configured_condenser_only_for_a_follow_up(store):
    calls = []
    standalone = "What is the cumulative investment in Latin America?"

    def condenser(question: str, history: list[dict], language: str) -> str:
        calls.append((question, history, language))
        return standalone

    qa = ForumQA(*store, answerer=AnswererWithoutCondense(), condenser=condenser)
    request = qa.prepare("¿Y la inversión?", lang="es", history=HISTORY)
    assert calls == [("¿Y la inversión?", HISTORY, "es")]
    assert (request.question, request.standalone) == ("¿Y la inversión?", standalone)
    assert request.hits and request.hits[0].metadata["source"].endswith("trade-en.txt")
    calls.clear()
    assert qa.prepare("¿Y la inversión?", lang="es").standalone == "¿Y la inversión?"
    assert calls == []
