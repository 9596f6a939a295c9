"""The numeric guard: figures of an answer that none of its cited sources supports."""

from __future__ import annotations

import pytest

from bot.answer import Hit
from bot.numeric_guard import cited_numbers, find_numbers, hit_texts, source_numbers, unsupported_numbers

EN = (
    "In 2024, trade between China and Latin America reached US$518.47 billion. China's cumulative investment "
    "in the region exceeds US$600 billion. More than seventy experts attended the forum on 7 November 2025."
)
ES = (
    "En 2024, el comercio entre China y América Latina alcanzó los 518.47 mil millones de dólares. La inversión "
    "acumulada de China supera los 600 mil millones de dólares. Asistieron más de setenta expertos al foro del "
    "7 de noviembre de 2025, que trató el XV Plan Quinquenal."
)
ZH = (
    "2024年，中拉贸易额达到5184.7亿美元（US$518.47 billion）；中国对拉美地区的累计投资已超过6000亿美元。"
    "七十余位专家学者出席了2025年11月7日的论坛，讨论了第十五个五年规划。"
)
SCHOLARSHIPS = (
    "The programme offers 120 scholarships in its first year; each covers 35 % of the fees, 1,500 applicants."
)


# --- supported figures in three languages ---


@pytest.mark.parametrize(
    ("answer", "sources"),
    [
        ("Trade reached US$518.47 billion in 2024 [1].", [EN]),
        ("Trade reached 518.47 billion dollars [1] and investment exceeded US$600 billion [1].", [EN]),
        ("El comercio alcanzó 518,47 mil millones de dólares en 2024 [1].", [ES]),  # decimal comma
        ("La inversión supera los 600 mil millones de dólares [1].", [ES]),
        ("2024年中拉贸易额达到5184.7亿美元[1]，累计投资超过6000亿美元[1]。", [ZH]),
        ("七十余位专家出席了论坛[1]。", [ZH]),  # Chinese numeral
        ("More than 70 experts attended [1].", [EN]),  # "seventy" in the source
        ("Más de 70 expertos asistieron [1].", [ES]),  # "setenta"
        ("El comercio alcanzó US$518.47 billion [1].", [ZH]),  # 518.47 billion = 5184.7亿
        ("中拉贸易额为518.47 billion美元[1]。", [EN]),
        ("La inversión supera 6000亿 [1].", [ES]),  # 6000亿 = 600 mil millones
        ("Trade was about US$518.5 billion [1], roughly 518 billion [1].", [EN]),  # rounded, not invented
        ("The forum met on 7 November 2025 [1].", [ES]),  # month and year from a Spanish source
        ("El foro trató el 15.º Plan Quinquenal [1].", [ES]),  # Roman numeral XV
        ("The programme offers 120 scholarships [1]; each covers 35% of fees [1].", [SCHOLARSHIPS]),
        ("There were 1,500 applicants [1].", [SCHOLARSHIPS]),
        ("Hubo 1.500 solicitantes [1].", [SCHOLARSHIPS]),  # Spanish thousands separator
    ],
)
def test_supported_figures_are_not_flagged(answer, sources):
    assert unsupported_numbers(answer, sources) == []


# --- unsupported figures ---


@pytest.mark.parametrize(
    ("answer", "sources", "flagged"),
    [
        ("Trade reached US$9,999 billion in 2024 [1].", [EN], ["9,999 billion"]),
        ("Trade reached US$518.47 trillion [1].", [EN], ["518.47 trillion"]),  # right digits, wrong scale
        ("El comercio alcanzó 5184,7 mil millones [1].", [ES], ["5184,7 mil millones"]),
        ("La inversión creció un 35 % [1].", [ES], ["35 %"]),
        ("2024年中拉贸易额达到5184.7万美元[1]。", [ZH], ["5184.7万"]),
        ("四十余位专家出席了论坛[1]。", [ZH], ["四十"]),
        ("Trade reached 518.47 billion [1] and 2 new ports opened in 2031 [1].", [EN], ["2", "2031"]),
        ("There were 1,234 applicants [1].", [SCHOLARSHIPS], ["1,234"]),
    ],
)
def test_unsupported_figures_are_flagged(answer, sources, flagged):
    assert unsupported_numbers(answer, sources) == flagged


def test_each_figure_is_reported_once_as_written():
    assert unsupported_numbers("It was 777 [1]; yes, 777 [1].", [EN]) == ["777"]


# --- citations decide which sources count ---


def test_only_cited_sources_support_figures():
    answer = "The programme offers 120 scholarships [1]."
    assert unsupported_numbers(answer, [EN, SCHOLARSHIPS]) == ["120"]  # 120 is in [2], the answer cites [1]
    assert unsupported_numbers("The programme offers 120 scholarships [2].", [EN, SCHOLARSHIPS]) == []
    assert unsupported_numbers("It offers 120 scholarships [1][2].", [EN, SCHOLARSHIPS]) == []
    assert unsupported_numbers("It offers 120 scholarships 【2】.", [EN, SCHOLARSHIPS]) == []


def test_without_citations_every_source_counts():
    assert unsupported_numbers("The programme offers 120 scholarships.", [EN, SCHOLARSHIPS]) == []
    assert unsupported_numbers("The programme offers 130 scholarships.", [EN, SCHOLARSHIPS]) == ["130"]


def test_invalid_citations_are_ignored():
    # [7] does not exist: the valid [2] decides
    assert unsupported_numbers("It offers 120 scholarships [2][7].", [EN, SCHOLARSHIPS]) == []
    assert cited_numbers("See [2][7] and [1, 2].", n_sources=2) == [2, 1]
    assert cited_numbers("See [2][7] and [1, 2].") == [2, 7, 1]


def test_citation_markers_and_list_numbers_are_not_figures():
    answer = "1. Trade reached US$518.47 billion [1]\n2. Investment exceeded US$600 billion [1][2]"
    assert [m.raw for m in find_numbers(answer)] == ["518.47 billion", "600 billion"]
    assert unsupported_numbers(answer, [EN, SCHOLARSHIPS]) == []


def test_a_year_is_accepted_from_any_source():
    # the answer cites [2] (no year in it), but 2025 is in source [1]
    assert unsupported_numbers("The programme started after the 2025 forum [2].", [EN, SCHOLARSHIPS]) == []
    # other numbers are not: 600 is only in [1]
    assert unsupported_numbers("It offers 600 scholarships [2].", [EN, SCHOLARSHIPS]) == ["600"]


def test_number_words_and_chinese_filler_words_are_not_figures_of_the_answer():
    # 一些 / 十分 / 两国 / 一致 are words; they are never flagged
    assert unsupported_numbers("两国一致认为合作十分重要，一些专家出席[1]。", [ZH]) == []


def test_source_numbers_normalise_formats():
    numbers = source_numbers("5184.7亿美元, 1.234,5 y 518,47; setenta y cinco; 二零二三年")
    values = {str(v.normalize()) for v in numbers.values}
    assert {"5.1847E+11", "1234.5", "518.47", "75", "2023"} <= values
    assert {str(v) for v in numbers.bases} == {"5184.7"}


def test_hit_texts_include_title_and_extra_chunks():
    hit = Hit("c", "Main chunk.", {"title": "Report 2024", "section": "Trade"}, 0.5, extra_texts=["It grew 7%."])
    [text] = hit_texts([hit])
    assert "Report 2024" in text and "Main chunk." in text and "It grew 7%." in text
    assert unsupported_numbers("Trade grew 7% in 2024 [1].", hit_texts([hit])) == []
