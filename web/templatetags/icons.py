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
