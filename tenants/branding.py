"""Brand colours as CSS variables, with text colours picked for contrast whatever the brand."""

from __future__ import annotations

import re

HEX_RE = re.compile(r"^#([0-9a-fA-F]{6})$")
DEFAULT_PRIMARY = "#0f766e"
DEFAULT_ACCENT = "#f59e0b"


def _channel(value: int) -> float:
    c = value / 255
    return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4


def relative_luminance(hex_color: str) -> float:
    h = hex_color.lstrip("#")
    r, g, b = (int(h[i : i + 2], 16) for i in (0, 2, 4))
    return 0.2126 * _channel(r) + 0.7152 * _channel(g) + 0.0722 * _channel(b)


def contrast_ratio(a: str, b: str) -> float:
    la, lb = sorted((relative_luminance(a), relative_luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def readable_text_on(background: str) -> str:
    """Black or white, whichever reads better on `background` (WCAG contrast)."""
    return "#ffffff" if contrast_ratio(background, "#ffffff") >= contrast_ratio(background, "#000000") else "#000000"


def clean_color(value: str | None, default: str) -> str:
    return value if value and HEX_RE.match(value) else default


def brand_context(organization) -> dict:
    if organization is None:
        primary, accent, name, logo = DEFAULT_PRIMARY, DEFAULT_ACCENT, "SaveGame", ""
    else:
        primary = clean_color(organization.brand("primary_color"), DEFAULT_PRIMARY)
        accent = clean_color(organization.brand("accent_color"), DEFAULT_ACCENT)
        name = organization.name
        logo = organization.logo.url if organization.logo else ""
    return {
        "name": name,
        "logo": logo,
        "primary": primary,
        "accent": accent,
        "on_primary": readable_text_on(primary),
        "on_accent": readable_text_on(accent),
    }
