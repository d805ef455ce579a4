"""Celery tasks for analytics. The dispatcher runs in public and fans out one task per tenant."""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import OperationalError, connection
from django_tenants.utils import schema_context

from savegame.tasknames import task

logger = logging.getLogger(__name__)


@task("analytics.rollup_dispatch", acks_late=True, time_limit=300)
def rollup_dispatch() -> int:
    """Send `analytics.rollup_run` into every organization's schema (tenant-schemas-celery
    stamps the schema from the context it is sent in)."""
    from tenants.selectors import organization_list

    schemas = list(organization_list().values_list("schema_name", flat=True))
    for schema in schemas:
        with schema_context(schema):
            rollup_tenant.delay()
    logger.info("analytics rollup dispatched", extra={"tenants": len(schemas)})
    return len(schemas)


@task(
    "analytics.rollup_run", formerly=["analytics.rollup_tenant"],
    acks_late=True,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=5,
    soft_time_limit=1500,
    time_limit=1800,
)
def rollup_tenant() -> dict:
    """Roll up the current tenant's days (idempotent: re-running replaces them) and publish its
    platform summary."""
    from analytics.services import rollup_nightly

    if connection.schema_name == settings.PUBLIC_SCHEMA_NAME:
        raise RuntimeError("analytics.rollup_run must run in a tenant schema")
    days = rollup_nightly()
    logger.info("analytics rollup done", extra={"days": days})
    return {"schema": connection.schema_name, "days": days}
