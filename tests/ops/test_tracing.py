"""OpenTelemetry behind OTEL_ENABLED: off by default; when on, Django and Celery spans carry the tenant
schema and the request id, and log lines the trace id."""

from __future__ import annotations

import logging

import pytest
from django.conf import settings

from savegame import tracing


def test_tracing_is_off_by_default():
    assert settings.OTEL_ENABLED is False
    assert tracing.tracing_setup() is False
    assert tracing.trace_ids() == ("-", "-")


@pytest.fixture
def spans(settings):
    from opentelemetry.instrumentation.celery import CeleryInstrumentor
    from opentelemetry.instrumentation.django import DjangoInstrumentor
    from opentelemetry.instrumentation.psycopg import PsycopgInstrumentor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    settings.OTEL_ENABLED = True
    exporter = InMemorySpanExporter()
    assert tracing.tracing_setup(exporter=exporter)
    try:
        yield exporter
    finally:
        DjangoInstrumentor().uninstrument()
        CeleryInstrumentor().uninstrument()
        PsycopgInstrumentor().uninstrument()
        tracing._provider = None


@pytest.mark.django_db
def test_request_spans_carry_the_schema_and_request_id(spans, client_for, org):
    response = client_for(org).get("/api/v1/challenges", HTTP_X_REQUEST_ID="req-trace-1")
    assert response["X-Request-ID"] == "req-trace-1"
    server = [s for s in spans.get_finished_spans() if s.attributes.get("http.request.method") == "GET"
              or s.attributes.get("http.method") == "GET"]
    assert server, [s.name for s in spans.get_finished_spans()]
    assert server[-1].attributes["savegame.schema"] == org.schema_name
    assert server[-1].attributes["savegame.request_id"] == "req-trace-1"


@pytest.mark.django_db
def test_task_spans_carry_the_tenant_schema(spans, tenant):
    from payments.tasks import inbox_sweep_task

    inbox_sweep_task.apply()
    task_spans = [s for s in spans.get_finished_spans() if "inbox_sweep" in s.name]
    assert task_spans and task_spans[-1].attributes["savegame.schema"] == tenant.schema_name


def test_log_lines_carry_the_trace_id(spans):
    from opentelemetry import trace

    from savegame.logging import ContextFilter

    with tracing._provider.get_tracer("test").start_as_current_span("work") as span:
        record = logging.LogRecord("x", logging.INFO, __file__, 1, "hello", None, None)
        ContextFilter().filter(record)
    assert record.trace_id == format(span.get_span_context().trace_id, "032x")
    assert record.schema and record.request_id
