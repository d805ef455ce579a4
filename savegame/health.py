"""Health on any host: /healthz (database and Redis), /livez (the process answers) and
/readyz?role=web|worker|beat (that role's dependencies), each 503 naming what is down.

/livez and /readyz are answered by OpsMiddleware, early in the middleware chain (right after the
request log, like the hooks path): no tenant lookup, session or locale, so a probe neither needs the
database to find a host nor costs the site's stack. /healthz keeps its URL routes (CONTRACT.md).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache

from savegame.redis import redis_client

ROLES = ("web", "worker", "beat")


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True
    except Exception:
        return False


def _redis_ok() -> bool:
    try:
        return bool(redis_client().ping())
    except Exception:
        return False


@never_cache
def healthz(request):
    checks = {"database": _database_ok(), "redis": _redis_ok()}
    body = {"status": "ok" if all(checks.values()) else "degraded"}
    body.update({name: "ok" if ok else "down" for name, ok in checks.items()})
    return JsonResponse(body, status=200 if all(checks.values()) else 503)


# --- readiness -------------------------------------------------------------------------------------

def _broker_ok() -> bool:
    """One connection to the Celery broker (a separate URL from REDIS_URL is allowed)."""
    if settings.CELERY_BROKER_URL == settings.REDIS_URL:
        return _redis_ok()  # the same server: the Redis check already went there
    from savegame.celery import app

    try:
        with app.connection_for_write(url=settings.CELERY_BROKER_URL, connect_timeout=2) as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return True
    except Exception:
        return False


_migrations_applied = False  # once true it stays true for this process (a deploy starts new ones)


def _migrations_ok() -> bool:
    """Every migration on disk is applied to public (shared apps) and to the template schema every new
    organization is cloned from (tenant apps); `migrate_all` applies the template before the orgs."""
    global _migrations_applied
    if _migrations_applied:
        return True
    try:
        from django.apps import apps
        from django.db.migrations.loader import MigrationLoader
        from django_tenants.utils import schema_context

        loader = MigrationLoader(connection, ignore_no_migrations=True, load=True)
        on_disk = set(loader.graph.nodes)
        for schema, app_names in ((settings.PUBLIC_SCHEMA_NAME, settings.SHARED_APPS),
                                  (settings.TENANT_BASE_SCHEMA, settings.TENANT_APPS)):
            labels = {config.label for config in apps.get_app_configs() if config.name in app_names}
            with schema_context(schema):
                with connection.cursor() as cursor:
                    cursor.execute("SELECT app, name FROM django_migrations")
                    applied = set(cursor.fetchall())
            if {node for node in on_disk if node[0] in labels} - applied:
                return False
        _migrations_applied = True
        return True
    except Exception:
        return False


def _workers_ok() -> bool:
    from savegame.heartbeats import workers_alive

    try:
        return workers_alive() > 0
    except Exception:
        return False


def _beat_ok() -> bool:
    from savegame.heartbeats import beat_tick_age

    try:
        age = beat_tick_age()
    except Exception:
        return False
    return age is not None and age <= settings.READYZ_BEAT_STALE_SECONDS


CHECKS: dict[str, Callable[[], bool]] = {
    "database": _database_ok, "redis": _redis_ok, "broker": _broker_ok, "migrations": _migrations_ok,
    "workers": _workers_ok, "beat": _beat_ok,
}
ROLE_CHECKS = {
    "web": ("database", "redis", "broker", "migrations"),
    "worker": ("database", "redis", "broker", "migrations", "workers"),
    "beat": ("database", "redis", "broker", "migrations", "beat"),
}


def readiness(*, role: str) -> dict[str, bool]:
    """Each of `role`'s checks, in order: {name: ok}."""
    return {name: CHECKS[name]() for name in ROLE_CHECKS[role]}


def livez(request):
    return JsonResponse({"status": "ok"}, headers={"Cache-Control": "no-store"})


def readyz(request):
    role = request.GET.get("role", "web")
    if role not in ROLE_CHECKS:
        return JsonResponse({"status": "unknown role", "roles": list(ROLES)}, status=400)
    started = time.perf_counter()
    checks = readiness(role=role)
    failing = [name for name, ok in checks.items() if not ok]
    body = {"status": "ok" if not failing else "unavailable", "role": role,
            "checks": {name: "ok" if ok else "down" for name, ok in checks.items()},
            "failing": failing, "took_ms": round((time.perf_counter() - started) * 1000, 1)}
    return JsonResponse(body, status=503 if failing else 200, headers={"Cache-Control": "no-store"})


OPS_PATHS: dict[str, Callable] = {"/livez": livez, "/readyz": readyz}


class OpsMiddleware:
    """Answers the operator's paths on any host before tenant routing: /livez, /readyz, /metrics."""

    def __init__(self, get_response):
        from savegame.metrics import metrics_view

        self.get_response = get_response
        self.paths = {**OPS_PATHS, "/metrics": metrics_view}

    def __call__(self, request):
        view = self.paths.get(request.path_info)
        if view is None or request.method not in ("GET", "HEAD"):
            return self.get_response(request)
        return view(request)
