"""/metrics adds up every process on the host: a real Celery worker process beside the web one."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client

from tests.ops.metrics import moved, scrape
from tests.payments.conftest import c2b_payload
from tests.payments.live import wait_for


def test_worker_process_samples_reach_the_web_scrape(live_org, django_db_blocker):
    """A real `celery worker` process beside this one (as on a host): it drains and scores a callback,
    and this process's /metrics adds up its samples from the shared multiprocess directory."""
    organization, member, token = live_org
    with django_db_blocker.unblock():
        _drain_in_a_worker_process(organization, member, token)


def _drain_in_a_worker_process(organization, member, token) -> None:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "savegame.settings_test",
           "DATABASE_URL": _test_database_url(), "SAVEGAME_TEST_METRICS_DIR": settings.PROMETHEUS_MULTIPROC_DIR}
    before = scrape()
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "savegame", "worker", "-P", "solo", "-Q", "payments,celery",
         "--without-gossip", "--without-mingle", "--without-heartbeat", "-n", "metrics-test@%h", "--loglevel", "WARNING"],
        cwd=Path(settings.BASE_DIR), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        from payments.selectors import CALLBACK_PATHS

        body = c2b_payload(trans_id="RKW0000001", amount="120", bill_ref=member.account_code,
                           shortcode="600999")  # committed_org's Paybill (a foreign one is refused)
        response = Client(HTTP_HOST=f"{organization.slug}.{settings.BASE_DOMAIN}").post(
            f"/hooks/pay/{token}/{CALLBACK_PATHS['confirmation']}", data=body, content_type="application/json")
        assert response.status_code == 200
        assert wait_for(lambda: moved(before, scrape(), "savegame_deposits_scored_total") == 1, timeout=60)
        after = scrape()
        assert moved(before, after, "savegame_callbacks_stored_total") == 1  # this (web) process
        assert moved(before, after, "savegame_deposits_credited_total", status="verified") == 1  # the worker's
        assert moved(before, after, "savegame_celery_tasks_total", task="payments.inbox_drain") >= 1
    finally:
        worker.terminate()
        worker.wait(timeout=30)
        connection.set_schema_to_public()


def _test_database_url() -> str:
    from urllib.parse import quote

    db = connection.settings_dict
    host = quote(db["HOST"] or "127.0.0.1", safe="")  # the embedded server's host is a socket directory
    return f"postgres://{db['USER']}@{host}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.mark.django_db
def test_multiprocess_mode_is_on_in_every_process():
    """Samples go to files in PROMETHEUS_MULTIPROC_DIR (so other processes' samples can be added up)."""
    from prometheus_client import values

    assert os.environ["PROMETHEUS_MULTIPROC_DIR"] == settings.PROMETHEUS_MULTIPROC_DIR
    assert values.ValueClass is not values.MutexValue
    scrape()
    assert any(Path(settings.PROMETHEUS_MULTIPROC_DIR).glob("counter_*.db"))
