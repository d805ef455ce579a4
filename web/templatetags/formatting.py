"""Template filters for savegame.formatting: {{ x|money }}, {{ x|amount }}, {{ n|points }}, {{ d|day }}."""

from django import template

from savegame import formatting

register = template.Library()


@register.filter
def money(value, cents: bool = True):
    return formatting.money(value, cents=cents not in (False, "0", 0, "no"))


@register.filter
def amount(value, cents: bool = True):
    return formatting.amount(value, cents=cents not in (False, "0", 0, "no"))


@register.filter
def points(value):
    return formatting.points(value)


@register.filter
def day(value, style: str = ""):
    return formatting.day(value, weekday="weekday" in style, year="noyear" not in style)
