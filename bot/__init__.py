"""Retrieval, answerers and the question-answering chain."""

from bot.answer import Answer, Hit, Source
from bot.chain import LANG_CHOICES, ForumQA, InvalidQuestion
from bot.llm import LLMError

__all__ = ["LANG_CHOICES", "Answer", "ForumQA", "Hit", "InvalidQuestion", "LLMError", "Source"]
