"""Words the web chat shows, in every served language, and how the chat picks its language."""

from __future__ import annotations

SERVED_UI = ("zh", "es", "en")
DEFAULT_UI = "en"

# (label shown, value sent): the answer language; "auto" follows the question.
LANGUAGE_CHOICES = [("Auto", "auto"), ("中文", "zh"), ("Español", "es"), ("English", "en")]

EXAMPLE_QUESTIONS = [
    "¿Cuánto alcanzó el comercio entre China y América Latina en 2024?",
    "2024年中国与拉美的贸易额是多少？",
    "Where was the China–LAC think tank forum held?",
]

UI_TEXT: dict[str, dict[str, str]] = {
    "en": {
        "title": "Forum reports assistant",
        "description": "Ask about the forum reports in Chinese, Spanish or English. "
        "Every answer quotes the reports and lists its sources.",
        "language_label": "Answer language",
        "chat_label": "Chat",
        "placeholder": "Type your question…",
        "empty_chat": "Ask a question about the forum reports, or pick an example.",
        "sources": "Sources",
        "also_retrieved": "Also retrieved (not cited)",
        "open_document": "open",
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
        "chat_label": "Chat",
        "placeholder": "Escriba su pregunta…",
        "empty_chat": "Haga una pregunta sobre los informes del foro o elija un ejemplo.",
        "sources": "Fuentes",
        "also_retrieved": "También encontrado (no citado)",
        "open_document": "abrir",
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
        "chat_label": "对话",
        "placeholder": "请输入您的问题…",
        "empty_chat": "请就论坛报告提问，或选择一个示例问题。",
        "sources": "来源",
        "also_retrieved": "其他检索结果（未引用）",
        "open_document": "打开",
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
        if primary in SERVED_UI and negative_quality < 0:
            return primary
    return None


def language_from_accept(header: str | None) -> str:
    """The first served language in an Accept-Language header (quality order), else English."""
    return served_language_from_accept(header) or DEFAULT_UI


def ui_language(choice: str | None, accept_language: str | None = None) -> str:
    """The chosen answer language, or with Auto the browser's preferred served language."""
    return choice if choice in SERVED_UI else language_from_accept(accept_language)
