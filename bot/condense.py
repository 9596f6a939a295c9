"""Condensing, a step of the chain of its own: a follow-up and the conversation before it become the question
retrieval is asked (the standalone question). Each answerer names its condenser (bot/answerers.py): the offline
one asks an elliptical follow-up together with the previous question (bot.follow_up.follow_up_query), an LLM
answerer's model rewrites the follow-up (bot.llm_condense.LLMCondenser)."""

from __future__ import annotations

from typing import Protocol


class Condenser(Protocol):
    def __call__(self, question: str, history: list[dict], language: str) -> str:
        """The question to retrieve with: `question` itself, or rewritten with the conversation (`history`, the
        visitor's and the bot's turns) in mind, in `language`."""
        ...
