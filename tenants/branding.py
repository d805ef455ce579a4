"""Brand colours as CSS variables, with text colours picked for contrast whatever the brand."""

from __future__ import annotations

import re

HEX_RE = re.compile(r"^#([0-9a-fA-F]{6})$")
DEFAULT_PRIMARY = "#0f766e"
DEFAULT_ACCENT = "#f59e0b"
WHITE = "#ffffff"
PAGE_BG = "#f5f6f8"  # --bg in static/css/app.css: brand-coloured text sits on it as well as on white
# WCAG AA for normal text.
MIN_TEXT_CONTRAST = 4.5


def _channel(value: int) -> float:
    c = value / 255
    return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4


def _rgb(hex_color: str) -> tuple[int, int, int]:
    h = hex_color.lstrip("#")
    return tuple(int(h[i : i + 2], 16) for i in (0, 2, 4))  # type: ignore[return-value]


def relative_luminance(hex_color: str) -> float:
    r, g, b = _rgb(hex_color)
    return 0.2126 * _channel(r) + 0.7152 * _channel(g) + 0.0722 * _channel(b)


def contrast_ratio(a: str, b: str) -> float:
    la, lb = sorted((relative_luminance(a), relative_luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def readable_text_on(background: str) -> str:
    """Black or white, whichever reads better on `background` (WCAG contrast)."""
    return "#ffffff" if contrast_ratio(background, "#ffffff") >= contrast_ratio(background, "#000000") else "#000000"


def mix(color: str, other: str, weight: float) -> str:
    """`color` moved `weight` (0..1) of the way towards `other`."""
    a, b = _rgb(color), _rgb(other)
    return "#" + "".join(f"{round(x + (y - x) * weight):02x}" for x, y in zip(a, b))


def readable_on_white(color: str) -> str:
    """The brand colour, darkened just enough to be readable as text/links on a white page."""
    return readable_on(color, backgrounds=(WHITE,))


def readable_on(color: str, *, backgrounds: tuple[str, ...]) -> str:
    """The brand colour, darkened just enough to be readable as text on every one of `backgrounds`
    (brand-coloured links sit on white cards, on the grey page and on the brand's own pale tint)."""
    for step in range(0, 41):
        candidate = mix(color, "#000000", step / 40)
        if all(contrast_ratio(candidate, bg) >= MIN_TEXT_CONTRAST for bg in backgrounds):
            return candidate
    return "#000000"


def clean_color(value: str | None, default: str) -> str:
    return value.lower() if value and HEX_RE.match(value) else default


def brand_initial(name: str) -> str:
    for ch in name or "":
        if ch.isalnum():
            return ch.upper()
    return "S"


def brand_context(organization) -> dict:
    if organization is None:
        primary, accent, name, logo, tagline, language = DEFAULT_PRIMARY, DEFAULT_ACCENT, "SaveGame", "", "", "en"
    else:
        primary = clean_color(organization.brand("primary_color"), DEFAULT_PRIMARY)
        accent = clean_color(organization.brand("accent_color"), DEFAULT_ACCENT)
        name = organization.name
        # Served by web.pages.logo on the org's own host (works without a media server);
        # the version busts caches when the logo changes.
        version = int(organization.updated_at.timestamp()) if organization.updated_at else 0
        logo = f"/logo?v={version}" if organization.logo else ""
        tagline = organization.brand("tagline")
        language = organization.language
    return {
        "name": name,
        "initial": brand_initial(name),
        "logo": logo,
        "tagline": tagline,
        "language": language,
        "primary": primary,
        "accent": accent,
        "on_primary": readable_text_on(primary),
        "on_accent": readable_text_on(accent),
        # Text and links in the brand colour on white; a pale tint for highlighted surfaces.
        "primary_text": readable_on(primary, backgrounds=(WHITE, PAGE_BG, mix(primary, WHITE, 0.88))),
        "accent_text": readable_on_white(accent),
        "primary_soft": mix(primary, WHITE, 0.88),
    }
