"""Writes for refused callbacks (public schema)."""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import connection

from payments.platform.models import RefusedCallback

logger = logging.getLogger(__name__)

EXCERPT_CHARS = 300


def callback_refusal_record(*, organization, kind: str, reason: str, status_code: int, remote_ip: str | None,
                            body: bytes, detail: str = "", sender_proven: bool = False) -> RefusedCallback | None:
    """Record a refused callback for the admins, within the organization's budget; never raises.

    `sender_proven`: the request carried the organization's callback secret (and came from an allowed
    address), so an excerpt of its body may be kept. Otherwise only its size is. Returns the row, or
    None when the budget for the minute is spent, Redis cannot count it, or the write failed (the
    caller logs every refusal regardless).
    """
    from savegame.ratelimit import Bucket, buckets_hit, rates_parse
    from savegame.redis import tenant_key

    key = tenant_key("payments", "refusals", schema=organization.schema_name)
    try:
        if not buckets_hit([Bucket(key, rate) for rate in rates_parse(settings.PAYMENTS_REFUSALS_RATE)]).allowed:
            return None
    except Exception:  # without a counter a flood could write freely: skip recording, the log has it
        logger.warning("refusal not recorded: rate counter unavailable", extra={"schema": organization.schema_name})
        return None
    try:
        row = RefusedCallback.objects.create(
            organization_id=organization.pk, kind=kind[:16], reason=reason, detail=detail[:200],
            status_code=status_code, remote_ip=remote_ip or None, body_bytes=len(body),
            body_excerpt=body[:EXCERPT_CHARS * 4].decode("utf-8", errors="replace")[:EXCERPT_CHARS] if sender_proven else "",
        )
        _prune(organization_id=organization.pk)
        return row
    except Exception:
        logger.exception("refusal not recorded", extra={"schema": organization.schema_name})
        return None


def _prune(*, organization_id: int) -> None:
    """Keep the newest PAYMENTS_REFUSALS_KEEP rows of the organization (one statement, by index)."""
    table = RefusedCallback._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM public.{table} WHERE organization_id = %s AND id <= ("
            f"SELECT id FROM public.{table} WHERE organization_id = %s ORDER BY id DESC OFFSET %s LIMIT 1)",
            [organization_id, organization_id, settings.PAYMENTS_REFUSALS_KEEP])
