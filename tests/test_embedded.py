"""The embedded default: with no DATABASE_URL / REDIS_URL, manage.py starts PostgreSQL and Redis
from pip packages under the data directory, and a second process finds the same servers."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_embedded_servers_boot_migrate_and_answer(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "TEST_REDIS_URL", "CELERY_BROKER_URL"}}
    env.update(SAVEGAME_DATA_DIR=str(tmp_path / "data"), DJANGO_SETTINGS_MODULE="savegame.settings", DEBUG="1")
    probe = (
        "import django, json; django.setup();"
        "from django.conf import settings; from django.test import Client;"
        "r = Client(HTTP_HOST='localhost').get('/healthz');"
        "print(json.dumps({'host': settings.DATABASES['default']['HOST'], 'redis': settings.REDIS_URL, 'health': r.json()}))"
    )
    try:
        migrate = subprocess.run([sys.executable, "manage.py", "migrate_all", "--executor", "standard", "-v", "0"],
                                 cwd=ROOT, env=env, capture_output=True, text=True, timeout=240)
        assert migrate.returncode == 0, migrate.stderr[-2000:]
        first = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
        second = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
        assert first.returncode == 0, first.stderr[-2000:]
        a, b = json.loads(first.stdout.strip().splitlines()[-1]), json.loads(second.stdout.strip().splitlines()[-1])
        assert a["health"] == {"status": "ok", "database": "ok", "redis": "ok"}
        assert str(tmp_path) in a["host"] or a["host"].startswith("/tmp")
        # the second process reused the same servers rather than starting new ones
        assert (a["host"], a["redis"]) == (b["host"], b["redis"])
    finally:
        _stop_embedded(tmp_path / "data")


def _stop_embedded(data: Path) -> None:
    from savegame.embedded import stop

    stop(data)
