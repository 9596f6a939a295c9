"""What every request handler shares: settings, the open index, the QA chain, the feedback and question logs."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request

from bot import ForumQA, LLMError
from faults import BackendUnavailable
from ingest.pipeline import ingest_paths
from settings import Settings
from store import ChromaIndex, StoreError, StoreLocked, open_index
from web.collections import Forum, ForumCollections
from web.feedback import FeedbackLog
from web.question_recorder import QuestionRecorder
from web.uploads import clean_staged_uploads

log = logging.getLogger(__name__)


@dataclass
class WebContext:
    settings: Settings
    index: ChromaIndex
    qa: ForumQA  # of the default collection, as `index`
    collections: ForumCollections = field(init=False)  # every collection, by name
    feedback: FeedbackLog
    questions: QuestionRecorder  # the opt-in question log (settings.question_log)

    def __post_init__(self) -> None:
        default = Forum(self.settings.collection, self.settings, self.index, self.qa)
        self.collections = ForumCollections(self.settings, default)

    def forum(self, name: str | None) -> Forum:
        """The collection `name` (None: the default); UnknownCollection when the store has none of that name."""
        return self.collections.get(name)


def seed_sample_corpus(index: ChromaIndex, settings: Settings) -> int:
    """Ingest the bundled sample corpus into an empty store, so a fresh install can answer at once."""
    if index.documents() or index.collection_names() != [settings.collection]:
        return 0  # documents, or other collections (python -m ingest --collection): not a fresh install
    if not settings.sample_dir.is_dir():
        log.warning("the store is empty and the sample corpus %s is missing", settings.sample_dir)
        return 0
    try:
        report = ingest_paths([settings.sample_dir], index, settings)
    except StoreLocked:
        log.warning("the store is empty but another ingest holds its lock; not adding the sample corpus")
        return 0
    added = report.count("added") + report.count("updated")
    log.info("empty store: ingested %s sample documents from %s", added, settings.sample_dir)
    return added


def build_context(settings: Settings) -> WebContext:
    clean_staged_uploads(settings)
    index = open_index(settings)
    seed_sample_corpus(index, settings)
    feedback = FeedbackLog(settings.feedback_path, settings.max_feedback_bytes)
    return WebContext(settings, index, ForumQA(settings, index), feedback, QuestionRecorder(settings))


def warm_up_in_background(ctx: WebContext, delay_s: float = 0.0) -> threading.Thread:
    """Answer one throwaway question off the request path, `delay_s` from now: the first visitor should not pay
    for loading the tokenizers and the language detector; then wait for each collection's lexical index."""

    def run() -> None:
        try:
            names = ctx.collections.names()  # the default first
        except StoreError as exc:
            log.warning("warm-up: the collections cannot be listed: %s", exc)
            return
        for name in names:
            try:  # one collection that cannot be opened (built with another embedder, say) stops no other
                forum = ctx.collections.get(name)
            except StoreError as exc:
                log.warning("warm-up: the collection %s cannot be opened: %s", name, exc)
                continue
            try:
                forum.qa.ask("forum", "en")  # starts the lexical index's first build, which no visitor waits for
                forum.qa.retriever.lexical_index(wait=True)  # one collection's build at a time, the default's first
            except (BackendUnavailable, LLMError, StoreError) as exc:  # a backend down: a slower first answer
                log.warning("warm-up question in collection %s failed: %s", name, exc)
            # Anything else is a bug: it ends the warm-up with its traceback (threading.excepthook), not a warning.

    thread = threading.Timer(delay_s, run)
    thread.name, thread.daemon = "forumqa-warm-up", True
    thread.start()
    return thread


def get_context(request: Request) -> WebContext:
    return request.app.state.context


Context = Annotated[WebContext, Depends(get_context)]
