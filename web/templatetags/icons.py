"""`{% icon "home" %}`: small inline SVG icons (stroke = currentColor), no icon font or emoji font needed."""

from django import template
from django.utils.html import format_html
from django.utils.safestring import mark_safe

register = template.Library()

PATHS = {
    "home": "M3 11l9-8 9 8M5 10v10h5v-6h4v6h5V10",
    "target": (
        "M12 3a9 9 0 1 0 0 18 9 9 0 0 0 0-18zm0 4a5 5 0 1 0 0 10 5 5 0 0 0 0-10zm0 4a1 1 0 1 0 0 2 1 1 0 0 0 0-2z"
    ),
    "coins": "M3 7h15a3 3 0 0 1 3 3v7a3 3 0 0 1-3 3H3zM3 7l12-4 2 4M16 13h2",
    "award": "M12 2a6 6 0 1 0 0 12 6 6 0 0 0 0-12zM8.5 13L7 22l5-3 5 3-1.5-9",
    "receipt": "M5 2h14v20l-3-2-2 2-2-2-2 2-2-2-3 2zM9 7h6M9 11h6M9 15h4",
    "user": "M12 3a4 4 0 1 0 0 8 4 4 0 0 0 0-8zM4 21a8 8 0 0 1 16 0",
    "offline": (
        "M2 2l20 20M8.5 16.5a5 5 0 0 1 7 0M5 12.5a10 10 0 0 1 5.2-2.8M19 12.5a10 10 0 0 0-2-1.5"
        "M2 8.8a15 15 0 0 1 4.2-2.6M22 8.8A15 15 0 0 0 10.7 5M12 20h.01"
    ),
    "lock": "M5 11h14v10H5zM8 11V7a4 4 0 0 1 8 0v4",
    "compass": "M12 2a10 10 0 1 0 0 20 10 10 0 0 0 0-20zM16 8l-2 6-6 2 2-6z",
    "bell": "M6 8a6 6 0 0 1 12 0c0 7 3 9 3 9H3s3-2 3-9M10 21h4",
    # badges (BADGE_ICONS below)
    "sprout": "M12 21v-9M12 12c0-4 3-7 8-7 0 5-3 7-8 7zM12 14c0-3-2-5-7-5 0 4 3 5 7 5",
    "hand": ("M7 11V5a1.5 1.5 0 0 1 3 0v5M10 10V3.5a1.5 1.5 0 0 1 3 0V10M13 10V4.5a1.5 1.5 0 0 1 3 0V11"
             "M16 11V7.5a1.5 1.5 0 0 1 3 0V14a7 7 0 0 1-7 7h-1a6 6 0 0 1-5-2.7L3.5 14a1.5 1.5 0 0 1 2.5-1.7L7 14"),
    "coin": "M12 3a9 9 0 1 0 0 18 9 9 0 0 0 0-18zM12 6.5v11M14.5 9.5H11a1.5 1.5 0 0 0 0 3h2a1.5 1.5 0 0 1 0 3H9.5",
    "bag": "M9 3h6l-2 4h-2zM8 7h8c3 3 5 6 5 9a5 5 0 0 1-5 5H8a5 5 0 0 1-5-5c0-3 2-6 5-9zM12 11v6",
    "bank": "M3 10l9-6 9 6M5 10v8M9 10v8M15 10v8M19 10v8M3 21h18",
    "trending": "M3 17l6-6 4 4 8-8M15 7h6v6",
    "flame": "M12 22a7 7 0 0 0 7-7c0-4-3-6-4-10-2 2-3 4-3 6-1-1-2-2-2-4-3 3-5 5-5 8a7 7 0 0 0 7 7z",
    "comet": "M21 3l-9 9M18 3l-8 6M21 6l-6 8M9 11a4 4 0 1 1 0 8 4 4 0 0 1 0-8z",
    "calendar": "M4 5h16v16H4zM4 10h16M8 3v4M16 3v4",
    "sunrise": "M3 18h18M12 3v4M5.6 8.6l1.4 1.4M18.4 8.6L17 10M7 18a5 5 0 0 1 10 0",
    "check": "M12 3a9 9 0 1 0 0 18 9 9 0 0 0 0-18zM8 12l3 3 5-6",
    "medal": "M8 2l4 6 4-6M12 8a6 6 0 1 0 0 12 6 6 0 0 0 0-12zM12 11v6",
    "podium": "M3 21v-6h6v6M9 21V9h6v12M15 21v-8h6v8",
    "trophy": "M8 4h8v5a4 4 0 0 1-8 0zM8 6H4a3 3 0 0 0 4 4M16 6h4a3 3 0 0 1-4 4M12 13v4M8 21h8M10 17h4v4",
    "team": "M9 7a3 3 0 1 0 0 6 3 3 0 0 0 0-6zM3 21a6 6 0 0 1 12 0M16 4a3 3 0 0 1 0 6M18 15a5 5 0 0 1 3 6",
    "megaphone": "M3 10v4h4l8 5V5L7 10zM18 8a5 5 0 0 1 0 8",
    "star": "M12 3l2.7 5.6 6.1.9-4.4 4.3 1 6.1-5.4-2.9-5.4 2.9 1-6.1L3.2 9.5l6.1-.9z",
}

# A badge keeps its emoji (editable in admin, used in SMS text); pages draw this SVG instead, since many
# cheap phones have no colour-emoji font and showed an empty box (issue 16 item 15). Unknown: "award".
BADGE_ICONS = {
    "🌱": "sprout", "🖐": "hand", "🪙": "coin", "💰": "bag", "🏦": "bank", "🐘": "trending", "🔥": "flame",
    "☄": "comet", "📅": "calendar", "🐦": "sunrise", "✅": "check", "🎖": "medal", "🏆": "trophy", "🥉": "podium",
    "🤝": "team", "🎯": "target", "📣": "megaphone", "🌟": "star", "🏅": "award", "★": "star",
}


@register.simple_tag
def icon(name: str, size: int = 24, label: str = ""):
    path = PATHS.get(name, "")
    aria = format_html(' role="img" aria-label="{}"', label) if label else mark_safe(' aria-hidden="true"')
    return format_html(
        '<svg class="icon-svg" width="{0}" height="{0}" viewBox="0 0 24 24" fill="none" stroke="currentColor" '
        'stroke-width="2" stroke-linecap="round" stroke-linejoin="round"{1}><path d="{2}"/></svg>',
        size, aria, path,
    )


@register.simple_tag
def badge_icon(emoji: str, size: int = 24):
    """`{% badge_icon b.icon 28 %}`: the SVG drawn for a badge's emoji (variation selectors ignored)."""
    key = (emoji or "").replace("\ufe0f", "").strip()
    return icon(BADGE_ICONS.get(key, "award"), size)
