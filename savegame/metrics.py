"""Prometheus metrics for the operator (docs/OPERATIONS.md lists every series).

prometheus-client in multiprocess mode: every web process (uvicorn or gunicorn workers, the live
process) and every Celery worker process on a host writes its samples under PROMETHEUS_MULTIPROC_DIR,
and `GET /metrics` on any of them adds all of them up, plus scrape-time gauges read from Redis and the
database (METRICS_COLLECTORS: queue depths, heartbeats, the callback inbox). The counters live here so
every app increments the same objects through small hooks; organization labels stay bounded
(`org_label`).

/metrics is refused without METRICS_TOKEN (`Authorization: Bearer ...`) or an address in
METRICS_ALLOWED_IPS, and answers 404 when neither is configured.
"""

from __future__ import annotations

import glob
import hmac
import logging
import os
import re
import threading
import time
from contextlib import contextmanager

from django.conf import settings

settings.PROMETHEUS_MULTIPROC_DIR  # noqa: B018  settings export the directory before prometheus_client reads it

from prometheus_client import (  # noqa: E402
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily  # noqa: E402

logger = logging.getLogger(__name__)

OTHER = "other"
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0, 2.5, 5.0, 10.0)
PIPELINE_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 900.0)

# --- web ---
HTTP_REQUESTS = Counter("savegame_http_requests_total", "HTTP requests by route template, method and status class.",
                        ["route", "method", "status"])
HTTP_LATENCY = Histogram("savegame_http_request_duration_seconds", "Time to the response (headers), by route.",
                         ["route", "method"], buckets=LATENCY_BUCKETS)
HTTP_IN_FLIGHT = Gauge("savegame_http_requests_in_flight", "Requests being served now.", multiprocess_mode="livesum")
# Set by the live-updates process (one inc per stream opened, one dec when it closes).
LIVE_STREAMS_OPEN = Gauge("savegame_live_streams_open", "Live (SSE) streams open now.", multiprocess_mode="livesum")

# --- money ---
CALLBACKS_RECEIVED = Counter("savegame_callbacks_received_total", "Daraja callbacks that reached a view.",
                             ["org", "kind"])
CALLBACKS_STORED = Counter("savegame_callbacks_stored_total", "Callbacks stored in the inbox (replays excluded).",
                           ["org", "kind"])
CALLBACKS_REFUSED = Counter("savegame_callbacks_refused_total", "Callbacks refused, by reason.", ["org", "reason"])
DEPOSITS_CREDITED = Counter("savegame_deposits_credited_total", "Ledger rows credited from callbacks or admins.",
                            ["org", "status"])
CALLBACK_TO_CREDITED = Histogram("savegame_callback_to_credited_seconds", "Inbox row received -> ledger credited.",
                                 buckets=PIPELINE_BUCKETS)
CREDITED_TO_SCORED = Histogram("savegame_credited_to_scored_seconds", "Deposit verified -> scored by gamification.",
                               buckets=PIPELINE_BUCKETS)
PIPELINE_FAILURES = Counter("savegame_payment_pipeline_failures_total",
                            "Inbox rows the drain could not apply, or scoring batches that failed.", ["org", "stage"])
RECONCILIATION = Counter("savegame_reconciliation_outcomes_total", "What reconciliation found, by check and outcome.",
                         ["check", "outcome"])
SUSPICIOUS_FINDINGS = Counter("savegame_suspicious_findings_total", "Suspicious-pattern findings raised, by rule.",
                              ["rule"])

# --- workers ---
CELERY_TASKS = Counter("savegame_celery_tasks_total", "Celery tasks finished, by task and outcome.", ["task", "state"])
CELERY_RUNTIME = Histogram("savegame_celery_task_duration_seconds", "Celery task run time.", ["task"],
                           buckets=LATENCY_BUCKETS + (30.0, 60.0, 300.0))
BEAT_TASK_SENT = Counter("savegame_beat_sent_total", "Periodic tasks sent by beat, by schedule entry.", ["entry"])

