"""The LLM condenser: the chat model rewrites a follow-up as a standalone question in its language
(prompts/condense.{lang}.txt, the conversation and the follow-up as data); the question as asked without history
or when the model's server fails, since condensing is optional. A bug under the model keeps its traceback."""

from __future__ import annotations

import logging

from langchain_core.language_models import BaseChatModel
from langchain_core.output_parsers import StrOutputParser

from bot.llm import client_errors
from bot.llm_prompt import clean_condensed, condense_prompt, format_history, neutralise, prompt_language
from bot.prompt_files import language_name

log = logging.getLogger(__name__)


class LLMCondenser:
    """A Condenser (bot.condense) around a chat model, usually the LLM answerer's own."""

    def __init__(self, model: BaseChatModel) -> None:
        self.model = model
        self._parser = StrOutputParser()

    def __call__(self, question: str, history: list[dict], language: str) -> str:
        transcript = format_history(history or [])
        if not transcript:
            return question
        try:
            chain = condense_prompt(language) | self.model | self._parser
            reply = chain.invoke({
                "history": transcript, "question": neutralise(question),
                "language": language_name(prompt_language(language), "en"),
            })
        except client_errors() as exc:
            log.warning("condensing the question failed, using it as asked: %s", exc)
            return question
        return clean_condensed(reply, question)
