"""OpenTelemetry for Django, Celery and psycopg, behind OTEL_ENABLED (off by default).

Set up from savegame.apps.SavegameOpsConfig.ready(), so it runs in every web and worker process before
Django builds its middleware chain. Every span carries `savegame.schema` (the tenant schema) and
`savegame.request_id`; log lines carry `trace_id` and `span_id` beside `schema` and `request_id`.
Spans go to OTEL_EXPORTER_OTLP_ENDPOINT when it is set (install opentelemetry-exporter-otlp), to the
console with OTEL_CONSOLE=true, and otherwise nowhere (tests add an in-memory exporter).
"""

from __future__ import annotations

import logging

from django.conf import settings

from savegame.logging import current_schema, request_id_var

logger = logging.getLogger(__name__)
_provider = None


def _context_processor():
    from opentelemetry.sdk.trace import SpanProcessor

    class ContextSpanProcessor(SpanProcessor):
        """The tenant schema and request id on every span, as they are when it starts."""

        def on_start(self, span, parent_context=None) -> None:
            span.set_attribute("savegame.schema", current_schema())
            span.set_attribute("savegame.request_id", request_id_var.get())

    return ContextSpanProcessor()


def _django_response_hook(span, request, response) -> None:
    """The request's span gets the schema routing picked (it started before the tenant was known)."""
    if span is None or not span.is_recording():
        return
    tenant = getattr(request, "tenant", None)
    span.set_attribute("savegame.schema", getattr(tenant, "schema_name", None) or current_schema())
    span.set_attribute("savegame.request_id", getattr(request, "request_id", "") or request_id_var.get())


def tracing_setup(*, exporter=None) -> bool:
    """Instrument Django, Celery and psycopg once per process. Returns whether tracing is on."""
    global _provider
    if not settings.OTEL_ENABLED:
        return False
    if _provider is not None:
        if exporter is not None:
            from opentelemetry.sdk.trace.export import SimpleSpanProcessor

            _provider.add_span_processor(SimpleSpanProcessor(exporter))
        return True
    from opentelemetry import trace
    from opentelemetry.instrumentation.celery import CeleryInstrumentor
    from opentelemetry.instrumentation.django import DjangoInstrumentor
    from opentelemetry.instrumentation.psycopg import PsycopgInstrumentor
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SimpleSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": settings.OTEL_SERVICE_NAME}))
    provider.add_span_processor(_context_processor())
    if exporter is not None:
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    if settings.OTEL_EXPORTER_OTLP_ENDPOINT:
        try:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(
                endpoint=settings.OTEL_EXPORTER_OTLP_ENDPOINT.rstrip("/") + "/v1/traces")))
        except ImportError:
            logger.warning("OTEL_EXPORTER_OTLP_ENDPOINT is set but opentelemetry-exporter-otlp is not installed")
    if settings.OTEL_CONSOLE:
        provider.add_span_processor(SimpleSpanProcessor(ConsoleSpanExporter()))
    trace.set_tracer_provider(provider)
    _provider = provider
    DjangoInstrumentor().instrument(tracer_provider=provider, response_hook=_django_response_hook)
    CeleryInstrumentor().instrument(tracer_provider=provider)
    PsycopgInstrumentor().instrument(tracer_provider=provider, skip_dep_check=True)
    return True


def trace_ids() -> tuple[str, str]:
    """(trace_id, span_id) of the current span, or ("-", "-")."""
    if _provider is None:
        return "-", "-"
    from opentelemetry import trace

    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return "-", "-"
    return format(context.trace_id, "032x"), format(context.span_id, "016x")
