"""Benchmark settings: the real settings plus a bare JSON view on every organization host."""

import os

from savegame.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls_bench"
LOG_LEVEL = "WARNING"
LOGGING["root"]["level"] = "WARNING"  # noqa: F405
DEBUG = False
# Under ASGI each request runs its sync code in a fresh thread: persistent connections (CONN_MAX_AGE > 0)
# would leak one PostgreSQL connection per request until the server refuses clients.
if os.environ.get("BENCH_ASGI_SERVER"):
    DATABASES["default"]["CONN_MAX_AGE"] = 0  # noqa: F405
    if os.environ.get("BENCH_DB_POOL"):
        # Django 5.1+ pools psycopg 3 connections (psycopg-pool): the ASGI way to reuse connections.
        DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {"min_size": 2, "max_size": 8}  # noqa: F405
