"""Celery tasks for organizations (public schema)."""

from __future__ import annotations

from django.db import OperationalError

from savegame.tasknames import task


@task("tenants.schema_pool_fill", acks_late=True, autoretry_for=(OperationalError,),
      retry_backoff=True, max_retries=3, soft_time_limit=240, time_limit=300)
def schema_pool_fill_task() -> int:
    """Top up the pool of ready-made tenant schemas (tenants.provisioning)."""
    from tenants.provisioning import schema_pool_fill

    return schema_pool_fill()
