"""Test overrides: fast hashing, file SMS backend in a temp folder, eager-free Celery by default."""

import os
import tempfile

from savegame.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
SMS_BACKEND = "file"
SMS_FILE_PATH = os.environ.get("SMS_FILE_PATH") or os.path.join(tempfile.gettempdir(), f"savegame-sms-{os.getpid()}.jsonl")
STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"  # noqa: F405
MEDIA_ROOT = tempfile.mkdtemp(prefix="savegame-media-")
TENANT_HOST_CACHE_SECONDS = 5
LOGGING["root"]["level"] = "WARNING"  # noqa: F405

# Tests flush Redis before each test, so they never use the database the dev server uses (0).
REDIS_URL = os.environ.get("TEST_REDIS_URL") or REDIS_URL.rsplit("/", 1)[0] + "/15"  # noqa: F405
for _cache in CACHES.values():  # noqa: F405
    _cache["LOCATION"] = REDIS_URL
CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = REDIS_URL  # tests read task results; production keeps none
# Kick the drain inline, in the request: with eager Celery the kick runs the drain, which must see the
# test's own transaction. The live-server tests turn coalescing on (tests/payments/test_live.py).
PAYMENTS_KICK_COALESCE_MS = 0
# Each test run gets its own prometheus multiprocess directory (set before prometheus_client loads);
# processes the tests start (a Celery worker) inherit it, as a host's web and workers share theirs.
PROMETHEUS_MULTIPROC_DIR = os.environ.get("SAVEGAME_TEST_METRICS_DIR") or tempfile.mkdtemp(prefix="savegame-metrics-")
os.environ["SAVEGAME_TEST_METRICS_DIR"] = PROMETHEUS_MULTIPROC_DIR
os.environ["PROMETHEUS_MULTIPROC_DIR"] = PROMETHEUS_MULTIPROC_DIR
METRICS_TOKEN = "test-metrics-token"
# No pool refills behind the tests' backs (a live worker would spend seconds replaying schemas);
# tests/tenants/test_blueprint.py fills the pool where it tests it.
TENANT_SCHEMA_POOL_SIZE = 0
