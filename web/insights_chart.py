"""The insights page's chart, drawn on the server as inline SVG: a bar per day for the questions asked, a line
for the share answered. Presentation attributes only (no style attribute, no script), so the page's strict CSP
holds; each bar's <title> is its tooltip."""

from __future__ import annotations

import html
from collections.abc import Sequence

from bot.insights import DayFigures

WIDTH, HEIGHT = 720, 260
LEFT, RIGHT, TOP, BOTTOM = 44, 44, 16, 40
BAR_COLOUR, LINE_COLOUR, GRID_COLOUR, TEXT_COLOUR = "#8fb8ed", "#1a7f37", "#d0d7de", "#59636e"


def _nice_top(value: int) -> int:
    """The smallest 1, 2 or 5 times a power of ten at or above `value` (the questions axis' top)."""
    step = 1
    while True:
        for factor in (1, 2, 5):
            if factor * step >= value:
                return factor * step
        step *= 10


def daily_chart(days: Sequence[DayFigures]) -> str:
    if not days:
        return ""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    top = _nice_top(max(max(d.questions for d in days), 1))
    slot = plot_w / len(days)
    bar = max(1.0, slot * 0.7)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" '
             f'height="{HEIGHT}" role="img" aria-labelledby="chart-title">',
             '<title id="chart-title">Questions per day (bars, left axis) and share answered (line, right '
             'axis)</title>']
    for fraction in (0, 0.5, 1):
        y = TOP + plot_h * (1 - fraction)
        parts.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}" stroke="{GRID_COLOUR}"/>')
        parts.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11" '
                     f'fill="{TEXT_COLOUR}">{round(top * fraction)}</text>')
        parts.append(f'<text x="{WIDTH - RIGHT + 6}" y="{y + 4:.1f}" font-size="11" '
                     f'fill="{LINE_COLOUR}">{fraction:.0%}</text>')
    points = []
    for n, day in enumerate(days):
        x = LEFT + slot * n + (slot - bar) / 2
        height = plot_h * day.questions / top
        tip = html.escape(f"{day.day}: {day.questions} questions, "
                          + (f"{day.answered_rate:.0%} answered" if day.answered_rate is not None else "none"))
        parts.append(f'<rect x="{x:.1f}" y="{TOP + plot_h - height:.1f}" width="{bar:.1f}" height="{height:.1f}" '
                     f'fill="{BAR_COLOUR}"><title>{tip}</title></rect>')
        if day.answered_rate is not None:
            points.append(f"{LEFT + slot * (n + 0.5):.1f},{TOP + plot_h * (1 - day.answered_rate):.1f}")
    if len(points) > 1:
        parts.append(f'<polyline points="{" ".join(points)}" fill="none" stroke="{LINE_COLOUR}" stroke-width="2"/>')
    parts += [f'<circle cx="{p.split(",")[0]}" cy="{p.split(",")[1]}" r="2.5" fill="{LINE_COLOUR}"/>' for p in points]
    for n in sorted({0, len(days) // 2, len(days) - 1}):
        x = LEFT + slot * (n + 0.5)
        parts.append(f'<text x="{x:.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle" font-size="11" '
                     f'fill="{TEXT_COLOUR}">{days[n].day}</text>')
    parts.append("</svg>")
    return "".join(parts)
