"""The one Redis connection pool, and tenant-scoped key names.

Every key carries the tenant schema, so two organizations never share a leaderboard, a throttle
bucket or a pub/sub channel.
"""

from __future__ import annotations

from functools import lru_cache

import redis
from django.conf import settings
from django.db import connection


@lru_cache(maxsize=1)
def redis_client() -> redis.Redis:
    # redis-py 8 caps a plain pool at 100 connections and raises MaxConnectionsError beyond that,
    # which the rate limiter would treat as "Redis down" and let a burst through. A blocking pool
    # makes the 101st concurrent caller wait (up to 2 s) for a free connection instead.
    pool = redis.BlockingConnectionPool.from_url(
        settings.REDIS_URL, max_connections=getattr(settings, "REDIS_MAX_CONNECTIONS", 200), timeout=2,
        socket_connect_timeout=2, socket_timeout=2, decode_responses=True,
    )
    return redis.Redis(connection_pool=pool)


def tenant_key(*parts: object, schema: str | None = None) -> str:
    """`sg:{schema}:part:part...` for the current (or given) tenant schema."""
    schema = schema or connection.schema_name
    return ":".join(["sg", schema, *(str(part) for part in parts)])
