"""/livez and /readyz?role=web|worker|beat on any host, answered before tenant routing."""

from __future__ import annotations

import time

import pytest
from django.test import Client

from savegame import heartbeats
from savegame.redis import redis_client
from tests.payments.live import PrivateRedis, wait_for

pytestmark = pytest.mark.django_db


def test_livez_answers_on_any_host_without_touching_the_database(django_assert_num_queries):
    for host in ("localhost", "nowhere.example", "alpha.localhost"):
        with django_assert_num_queries(0):
            response = Client(HTTP_HOST=host).get("/livez")
        assert response.status_code == 200
        assert response.json() == {"status": "ok"}


def test_readyz_web_is_ready_on_any_host():
    for host in ("localhost", "unknown.example", "alpha.localhost"):
        response = Client(HTTP_HOST=host).get("/readyz?role=web")
        assert response.status_code == 200, response.content
        body = response.json()
        assert body["checks"] == {"database": "ok", "redis": "ok", "broker": "ok", "migrations": "ok"}
        assert body["failing"] == []


def test_readyz_defaults_to_web_and_refuses_an_unknown_role():
    assert Client().get("/readyz").json()["role"] == "web"
    assert Client().get("/readyz?role=cook").status_code == 400


def test_readyz_worker_needs_a_fresh_heartbeat():
    response = Client().get("/readyz?role=worker")
    assert response.status_code == 503
    assert response.json()["failing"] == ["workers"]
    heartbeats.worker_heartbeat(hostname="w1@test", now=time.time() - 3600)  # stale
    assert Client().get("/readyz?role=worker").status_code == 503
    heartbeats.worker_heartbeat(hostname="w2@test")
    assert Client().get("/readyz?role=worker").status_code == 200


def test_readyz_beat_needs_a_recent_tick(settings):
    response = Client().get("/readyz?role=beat")
    assert response.status_code == 503 and response.json()["failing"] == ["beat"]
    heartbeats.beat_tick(now=time.time() - settings.READYZ_BEAT_STALE_SECONDS - 5)
    assert Client().get("/readyz?role=beat").json()["failing"] == ["beat"]
    heartbeats.beat_tick()
    assert Client().get("/readyz?role=beat").status_code == 200


def test_beat_scheduler_stamps_its_ticks_and_each_entry_it_sends(monkeypatch):
    from celery.beat import ScheduleEntry

    from tenant_schemas_celery.scheduler import TenantAwareScheduler

    from savegame.celery import app

    sent = []  # what reaches tenant-schemas-celery's scheduler under ours (savegame/beat.py) and the stamps
    monkeypatch.setattr(TenantAwareScheduler, "apply_entry",
                        lambda self, entry, producer=None: sent.append(entry.name))
    scheduler = heartbeats.BeatScheduler(app=app, lazy=True)
    monkeypatch.setattr(TenantAwareScheduler, "tick", lambda self, *a, **k: 1.0)
    scheduler.tick()
    scheduler.apply_entry(ScheduleEntry(name="payments-inbox-sweep@__all_tenants_only__", app=app))
    assert heartbeats.beat_tick_age() < 5
    assert sent == ["payments-inbox-sweep@__all_tenants_only__"]
    assert set(heartbeats.beat_runs()) == {"payments-inbox-sweep"}


def test_a_worker_heartbeats_from_ready_until_shutdown(settings):
    """The signals Celery's worker sends (celery/apps/worker.py: worker_ready with the consumer)."""
    from celery import signals

    import savegame.celery  # noqa: F401  connects the handlers

    settings.OPS_HEARTBEAT_SECONDS = 0.1
    class Consumer:
        hostname = "celery@box1"

    signals.worker_ready.send(sender=Consumer())
    try:
        assert wait_for(lambda: heartbeats.workers_alive() >= 1, timeout=5)
        assert Client().get("/readyz?role=worker").status_code == 200
    finally:
        signals.worker_shutdown.send(sender=None)
    assert "celery@box1" not in heartbeats.worker_heartbeats()
    assert Client().get("/readyz?role=worker").status_code == 503


def test_readyz_names_the_database_when_it_is_down(monkeypatch):
    from savegame import health

    monkeypatch.setitem(health.CHECKS, "database", lambda: False)
    response = Client().get("/readyz?role=web")
    assert response.status_code == 503
    assert response.json()["failing"] == ["database"]


def test_readyz_names_unapplied_migrations(monkeypatch):
    from django.db import connection

    from savegame import health

    monkeypatch.setattr(health, "_migrations_applied", False)
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM public.django_migrations WHERE app = 'tenants' AND name = '0001_initial'")
    response = Client().get("/readyz?role=web")
    assert response.status_code == 503
    assert response.json()["failing"] == ["migrations"]


def test_stopping_redis_turns_readyz_503_naming_redis_and_back_after_restart(settings):
    """A private redis-server on a spare port (never the machine's): stop it, then start it again."""
    server = PrivateRedis()
    server.start()
    settings.REDIS_URL = settings.CELERY_BROKER_URL = server.url
    redis_client.cache_clear()
    try:
        assert Client().get("/readyz?role=web").status_code == 200
        server.stop()
        started = time.monotonic()
        response = Client().get("/readyz?role=web")
        assert response.status_code == 503
        assert "redis" in response.json()["failing"]
        assert time.monotonic() - started < 5
        assert Client().get("/livez").status_code == 200  # the process still answers
        server.start()
        assert wait_for(lambda: Client().get("/readyz?role=web").status_code == 200, timeout=10)
    finally:
        server.stop()
        redis_client.cache_clear()


def test_a_separate_broker_is_checked_on_its_own(settings):
    from tests.payments.live import free_port

    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    started = time.monotonic()
    response = Client().get("/readyz?role=web")
    assert response.status_code == 503 and response.json()["failing"] == ["broker"]
    assert time.monotonic() - started < 10


def test_a_separate_broker_that_answers_is_ready(settings):
    settings.CELERY_BROKER_URL = settings.REDIS_URL.rsplit("/", 1)[0] + "/0"  # same server, another URL
    assert settings.CELERY_BROKER_URL != settings.REDIS_URL
    assert Client().get("/readyz?role=web").json()["checks"]["broker"] == "ok"
