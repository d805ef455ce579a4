"""Log context: every line carries the tenant schema and, inside a request, its request id."""

from __future__ import annotations

import contextvars
import logging

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")


def current_schema() -> str:
    from django.db import connection

    return getattr(connection, "schema_name", "public")


def _tracing_on() -> bool:
    try:
        from django.conf import settings

        return bool(settings.OTEL_ENABLED)
    except Exception:  # settings not ready
        return False


class ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "schema"):
            try:
                record.schema = current_schema()
            except Exception:  # settings not ready (early start-up)
                record.schema = "-"
        if not hasattr(record, "request_id"):
            record.request_id = request_id_var.get()
        if not hasattr(record, "trace_id") and _tracing_on():
            from savegame.tracing import trace_ids

            record.trace_id, record.span_id = trace_ids()
        return True
