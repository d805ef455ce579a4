"""Light server-rendered SVG charts: no JavaScript, no CDN, no build step.

Each chart is an <svg role="img"> with a title and a description; the pages put a data table
beside every chart, so the numbers are never only in a picture.
"""

from __future__ import annotations

from decimal import Decimal
from itertools import count

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

_ids = count(1)
WIDTH, HEIGHT, PAD_LEFT, PAD_BOTTOM, PAD_TOP = 640, 220, 48, 28, 12


def _fmt(value) -> str:
    value = float(value)
    if abs(value) >= 1_000_000:
        return f"{value / 1_000_000:.1f}M"
    if abs(value) >= 10_000:
        return f"{value / 1000:.0f}k"
    return f"{value:,.0f}" if value == int(value) else f"{value:,.2f}"


def bar_chart(points: list[tuple[str, float | int | Decimal]], *, title: str, description: str = "") -> SafeString:
    """Vertical bars, one per (label, value); long series show every few labels."""
    uid = next(_ids)
    n = max(len(points), 1)
    top = max([float(v) for _, v in points] + [0.0]) or 1.0
    plot_w, plot_h = WIDTH - PAD_LEFT - 8, HEIGHT - PAD_BOTTOM - PAD_TOP
    step = plot_w / n
    bar_w = max(step * 0.75, 1.0)
    label_every = max(1, round(n / 8))
    parts = [
        (
            f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-labelledby="ct{uid} cd{uid}" '
            f'preserveAspectRatio="xMidYMid meet" width="100%">'
        ),
        f'<title id="ct{uid}">{escape(title)}</title><desc id="cd{uid}">{escape(description)}</desc>',
    ]
    for frac in (0, 0.5, 1):
        y = PAD_TOP + plot_h * (1 - frac)
        parts.append(f'<line x1="{PAD_LEFT}" x2="{WIDTH - 8}" y1="{y:.1f}" y2="{y:.1f}" class="grid" stroke="#ddd"/>')
        parts.append(
            f'<text x="{PAD_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11">{_fmt(top * frac)}</text>'
        )
    for i, (label, value) in enumerate(points):
        h = plot_h * float(value) / top
        x = PAD_LEFT + i * step + (step - bar_w) / 2
        y = PAD_TOP + plot_h - h
        parts.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{h:.1f}" fill="var(--primary, #0f766e)">'
            f"<title>{escape(label)}: {escape(_fmt(value))}</title></rect>"
        )
        if i % label_every == 0:
            parts.append(
                f'<text x="{x + bar_w / 2:.1f}" y="{HEIGHT - 8}" text-anchor="middle" font-size="11">'
                f"{escape(label)}</text>"
            )
    parts.append("</svg>")
    return mark_safe("".join(parts))


def stacked_bar(parts_in: list[tuple[str, int, str]], *, title: str) -> SafeString:
    """One horizontal bar split into (label, value, colour) parts, e.g. completed/failed/active."""
    uid = next(_ids)
    total = sum(v for _, v, _ in parts_in) or 1
    width, x = 600, 0.0
    desc = ", ".join(f"{label}: {value}" for label, value, _ in parts_in)
    out = [
        f'<svg class="chart" viewBox="0 0 {width} 40" role="img" aria-labelledby="ct{uid} cd{uid}" width="100%">',
        f'<title id="ct{uid}">{escape(title)}</title><desc id="cd{uid}">{escape(desc)}</desc>',
    ]
    for label, value, colour in parts_in:
        w = width * value / total
        if w > 0:
            out.append(
                f'<rect x="{x:.1f}" y="4" width="{w:.1f}" height="32" fill="{escape(colour)}">'
                f"<title>{escape(label)}: {value}</title></rect>"
            )
        x += w
    out.append("</svg>")
    return mark_safe("".join(out))


def heat(rate: float) -> str:
    """A background colour for a retention cell (0..1), readable with dark text."""
    rate = max(0.0, min(1.0, float(rate)))
    light = 96 - round(rate * 50)
    return f"hsl(170 60% {light}%)"
