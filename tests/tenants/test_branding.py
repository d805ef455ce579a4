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
