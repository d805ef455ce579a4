"""Beat survives a PostgreSQL outage (issue 20): stop a PRIVATE PostgreSQL under a running beat, start it
again, and the next inbox sweep is sent within seconds. Before, tenant-schemas-celery's apply_entry raised
OperationalError out of the tick and beat exited."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis

from tests.payments.live import PrivatePostgres, PrivateRedis, wait_for

ROOT = Path(__file__).resolve().parents[2]


def _sweeps_sent(client: redis.Redis) -> int:
    """Inbox sweeps beat has published to the payments queue (no worker consumes them here)."""
    return sum(b'"payments.inbox_sweep"' in message for message in client.lrange("payments", 0, -1))


@pytest.mark.slow
def test_beat_survives_a_postgresql_restart_and_sends_the_next_sweep(tmp_path):
    pg, broker = PrivatePostgres(), PrivateRedis()
    beat = None
    try:
        pg.init()
        pg.start()
        pg.psql("CREATE DATABASE beat")
        # Beat reads only the organizations' schema names (tenant-schemas-celery's apply_entry).
        pg.psql("CREATE TABLE tenants_organization (id bigserial PRIMARY KEY, schema_name varchar(63) NOT NULL, name varchar(100) NOT NULL DEFAULT '');"
                "INSERT INTO tenants_organization (schema_name) VALUES ('public'), ('org_beat')", database="beat")
        broker.start()
        env = {**os.environ, "DATABASE_URL": pg.url("beat"), "REDIS_URL": broker.url,
               "DJANGO_SETTINGS_MODULE": "savegame.settings", "PAYMENTS_SWEEP_SECONDS": "1"}
        scheduler = "savegame.beat.ResilientTenantAwareScheduler"  # tenant_schemas_celery's own: beat exits here
        beat = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "savegame", "beat", "--loglevel", "info", "--scheduler", scheduler,
             "--schedule", str(tmp_path / "celerybeat-schedule"), "--max-interval", "1"],
            cwd=ROOT, env=env, stdout=open(tmp_path / "beat.log", "wb"), stderr=subprocess.STDOUT)
        client = redis.Redis.from_url(broker.url)
        assert wait_for(lambda: _sweeps_sent(client) >= 1, timeout=60), (tmp_path / "beat.log").read_text()[-3000:]

        pg.stop("immediate")  # what the campaign did
        client.delete("payments")
        time.sleep(4)  # several sweeps fall due while PostgreSQL is down
        assert beat.poll() is None, "beat exited:\n" + (tmp_path / "beat.log").read_text()[-3000:]
        assert _sweeps_sent(client) == 0

        pg.start()
        back = time.monotonic()
        assert wait_for(lambda: _sweeps_sent(client) >= 1, timeout=30), (tmp_path / "beat.log").read_text()[-3000:]
        assert time.monotonic() - back < 15  # within the back-off, not at a person's restart
        assert beat.poll() is None
    finally:
        if beat is not None:
            beat.terminate()
            try:
                beat.wait(timeout=10)
            except subprocess.TimeoutExpired:
                beat.kill()
                beat.wait(timeout=10)
        broker.stop()
        pg.destroy()
