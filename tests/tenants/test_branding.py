import pytest
from hypothesis import given
from hypothesis import strategies as st

from tenants.branding import contrast_ratio, readable_text_on


@given(st.integers(min_value=0, max_value=0xFFFFFF))
def test_text_on_any_brand_colour_is_readable(value):
    background = f"#{value:06x}"
    text = readable_text_on(background)
    # The better of black/white always reaches at least 4.5:1 against a solid colour.
    assert contrast_ratio(background, text) >= 4.5


def test_known_colours():
    assert readable_text_on("#ffffff") == "#000000"
    assert readable_text_on("#0f766e") == "#ffffff"
    assert readable_text_on("#facc15") == "#000000"


@given(st.integers(min_value=0, max_value=0xFFFFFF))
def test_brand_colour_as_text_on_white_is_readable(value):
    from tenants.branding import readable_on_white

    colour = f"#{value:06x}"
    text = readable_on_white(colour)
    assert contrast_ratio(text, "#ffffff") >= 4.5
    if contrast_ratio(colour, "#ffffff") >= 4.5:
        assert text == colour  # already readable brand colours are kept as they are


@pytest.mark.parametrize("primary", ["#f59e0b", "#7c3aed", "#facc15", "#38bdf8", "#777777", "#0f766e", "#22c55e",
                                     "#ef4444", "#ffffff", "#000000"])
def test_brand_text_colours_keep_aa_on_every_surface_they_are_drawn_on(primary):
    """Issue 16.10: links in the brand colour read 4.40:1 on the grey page, badges on the brand tint less."""
    from tenants.branding import PAGE_BG, WHITE, brand_context, contrast_ratio

    class Org:
        name, logo, updated_at, language = "X", None, None, "en"

        def brand(self, key):
            return {"primary_color": primary, "accent_color": primary}.get(key, "")

    b = brand_context(Org())
    for fg, bg in ((b["primary_text"], WHITE), (b["primary_text"], PAGE_BG), (b["primary_text"], b["primary_soft"]),
                   (b["on_primary"], b["primary"]), (b["on_accent"], b["accent"]), (b["accent_text"], WHITE)):
        assert contrast_ratio(fg, bg) >= 4.5, (fg, bg)
