"""JSON request bodies: whatever cannot be read is the client's 400, never our 500.

Python's json raises RecursionError (not ValueError) on deep nesting such as `[` * 20000, which
slipped past every `except ValueError` and answered 500 (a debug page under DEBUG). `json_loads`
turns it into ValueError, and `JSONParser` (the API's default parser) into DRF's ParseError.
"""

from __future__ import annotations

import json
from typing import Any

from rest_framework import parsers
from rest_framework.exceptions import ParseError


def json_loads(raw: bytes | str) -> Any:
    """json.loads; deep nesting raises ValueError like any other unreadable body."""
    try:
        return json.loads(raw)
    except RecursionError as exc:
        raise ValueError("JSON nested too deeply") from exc


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError as exc:
            raise ParseError("JSON parse error - nested too deeply") from exc