# --- messages ---
MESSAGES = Counter("savegame_messages_total", "Notifications by channel, outcome (sent, failed, skipped) and reason.",
                   ["channel", "outcome", "reason"])
PROVIDER_LATENCY = Histogram("savegame_message_provider_seconds", "One call to the SMS/WhatsApp/push provider.",
                             ["channel"], buckets=LATENCY_BUCKETS)
for _channel in ("sms", "whatsapp", "push"):  # made now: observing right after a send then costs no file set-up
    PROVIDER_LATENCY.labels(channel=_channel)

# --- game ---
DEPOSITS_SCORED = Counter("savegame_deposits_scored_total", "Deposits scored by gamification.", ["org"])
BADGES_AWARDED = Counter("savegame_badges_awarded_total", "Badges awarded.", ["org"])
LEADERBOARD_REBUILDS = Counter("savegame_leaderboard_rebuilds_total", "Leaderboards rebuilt from PostgreSQL.", ["org"])


# --- bounded organization labels -------------------------------------------------------------------

_ORG_REFRESH_SECONDS = 600
_org_lock = threading.Lock()
_org_state: dict = {"expires": 0.0, "labels": {}}


def _top_organizations() -> dict[str, str]:
    """{schema: slug} of the METRICS_TOP_ORGS organizations with the most deposits (the platform
    rollups' counts), the oldest first where there are no rollups yet."""
    from django.apps import apps
    from django.db.models import F

    organization = apps.get_model(settings.TENANT_MODEL)
    rows = organization.objects.exclude(schema_name=settings.PUBLIC_SCHEMA_NAME)
    try:
        rows = rows.order_by(F("stats__deposits_count").desc(nulls_last=True), "pk")
        return dict(rows.values_list("schema_name", "slug")[: settings.METRICS_TOP_ORGS])
    except Exception:  # no platform rollups installed
        return dict(rows.order_by("pk").values_list("schema_name", "slug")[: settings.METRICS_TOP_ORGS])


def org_label(schema: str | None = None) -> str:
    """The organization's slug when it is among the top organizations, else "other"."""
    if schema is None:
        from django.db import connection

        schema = connection.schema_name
    now = time.monotonic()
    if now >= _org_state["expires"]:
        with _org_lock:
            if now >= _org_state["expires"]:
                try:
                    _org_state["labels"] = _top_organizations()
                    _org_state["expires"] = now + _ORG_REFRESH_SECONDS
                except Exception:  # database down: keep the last list, try again soon
                    _org_state["expires"] = now + 30
    return _org_state["labels"].get(schema, OTHER)


def org_labels_forget() -> None:
    _org_state["expires"] = 0.0


def safe(fn, *args, **kwargs) -> None:
    """Metrics never break the code they watch."""
    try:
        fn(*args, **kwargs)
    except Exception:
        logger.debug("metric not recorded", exc_info=True)


def count_on_commit(counter, amount: float = 1, **labels) -> None:
    """Increment once the surrounding transaction commits (a rolled-back savepoint counts nothing)."""
    from django.db import transaction

    if amount:
        transaction.on_commit(lambda: safe(counter.labels(**labels).inc, amount))


def deposits_scored_observe(*, verified_at: list) -> None:
    """Scoring hook (challenges): deposits scored now, and how long each waited since it was credited."""
    from django.db import transaction
    from django.utils import timezone

    def record(label=org_label()) -> None:
        now = timezone.now()
        DEPOSITS_SCORED.labels(org=label).inc(len(verified_at))
        for when in verified_at:
            if when is not None:
                CREDITED_TO_SCORED.observe(max(0.0, (now - when).total_seconds()))

    if verified_at:
        transaction.on_commit(lambda: safe(record))


# --- web -------------------------------------------------------------------------------------------

_METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}
_OPS_ROUTES = {"/livez", "/readyz", "/metrics", "/healthz"}


