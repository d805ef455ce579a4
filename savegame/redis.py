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
    return redis.Redis.from_url(
        settings.REDIS_URL, socket_connect_timeout=2, socket_timeout=2, decode_responses=True
    )


def tenant_key(*parts: object, schema: str | None = None) -> str:
    """`sg:{schema}:part:part...` for the current (or given) tenant schema."""
    schema = schema or connection.schema_name
    return ":".join(["sg", schema, *(str(part) for part in parts)])
