"""The Gradio chat at `/`: streaming answers with their sources, a language selector that also switches the
interface's words, example questions in three languages, and like/dislike feedback saved to a JSONL file."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import aclosing

import gradio as gr
from fastapi.concurrency import run_in_threadpool

from bot import Answer, InvalidQuestion
from faults import BackendUnavailable
from web.context import WebContext
from web.rate_limits import ASK, VOTE, GradioEvents
from web.render import message_text, render_answer, render_partial
from web.ui_text import language_choices, served_language_from_accept, text, ui_language

log = logging.getLogger(__name__)

THEME = gr.themes.Soft(  # system fonts: the page must load nothing from the internet
    font=["system-ui", "Segoe UI", "Noto Sans", "PingFang SC", "Microsoft YaHei", "sans-serif"],
    font_mono=["ui-monospace", "Consolas", "monospace"],
).set(  # Soft's labels, selected choice and footer fall short of WCAG AA contrast (4.5:1); these reach it
    block_title_text_color="*primary_700", block_label_text_color="*primary_700",
    checkbox_label_background_fill_selected="*primary_600", body_text_color_subdued="*neutral_600",
    background_fill_primary="*neutral_50",  # Soft's own: Gradio's set() resets it (it reads `background_primary`)
)
CHAT_ID = "forumqa-chat"
# The chatbot's toolbar (Gradio's "clear" icon) floats over the top of the scrolling messages; in its own row
# above them it never covers a question.
CSS = f"#{CHAT_ID} .icon-button-wrapper.top-panel {{ position: static; align-self: flex-end; margin: 4px 8px; }}"
# Gradio's autoscroll follows an answer's tail, so on a phone the view ends on the last source. Instead, each
# new question is scrolled up to the top of the messages as its answer grows below it, and no further: the
# visitor reads the answer from its start. Scrolling by hand (wheel, touch, keys) stops it until the next one.
SCROLL_TO_QUESTION_JS = f"""() => {{
  const chat = document.getElementById('{CHAT_ID}');
  if (!chat || chat.dataset.followsQuestions) return;
  chat.dataset.followsQuestions = 'yes';
  let questions = 0, following = false;
  const stop = () => {{ following = false; }};
  for (const event of ['wheel', 'touchmove', 'keydown']) chat.addEventListener(event, stop, {{passive: true}});
  new MutationObserver(() => {{
    const rows = chat.querySelectorAll('.message-row.user-row');
    const log = chat.querySelector('[role=log]');
    if (rows.length !== questions) {{ following = rows.length > questions; questions = rows.length; }}
    if (!following || !log || !rows.length) return;
    const question = rows[rows.length - 1];
    const target = log.scrollTop + question.getBoundingClientRect().top - log.getBoundingClientRect().top - 8;
    if (target > log.scrollTop) log.scrollTop = target;
  }}).observe(chat, {{childList: true, subtree: true, characterData: true}});
}}"""
QUESTION_ID = "forumqa-question"
# Gradio's chat empties the question box's hint (placeholder) while it answers and never puts it back; the last
# hint shown (the interface language's) comes back whenever the box is usable and empty of one.
KEEP_HINT_JS = f"""() => {{
  const block = document.getElementById('{QUESTION_ID}');
  if (!block || block.dataset.keepsHint) return;
  block.dataset.keepsHint = 'yes';
  let hint = '';
  const keep = () => {{
    const box = block.querySelector('textarea');
    if (!box) return;
    if (box.placeholder) hint = box.placeholder;
    else if (!box.disabled && hint) box.placeholder = hint;
  }};
  keep();
  new MutationObserver(keep).observe(block, {{subtree: true, childList: true, attributes: true,
                                              attributeFilter: ['placeholder', 'disabled']}});
}}"""
# Gradio lists the example questions as role=list holding buttons, not list items: a critical axe violation
# (aria-required-children) for screen readers. As a group of buttons they read right.
EXAMPLES_AS_GROUP_JS = f"""() => {{
  const chat = document.getElementById('{CHAT_ID}');
  if (!chat || chat.dataset.examplesAsGroup) return;
  chat.dataset.examplesAsGroup = 'yes';
  const regroup = () => {{
    for (const list of chat.querySelectorAll('.examples[role=list]')) list.setAttribute('role', 'group');
  }};
  regroup();
  new MutationObserver(regroup).observe(chat, {{childList: true, subtree: true}});
}}"""
# The tab title follows the header's first line (the title in the interface language) after each relabel.
TITLE_FROM_HEADER_JS = "(header) => { document.title = header.split('\\n')[0].replace(/^#\\s*/, ''); }"
# The rate-limited events, by the name of their function in this module (web.rate_limits counts them).
EVENT_KINDS = {"chat": ASK, "feedback": VOTE}


def header_markdown(lang: str) -> str:
    return f"# {text(lang, 'title')}\n{text(lang, 'description')}"


def _history_for_chain(history: list[dict], answers: dict) -> list[dict]:
    """The conversation as the chain wants it: plain text, assistant turns without their rendered sources."""
    turns = []
    for position, message in enumerate(history):
        role = message.get("role")
        if role not in ("user", "assistant"):
            continue
        saved = answers.get(position) if role == "assistant" else None
        turns.append({"role": role, "content": saved["answer"]["answer"] if saved else message_text(message)})
    return turns


def _vote(liked: object) -> bool | None:
    """True for a like, False for a dislike (a bool, or the option's name), None for anything else."""
    if isinstance(liked, bool):
        return liked
    return {"like": True, "dislike": False}.get(liked.lower()) if isinstance(liked, str) else None


class ChatHandlers:
    """The chat's event handlers, bound to the shared web context."""

    def __init__(self, ctx: WebContext) -> None:
        self.ctx = ctx

    async def chat(self, message: str, history: list[dict], lang: str, answers: dict,
                   request: gr.Request | None = None, collection: str | None = None) -> AsyncIterator[tuple[str, dict]]:
        """Answers from `collection` (the selector's; None: the default one).
        With the Auto choice, the browser's language (Accept-Language) decides an ambiguous question's. The
        answer streams on the event loop, so when Gradio drops the run (the visitor left or pressed stop) the
        model's request is closed at once, not left generating for nobody."""
        answers = dict(answers or {})
        lang = lang or "auto"
        accept = request.headers.get("accept-language") if request is not None else None
        ui = ui_language(lang, accept)
        forum = await run_in_threadpool(self.ctx.forum, collection)  # may open it: not on the event loop
        try:
            forum.qa.validate(message, lang)
        except InvalidQuestion as exc:
            yield self._invalid_message(message, exc, ui), answers
            return
        keep = self.ctx.settings.max_history_messages
        turns = _history_for_chain(history, answers)[-keep:] if keep else []
        partial = ""
        pieces = forum.qa.astream(message, lang, turns, served_language_from_accept(accept))
        try:
            async for piece in pieces:
                if isinstance(piece, Answer):
                    entry = self.ctx.questions.record(piece, "chat", forum.name)  # the opt-in question log
                    answers[len(history) + 1] = {"question": message, "lang": lang, "answer": piece.to_dict(),
                                                 "entry": entry}
                    shown_in = ui_language(lang) if lang != "auto" else piece.language
                    yield render_answer(piece, shown_in, self.ctx.collections.link_name(forum.name)), answers
                else:
                    partial += piece
                    yield render_partial(partial), answers
        except BackendUnavailable as exc:
            log.warning("the chat could not answer: %s", exc)
            yield text(ui, "unavailable", backend=text(ui, exc.backend.replace(" ", "_"))), answers
        except Exception:
            log.exception("the chat could not answer")
            yield text(ui, "error"), answers
        finally:
            await pieces.aclose()

    def _invalid_message(self, message: str, exc: InvalidQuestion, ui: str) -> str:
        if not (message or "").strip():
            return text(ui, "invalid_empty")
        limit = self.ctx.settings.max_question_chars
        if len(message) > limit:
            return text(ui, "invalid_too_long", chars=len(message), limit=limit)
        return text(ui, "invalid_other", reason=str(exc))

    def feedback(self, answers: dict, data: gr.LikeData) -> None:
        """Saves a vote on an answer this session was given, with that answer as the server keeps it; a vote on
        anything else, or anything but a like or a dislike, is dropped (what the browser sends is never saved)."""
        position = data.index[0] if isinstance(data.index, (list, tuple)) and data.index else data.index
        saved = (answers or {}).get(position) if isinstance(position, int) else None
        liked = _vote(data.liked)
        if saved is None or liked is None:
            log.info("feedback dropped: not a vote on an answer of this session")
            return
        answer = saved["answer"]
        self.ctx.questions.vote(saved.get("entry"), liked)
        self.ctx.feedback.record(
            liked, saved["question"], answer["answer"], answer["sources"],
            language=answer["language"], answered=answer["answered"], lang=saved["lang"],
        )

    def examples(self, lang: str, collection: str | None = None) -> list[dict]:
        """The example questions shown in the empty chat: the collection's starter questions in the interface
        language."""
        starters = self.ctx.settings.starters_for(collection or self.ctx.settings.collection)
        return [{"text": question} for question in starters.get(lang, [])]

    def relabel_collections(self, choice: str, request: gr.Request | None = None):
        """The forum selector in the interface language, with the collections the store holds now (one made
        since the app started is offered from the next page load); shown when there are several."""
        accept = request.headers.get("accept-language") if request is not None else None
        names = self.ctx.collections.names()
        return gr.update(label=text(ui_language(choice, accept), "collection_label"), choices=names,
                         visible=len(names) > 1)

    def relabel(self, choice: str, request: gr.Request | None = None, collection: str | None = None):
        accept = request.headers.get("accept-language") if request is not None else None
        lang = ui_language(choice, accept)
        return (
            gr.update(value=header_markdown(lang)),
            gr.update(label=text(lang, "language_label"), choices=language_choices(lang)),
            gr.update(label=text(lang, "chat_label"), placeholder=text(lang, "empty_chat"),
                      examples=self.examples(lang, collection)),
            gr.update(label=text(lang, "question_label"), placeholder=text(lang, "placeholder")),
        )


def build_chat_ui(ctx: WebContext) -> gr.Blocks:
    handlers = ChatHandlers(ctx)
    with gr.Blocks(title=text("en", "title"), analytics_enabled=False, fill_height=True) as demo:
        header = gr.Markdown(header_markdown("en"))
        lang = gr.Radio(language_choices("en"), value="auto", label=text("en", "language_label"))
        names = ctx.collections.names()  # a selector when the store holds several collections (forums)
        collection = gr.Dropdown(names, value=names[0], label=text("en", "collection_label"), visible=len(names) > 1)
        answers = gr.State({})
        chatbot = gr.Chatbot(  # no shown label, no share/copy-all toolbar: they float over the top message
            label=text("en", "chat_label"), show_label=False, buttons=["copy"], elem_id=CHAT_ID, autoscroll=False,
            placeholder=text("en", "empty_chat"), scale=1, min_height=360,
            sanitize_html=True, allow_tags=False, latex_delimiters=[], feedback_options=("Like", "Dislike"),
        )
        textbox = gr.Textbox(
            label=text("en", "question_label"), placeholder=text("en", "placeholder"), show_label=False,
            elem_id=QUESTION_ID,
            submit_btn=True, stop_btn=True,
            max_length=ctx.settings.max_question_chars, lines=1, max_lines=6,
        )

        async def chat(message: str, history: list[dict], lang: str, answers: dict, collection: str | None,
                       request: gr.Request):
            async with aclosing(handlers.chat(message, history, lang, answers, request, collection)) as pieces:
                async for item in pieces:
                    yield item

        gr.ChatInterface(
            chat, chatbot=chatbot, textbox=textbox, additional_inputs=[lang, answers, collection],
            additional_outputs=[answers], examples=[[q["text"], None, None, None] for q in handlers.examples("en")],
            api_name="chat",
            concurrency_limit=4, fill_height=True,
        )
        chatbot.like(handlers.feedback, [answers], None, api_visibility="undocumented")
        relabel_outputs = [header, lang, chatbot, textbox]
        for trigger in (lang.change, demo.load):
            trigger(handlers.relabel_collections, [lang], [collection], api_visibility="undocumented", queue=False,
                    show_progress="hidden")
        for trigger in (lang.change, demo.load, collection.change):  # the examples follow the collection too
            # relabelling is instant: no spinner over the title while the page loads
            trigger(handlers.relabel, [lang, collection], relabel_outputs, api_visibility="undocumented",
                    queue=False, show_progress="hidden").then(
                None, [header], None, js=TITLE_FROM_HEADER_JS, api_visibility="undocumented", queue=False
            )
        for script in (SCROLL_TO_QUESTION_JS, KEEP_HINT_JS, EXAMPLES_AS_GROUP_JS):
            demo.load(None, None, None, js=script, api_visibility="undocumented", queue=False)
    return demo


def gradio_events(demo: gr.Blocks) -> GradioEvents:
    """Which of the chat's Gradio events ask a question and which vote: every event running `chat` (the
    textbox, the examples, retry, Gradio's API) asks, whatever Gradio's own chain calls it."""
    names = {  # the qualified name: ChatInterface renames the function it wraps
        index: fn.fn.__qualname__.rpartition(".")[2] for index, fn in demo.fns.items()
        if fn.fn is not None and fn.fn.__module__ == __name__
    }
    kinds = {index: EVENT_KINDS[name] for index, name in names.items() if name in EVENT_KINDS}
    return GradioEvents(kinds, {demo.fns[index].api_name: kind for index, kind in kinds.items()})
