"""A synthetic, deterministic forum-report corpus in English, Spanish and Chinese for the speed benchmarks.

Each document has a main language, a title, 2-6 sections and a few sentences quoted in the other languages;
lengths vary (log-normal) around ~1,250 Latin-equivalent characters, about three chunks at the default size.
A fifth of the documents are Markdown with headings, the rest plain text.
"""

from __future__ import annotations

import math
import random
from pathlib import Path

from textkit.language import SERVED

TOPICS = {
    "en": ["trade finance", "port logistics", "renewable energy", "digital payments", "agricultural exports",
           "water management", "youth exchanges", "tourism", "mining investment", "public health"],
    "es": ["financiación del comercio", "logística portuaria", "energías renovables", "pagos digitales",
           "exportaciones agrícolas", "gestión del agua", "intercambios juveniles", "turismo",
           "inversión minera", "salud pública"],
    "zh": ["贸易融资", "港口物流", "可再生能源", "数字支付", "农产品出口", "水资源管理", "青年交流", "旅游业",
           "矿业投资", "公共卫生"],
}
PLACES = {
    "en": ["Peru", "Chile", "Brazil", "Mexico", "Argentina", "Colombia", "Shanghai", "Beijing", "Lima", "Santiago"],
    "es": ["Perú", "Chile", "Brasil", "México", "Argentina", "Colombia", "Shanghái", "Pekín", "Lima", "Santiago"],
    "zh": ["秘鲁", "智利", "巴西", "墨西哥", "阿根廷", "哥伦比亚", "上海", "北京", "利马", "圣地亚哥"],
}
SENTENCES = {
    "en": [
        "The {n}th session on {topic} in {place} gathered {k} delegates from universities and think tanks.",
        "According to the report, {topic} grew by {p} percent in {year}, driven by new projects in {place}.",
        "Participants agreed that {topic} needs stable rules, long-term credit and better data.",
        "A speaker from {place} warned that small firms still lack access to {topic}.",
        "The secretariat will publish a follow-up note on {topic} before the end of {year}.",
        "Investment linked to {topic} reached {k} million dollars, most of it in {place}.",
        "Delegates proposed a joint working group on {topic} with members from {place}.",
        "The discussion showed that training and exchanges matter as much as funding.",
    ],
    "es": [
        "La sesión número {n} sobre {topic} en {place} reunió a {k} delegados de universidades y centros de estudio.",
        "Según el informe, {topic} creció un {p} por ciento en {year}, impulsado por nuevos proyectos en {place}.",
        "Los participantes coincidieron en que {topic} requiere reglas estables, crédito a largo plazo "
        "y mejores datos.",
        "Un ponente de {place} advirtió que las pequeñas empresas aún carecen de acceso a {topic}.",
        "La secretaría publicará una nota de seguimiento sobre {topic} antes de que termine {year}.",
        "La inversión vinculada a {topic} alcanzó {k} millones de dólares, la mayor parte en {place}.",
        "Los delegados propusieron un grupo de trabajo conjunto sobre {topic} con miembros de {place}.",
        "El debate mostró que la formación y los intercambios importan tanto como la financiación.",
    ],
    "zh": [
        "关于{topic}的第{n}次会议在{place}举行，来自大学和智库的{k}名代表出席。",
        "报告显示，{year}年{topic}增长了{p}%，主要得益于{place}的新项目。",
        "与会者一致认为，{topic}需要稳定的规则、长期信贷和更好的数据。",
        "来自{place}的发言人提醒，中小企业在{topic}方面仍然缺乏渠道。",
        "秘书处将在{year}年底前发布关于{topic}的后续说明。",
        "与{topic}相关的投资达到{k}百万美元，其中大部分在{place}。",
        "代表们提议与{place}的成员共同成立{topic}联合工作组。",
        "讨论表明，培训和交流与资金同样重要。",
    ],
}
HEADINGS = {"en": "Section", "es": "Sección", "zh": "第{n}部分"}
QUESTIONS = {
    "en": ["How much did {topic} grow in {year}?", "Who warned about access to {topic}?",
           "How many delegates attended the session on {topic} in {place}?"],
    "es": ["¿Cuánto creció {topic} en {year}?", "¿Quién advirtió sobre el acceso a {topic}?",
           "¿Cuántos delegados asistieron a la sesión sobre {topic} en {place}?"],
    "zh": ["{year}年{topic}增长了多少？", "谁提醒了{topic}方面的渠道问题？",
           "有多少代表出席了在{place}举行的{topic}会议？"],
}
LANGS = tuple(sorted(SERVED))  # en, es, zh: document i is in LANGS[i % 3]
_MEAN_CHARS = 1250  # Latin-equivalent characters per document; one CJK character counts 2.5


def _weighted_len(text: str, lang: str) -> float:
    return len(text) * (2.5 if lang == "zh" else 1.0)


def _sentence(rng: random.Random, lang: str) -> str:
    slots = {
        "topic": rng.choice(TOPICS[lang]), "place": rng.choice(PLACES[lang]), "year": rng.randint(2015, 2026),
        "n": rng.randint(2, 40), "k": rng.randint(12, 900), "p": rng.randint(2, 35),
    }
    return rng.choice(SENTENCES[lang]).format(**slots)


def make_document(rng: random.Random, number: int) -> tuple[str, str]:
    """(file name, content) of document `number`."""
    lang = LANGS[number % 3]
    target = min(8000.0, max(300.0, rng.lognormvariate(math.log(_MEAN_CHARS) - 0.125, 0.5)))
    markdown = rng.random() < 0.2
    joiner = "" if lang == "zh" else " "
    title = f"{rng.choice(TOPICS[lang])} — {rng.choice(PLACES[lang])} {number}"
    sections: list[str] = []
    size = 0.0
    while size < target:
        sentences = []
        for _ in range(rng.randint(3, 7)):
            other = rng.random() < 0.08  # a quoted remark in another language
            sentence_lang = rng.choice([x for x in LANGS if x != lang]) if other else lang
            sentences.append(_sentence(rng, sentence_lang))
        paragraph = joiner.join(sentences)
        size += _weighted_len(paragraph, lang)
        sections.append(paragraph)
    if markdown:
        heading = HEADINGS[lang]
        body = "\n\n".join(f"## {heading.format(n=i + 1)} {i + 1}\n\n{s}" for i, s in enumerate(sections))
        return f"doc{number:05d}-{lang}.md", f"# {title}\n\n{body}\n"
    return f"doc{number:05d}-{lang}.txt", title + "\n\n" + "\n\n".join(sections) + "\n"


def write_corpus(folder: Path, count: int, seed: int = 7, first: int = 0) -> list[Path]:
    """Documents first .. first+count-1; a document's content depends only on (seed, number)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for number in range(first, first + count):
        name, content = make_document(random.Random(f"{seed}:{number}"), number)
        path = folder / name
        path.write_text(content, encoding="utf-8")
        paths.append(path)
    return paths


def make_questions(count: int, seed: int = 7) -> list[str]:
    """Questions about the corpus, the three languages in turn."""
    rng = random.Random(f"{seed}:questions")
    out = []
    for i in range(count):
        lang = LANGS[i % 3]
        slots = {"topic": rng.choice(TOPICS[lang]), "place": rng.choice(PLACES[lang]), "year": rng.randint(2015, 2026)}
        out.append(rng.choice(QUESTIONS[lang]).format(**slots))
    return out
