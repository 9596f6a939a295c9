"""Words the web chat and the widget show, in every served language, and how the chat picks its language."""

from __future__ import annotations

from textkit.language import SERVED

DEFAULT_UI = "en"

_NATIVE_NAMES = {"zh": "中文", "es": "Español", "en": "English"}

UI_TEXT: dict[str, dict[str, str]] = {
    "en": {
        "title": "Forum reports assistant",
        "description": "Ask about the forum reports in Chinese, Spanish or English. "
        "Every answer quotes the reports and lists its sources.",
        "language_label": "Answer language",
        "collection_label": "Forum",
        "auto": "Auto",
        "chat_label": "Chat",
        "question_label": "Your question",
        "placeholder": "Type your question…",
        "empty_chat": "Ask a question about the forum reports, or pick an example.",
        "sources": "Sources",
        "also_retrieved": "Also retrieved (not cited)",
        "invalid_empty": "Please type a question.",
        "invalid_too_long": "The question is too long ({chars} characters; the limit is {limit}).",
        "invalid_other": "This question cannot be answered: {reason}",
        "error": "Sorry, something went wrong while answering. Please try again.",
        "unavailable": "Sorry, the {backend} is unavailable right now. Please try again in a moment.",
        "document_store": "document store",
        "language_model": "language model",
        "backend": "service",
    },
    "es": {
        "title": "Asistente de informes del foro",
        "description": "Pregunte sobre los informes del foro en chino, español o inglés. "
        "Cada respuesta cita los informes e indica sus fuentes.",
        "language_label": "Idioma de la respuesta",
        "collection_label": "Foro",
        "auto": "Automático",
        "chat_label": "Chat",
        "question_label": "Su pregunta",
        "placeholder": "Escriba su pregunta…",
        "empty_chat": "Haga una pregunta sobre los informes del foro o elija un ejemplo.",
        "sources": "Fuentes",
        "also_retrieved": "También encontrado (no citado)",
        "invalid_empty": "Escriba una pregunta.",
        "invalid_too_long": "La pregunta es demasiado larga ({chars} caracteres; el límite es {limit}).",
        "invalid_other": "No se puede responder a esta pregunta: {reason}",
        "error": "Lo sentimos, algo falló al responder. Inténtelo de nuevo.",
        "unavailable": "Lo sentimos, {backend} no está disponible ahora. Inténtelo de nuevo en un momento.",
        "document_store": "el almacén de documentos",
        "language_model": "el modelo de lenguaje",
        "backend": "el servicio",
    },
    "zh": {
        "title": "论坛报告问答助手",
        "description": "可用中文、西班牙语或英语提问论坛报告的内容。每个回答都引用报告原文并列出来源。",
        "language_label": "回答语言",
        "collection_label": "论坛",
        "auto": "自动",
        "chat_label": "对话",
        "question_label": "您的问题",
        "placeholder": "请输入您的问题…",
        "empty_chat": "请就论坛报告提问，或选择一个示例问题。",
        "sources": "来源",
        "also_retrieved": "其他检索结果（未引用）",
        "invalid_empty": "请输入问题。",
        "invalid_too_long": "问题太长（{chars} 个字符，上限为 {limit}）。",
        "invalid_other": "无法回答该问题：{reason}",
        "error": "抱歉，回答时出错了，请重试。",
        "unavailable": "抱歉，{backend}暂时不可用，请稍后再试。",
        "document_store": "文档库",
        "language_model": "语言模型",
        "backend": "服务",
    },
}


# The widget's own words (web/static/widget.js gets them from web/widget.py); it shares a few with the chat.
WIDGET_TEXT: dict[str, dict[str, str]] = {
    "en": {
        "open": "Ask about the forum reports", "close": "Close", "title": "Forum assistant", "send": "Send",
        "newChat": "New conversation", "starters": "Suggested questions",
        "thinking": "Searching the reports…",
        "welcome": "Hello! Ask me about the forum reports, in Chinese, Spanish or English.",
        "rate": "Too many questions in a short time. Please wait a minute and try again.",
        "forbidden": "This website is not allowed to use the assistant.",
        "invalid": "The question could not be processed: ",
        "network": "Could not reach the assistant. Please check your connection or try again later.",
        "server": "The assistant could not answer. Please try again later.",
    },
    "es": {
        "open": "Pregunte sobre los informes del foro", "close": "Cerrar", "title": "Asistente del foro",
        "send": "Enviar", "thinking": "Buscando en los informes…",
        "newChat": "Nueva conversación", "starters": "Preguntas sugeridas",
        "welcome": "¡Hola! Pregúnteme sobre los informes del foro, en chino, español o inglés.",
        "rate": "Demasiadas preguntas en poco tiempo. Espere un minuto y vuelva a intentarlo.",
        "forbidden": "Este sitio web no está autorizado a usar el asistente.",
        "invalid": "No se pudo procesar la pregunta: ",
        "network": "No se pudo contactar con el asistente. Compruebe su conexión o inténtelo más tarde.",
        "server": "El asistente no pudo responder. Inténtelo de nuevo más tarde.",
    },
    "zh": {
        "open": "咨询论坛报告", "close": "关闭", "title": "论坛问答助手", "send": "发送", "thinking": "正在检索报告…",
        "newChat": "新对话", "starters": "推荐问题",
        "welcome": "您好！可以用中文、西班牙语或英语向我询问论坛报告的内容。",
        "rate": "提问过于频繁，请稍等一分钟后再试。",
        "forbidden": "此网站未获授权使用该助手。",
        "invalid": "无法处理该问题：",
        "network": "无法连接到助手，请检查网络或稍后再试。",
        "server": "助手暂时无法回答，请稍后再试。",
    },
}


def widget_text(lang: str) -> dict[str, str]:
    """Every word the widget shows in `lang`: its own, and those it shares with the chat."""
    shared = {"placeholder": text(lang, "placeholder"), "sources": text(lang, "sources"),
              "alsoRetrieved": text(lang, "also_retrieved")}
    return {**WIDGET_TEXT[lang], **shared}


def language_choices(lang: str) -> list[tuple[str, str]]:
    """(label shown, value sent) for the answer language: "auto" (follows the question), named in `lang`,
    then each served language by its own name."""
    return [(text(lang, "auto"), "auto"), *((_NATIVE_NAMES[code], code) for code in SERVED)]


def text(lang: str, key: str, **values: object) -> str:
    table = UI_TEXT.get(lang, UI_TEXT[DEFAULT_UI])
    return table[key].format(**values) if values else table[key]


def served_language_from_accept(header: str | None) -> str | None:
    """The first served language in an Accept-Language header (quality order; q=0 means not wanted), or None."""
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate((header or "").split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        ranked.append((-quality, position, tag.strip().lower().split("-")[0]))
    for negative_quality, _, primary in sorted(ranked):
        if primary in SERVED and negative_quality < 0:
            return primary
    return None


def language_from_accept(header: str | None) -> str:
    """The first served language in an Accept-Language header (quality order), else English."""
    return served_language_from_accept(header) or DEFAULT_UI


def ui_language(choice: str | None, accept_language: str | None = None) -> str:
    """The chosen answer language, or with Auto the browser's preferred served language."""
    return choice if choice in SERVED else language_from_accept(accept_language)


LANGUAGE_CHOICES = language_choices(DEFAULT_UI)
