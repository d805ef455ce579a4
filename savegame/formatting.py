"""One way to write money, points and dates, in pages and in messages, in the active language.

Kenyan usage in English and Kiswahili alike: "KES 2,650.00", "10,000 points", "22 Dec 2026" /
"22 Des 2026". Templates use the filters in web/templatetags/formatting.py; messages format their
placeholders through `notifications.content.localize`, both through these functions.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from django.utils import formats


def _decimal(value) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        number = Decimal(str(value).replace(",", "").strip())
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


def amount(value, *, cents: bool = True) -> str:
    """2650 -> "2,650.00" (cents=False: "2,650"); anything not a number comes back as it was."""
    number = _decimal(value)
    if number is None:
        return "" if value is None else str(value)
    return f"{number:,.2f}" if cents else f"{number:,.0f}"


def money(value, *, cents: bool = True) -> str:
    """2650 -> "KES 2,650.00"."""
    return f"KES {amount(value, cents=cents)}"


def points(value) -> str:
    """10000 -> "10,000"."""
    number = _decimal(value)
    return str(value) if number is None else f"{int(number):,}"


def day(value, *, weekday: bool = False, year: bool = True) -> str:
    """A date in the active language: "22 Dec 2026", weekday=True: "Mon 7 Dec 2026". ISO strings are accepted."""
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value[:10])
        except ValueError:
            return value
    if isinstance(value, datetime):
        value = value.date()
    if not isinstance(value, date):
        return "" if value is None else str(value)
    fmt = ("D " if weekday else "") + "j M" + (" Y" if year else "")
    return formats.date_format(value, fmt)
