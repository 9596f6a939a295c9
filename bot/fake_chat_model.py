"""A deterministic local chat model for tests and demos without an LLM server: it answers from the context
it is sent, through the same chain as a real model."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import Any

from langchain_core.language_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import Field

from bot.llm_prompt import CONTEXT_CLOSE, CONTEXT_OPEN, NOT_COVERED

_ITEM = re.compile(r"^\[(\d+)\] [^\n]*\n(.*?)(?=^\[\d+\] |\Z)", re.MULTILINE | re.DOTALL)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|(?<=[。！？])")


def fake_reply(messages: Sequence[BaseMessage]) -> str:
    """What the fake model says: the first sentence of document [1] with its citation, NOT_COVERED without
    documents; for a condense prompt, the follow-up question with the conversation's last user question."""
    text = str(messages[-1].content) if messages else ""
    if "<follow_up>" in text:
        follow_up = text.split("<follow_up>", 1)[1].split("</follow_up>", 1)[0].strip()
        conversation = text.split("<conversation>", 1)[1].split("</conversation>", 1)[0] if "<conversation>" in text \
            else ""
        users = [line[len("User: "):] for line in conversation.splitlines() if line.startswith("User: ")]
        return f"{follow_up} ({users[-1]})" if users else follow_up
    context = text.split(CONTEXT_OPEN, 1)[1].rsplit(CONTEXT_CLOSE, 1)[0] if CONTEXT_OPEN in text else ""
    match = _ITEM.search(context.strip())
    if not match:
        return NOT_COVERED
    body = " ".join(match.group(2).split())
    sentence = _SENTENCE_END.split(body, maxsplit=1)[0].strip() or body[:200]
    return f"{sentence} [{match.group(1)}]"


class ContextEchoChatModel(GenericFakeChatModel):
    """langchain_core's fake chat model, answering from the prompt it gets (see fake_reply); streams by words."""

    messages: Iterator[AIMessage | str] = Field(default_factory=lambda: iter(()))

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None, run_manager=None,
                  **kwargs: Any) -> ChatResult:
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=fake_reply(messages)))])

    @property
    def _llm_type(self) -> str:
        return "forumqa-context-echo"
