"""The one CSV writer every export uses: text cells a spreadsheet would run as a formula are defused.

Excel, LibreOffice and Google Sheets treat a cell starting with = + - @ (and, after a tab or carriage
return, the same) as a formula: a member named `=HYPERLINK(...)` or a callback's `BillRefNumber`
would run in the leader's spreadsheet (CSV injection). Such text cells get a leading apostrophe,
which spreadsheets show as text and do not display. Numbers (int, Decimal, float) are written as
they are, so a negative amount stays a number.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import Any

from django.http import HttpResponse

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


class SafeCsvWriter:
    """csv.writer with every text cell passed through csv_cell."""

    def __init__(self, out, **kwargs):
        self._writer = csv.writer(out, **kwargs)

    def writerow(self, row: Iterable[Any]):
        return self._writer.writerow([csv_cell(v) for v in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


def csv_response(*, filename: str) -> tuple[HttpResponse, SafeCsvWriter]:
    """An attachment response and the safe writer that fills it."""
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response, SafeCsvWriter(response)