def route_of(request) -> str:
    match = getattr(request, "resolver_match", None)
    if match is not None and match.route:
        return "/" + match.route
    path = request.path_info
    if path in _OPS_ROUTES:
        return path
    if path.startswith(settings.STATIC_URL):
        return settings.STATIC_URL
    return "unmatched"


class RequestMetricsMiddleware:
    """Counts, latency and in-flight requests by route template (never the raw path)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        HTTP_IN_FLIGHT.inc()
        status = 500
        try:
            response = self.get_response(request)
            status = response.status_code
            return response
        finally:
            HTTP_IN_FLIGHT.dec()
            route = route_of(request)
            method = request.method if request.method in _METHODS else "other"
            HTTP_REQUESTS.labels(route=route, method=method, status=f"{status // 100}xx").inc()
            HTTP_LATENCY.labels(route=route, method=method).observe(time.perf_counter() - started)


# --- celery ----------------------------------------------------------------------------------------

_task_started: dict[str, float] = {}
_TASK_STATES = {"SUCCESS": "succeeded", "FAILURE": "failed", "RETRY": "retried", "REJECTED": "failed"}


def on_task_prerun(*, sender=None, task_id: str | None = None, **kwargs) -> None:
    if task_id:
        _task_started[task_id] = time.perf_counter()


def on_task_postrun(*, sender=None, task_id: str | None = None, state: str | None = None, **kwargs) -> None:
    name = getattr(sender, "name", None) or "unknown"
    started = _task_started.pop(task_id, None) if task_id else None
    CELERY_TASKS.labels(task=name, state=_TASK_STATES.get(state or "", (state or "unknown").lower())).inc()
    if started is not None:
        CELERY_RUNTIME.labels(task=name).observe(time.perf_counter() - started)


def on_task_retry(*, sender=None, **kwargs) -> None:
    """Counted by on_task_postrun (state RETRY); connected so a retry that never reaches postrun is seen."""


# --- messages --------------------------------------------------------------------------------------

_REASON_WORD = re.compile(r"[a-z][a-z_]{1,30}")


def reason_class(reason: str) -> str:
    """A bounded label from a free-text reason: its first word ("quiet_hours", "whatsapp", ...),
    or the provider's status code, never the text itself."""
    reason = (reason or "").strip().lower()
    if not reason:
        return "none"
    if reason[:3].isdigit():
        return reason[:3]
    match = _REASON_WORD.match(reason.replace(" ", "_").replace("-", "_"))
    return match.group(0)[:24].rstrip("_") if match else OTHER


@contextmanager
def provider_timer(channel: str):
    """Time one call to a message provider (raised errors are timed too)."""
    started = time.perf_counter()
    try:
        yield
    finally:
        safe(PROVIDER_LATENCY.labels(channel=channel).observe, time.perf_counter() - started)


def messages_observe(*, rows) -> None:
    """Count notification rows by channel, outcome and reason (called where outcomes are saved)."""
    for row in rows:
        MESSAGES.labels(channel=row.channel, outcome=row.status, reason=reason_class(row.reason)).inc()


# --- scrape-time gauges ----------------------------------------------------------------------------

def _broker_redis():
    import redis

    from savegame.redis import redis_client

    if settings.CELERY_BROKER_URL == settings.REDIS_URL:
        return redis_client()
    if not settings.CELERY_BROKER_URL.startswith(("redis://", "rediss://", "unix://")):
        return None
    return redis.Redis.from_url(settings.CELERY_BROKER_URL, socket_connect_timeout=2, socket_timeout=2)


def queue_names() -> list[str]:
    return [queue.name for queue in settings.CELERY_TASK_QUEUES]


class OpsCollector:
    """Queue depth per Celery queue, worker heartbeats and beat's ticks and runs (from Redis)."""

    def collect(self):
        from savegame.heartbeats import beat_runs, beat_tick_age, worker_heartbeats

        up = GaugeMetricFamily("savegame_metrics_source_up", "Whether a scrape-time source answered.",
                               labels=["source"])
        try:
            depth = GaugeMetricFamily("savegame_celery_queue_depth", "Messages waiting in a Celery queue.",
                                      labels=["queue"])
            client = _broker_redis()
            if client is not None:
                pipe = client.pipeline()
                names = queue_names()
                for name in names:  # kombu's Redis transport keeps a list per priority step
                    for suffix in ("", "\x06\x163", "\x06\x166", "\x06\x169"):
                        pipe.llen(name + suffix)
                counts = pipe.execute()
                for index, name in enumerate(names):
                    depth.add_metric([name], sum(counts[index * 4:index * 4 + 4]))
            yield depth
            up.add_metric(["broker"], 1)
        except Exception:
            up.add_metric(["broker"], 0)
        try:
            beats = worker_heartbeats()
            age = GaugeMetricFamily("savegame_worker_heartbeat_age_seconds", "Seconds since a worker's heartbeat.",
                                    labels=["worker"])
            for worker, seconds in beats.items():
                age.add_metric([worker], seconds)
            yield age
            stale = settings.READYZ_WORKER_STALE_SECONDS
            yield GaugeMetricFamily("savegame_workers_alive", "Workers with a fresh heartbeat.",
                                    value=sum(1 for seconds in beats.values() if seconds <= stale))
            tick = beat_tick_age()
            yield GaugeMetricFamily("savegame_beat_tick_age_seconds", "Seconds since beat last ticked (-1: never).",
                                    value=-1 if tick is None else tick)
            runs = GaugeMetricFamily("savegame_beat_last_run_timestamp_seconds",
                                     "When beat last sent each periodic task (unix time).", labels=["entry"])
            for entry, when in sorted(beat_runs().items()):
                runs.add_metric([entry], when)
            yield runs
            up.add_metric(["redis"], 1)
        except Exception:
            up.add_metric(["redis"], 0)
        yield up


# --- the endpoint ----------------------------------------------------------------------------------

def metrics_allowed(request) -> bool | None:
    """True to serve, False to refuse (401), None when /metrics is not configured at all (404)."""
    from savegame.clientip import client_ip

    token, allowed = settings.METRICS_TOKEN, settings.METRICS_ALLOWED_IPS
    if not token and not allowed:
        return None
    if token:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if header.startswith("Bearer ") and hmac.compare_digest(header[7:].strip().encode(), token.encode()):
            return True
    return bool(allowed) and client_ip(request) in allowed


def metrics_registry() -> CollectorRegistry:
    from django.utils.module_loading import import_string

    registry = CollectorRegistry()
    _forget_dead_processes()  # a live process that crashed with streams open must not count them for ever
    multiprocess.MultiProcessCollector(registry)
    for path in settings.METRICS_COLLECTORS:
        registry.register(import_string(path)())
    return registry


def metrics_text() -> bytes:
    return generate_latest(metrics_registry())


def metrics_view(request):
    from django.http import HttpResponse, HttpResponseNotFound

    allowed = metrics_allowed(request)
    if allowed is None:
        return HttpResponseNotFound()
    if not allowed:
        return HttpResponse("metrics need the operator's token\n", status=401, content_type="text/plain",
                            headers={"WWW-Authenticate": 'Bearer realm="metrics"'})
    return HttpResponse(metrics_text(), content_type=CONTENT_TYPE_LATEST)


def _forget_dead_processes() -> None:
    """Live gauges (in-flight, open streams) of processes that died are dropped, at start-up and at
    every scrape (a few files to glob; the processes of one host share the directory and PID space)."""
    for path in glob.glob(os.path.join(settings.PROMETHEUS_MULTIPROC_DIR, "gauge_live*_*.db")):
        try:
            pid = int(path.rsplit("_", 1)[1].split(".")[0])
            os.kill(pid, 0)
        except ProcessLookupError:
            multiprocess.mark_process_dead(pid)
        except (ValueError, PermissionError, OSError):
            continue


_forget_dead_processes()
