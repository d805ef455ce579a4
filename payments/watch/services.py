"""Writes for suspicious patterns: evaluate the rules, record findings, mark them reviewed."""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from payments.models import Transaction
from payments.watch import rules
from payments.watch.models import Finding, WatchSettings

logger = logging.getLogger(__name__)


def thresholds_for(*, organization) -> dict:
    """SUSPICIOUS_DEFAULTS with the organization's own overrides."""
    own = WatchSettings.objects.filter(organization=organization).values_list("thresholds", flat=True).first() or {}
    return {**settings.SUSPICIOUS_DEFAULTS, **{k: v for k, v in own.items() if k in settings.SUSPICIOUS_DEFAULTS}}


def finding_record(*, organization, flag: rules.Flag) -> Finding | None:
    """Store a flag once (per organization, rule and subject). Returns the new finding, or None."""
    from savegame.metrics import SUSPICIOUS_FINDINGS, safe

    member = flag.member
    try:
        with transaction.atomic():
            finding = Finding.objects.create(
                organization=organization, rule=flag.rule, subject=flag.subject[:120], details=flag.details,
                member_id=getattr(member, "pk", None), transaction_id=flag.transaction_id,
                member_name=(getattr(member, "display_name", "") or str(member or ""))[:150])
    except IntegrityError:
        return None  # raised before
    safe(SUSPICIOUS_FINDINGS.labels(rule=flag.rule).inc)
    logger.warning("suspicious pattern", extra={"rule": flag.rule, "subject": flag.subject,
                                                "schema": connection.schema_name, "finding": finding.pk})
    return finding


def deposits_check(*, transaction_ids: list[int]) -> list[Finding]:
    """Every deposit rule on each of these ledger rows (run in their organization's schema)."""
    organization = connection.tenant
    limits = thresholds_for(organization=organization)
    found = []
    for tx in Transaction.objects.filter(pk__in=list(transaction_ids)).select_related("user"):
        for rule in rules.DEPOSIT_RULES:
            try:
                flags = rule(tx, limits)
            except Exception:  # one broken rule never stops the others (nor any money)
                logger.exception("suspicious-pattern rule failed", extra={"rule": rule.__name__, "transaction": tx.pk})
                continue
            found += [f for f in (finding_record(organization=organization, flag=flag) for flag in flags) if f]
    return found


def watch_soon(*, transaction_ids: list[int]) -> None:
    """After the surrounding transaction commits, check these deposits in a task of their own.
    Never raises: a dead broker only delays the check to the nightly run."""
    ids = [int(i) for i in transaction_ids]
    if not ids:
        return

    def publish() -> None:
        from payments.watch.tasks import deposits_check_task

        try:
            deposits_check_task.apply_async(args=[ids], retry=False)
        except Exception:
            logger.warning("suspicious-pattern check not queued; the nightly run covers it",
                           extra={"schema": connection.schema_name}, exc_info=True)

    transaction.on_commit(publish)


def nightly_check(*, hours: int = 26) -> int:
    """Every rule over the last day's deposits and reversals, and the day's refused addresses."""
    from datetime import timedelta

    since = timezone.now() - timedelta(hours=hours)
    ids = list(Transaction.objects.filter(created_at__gte=since, amount__gt=0, status__in=rules.CREDITED)
               .exclude(source=Transaction.Source.REVERSAL).values_list("id", flat=True)[:50_000])
    found = []
    for start in range(0, len(ids), 500):
        found += deposits_check(transaction_ids=ids[start:start + 500])
    organization = connection.tenant
    for flag in rules.refusals_outside_allowlist(organization, thresholds_for(organization=organization)):
        if finding_record(organization=organization, flag=flag):
            found.append(flag)
    return len(found)


def finding_review(*, finding_id: int, organization, actor, note: str = "") -> Finding:
    """An admin (of that organization) or the platform owner has looked at it."""
    from accounts.services import audit_record

    finding = Finding.objects.get(pk=finding_id, organization=organization)
    if finding.reviewed_at is None:
        finding.reviewed_at, finding.reviewed_by = timezone.now(), str(actor)[:150]
        finding.review_note = (note or "")[:300]
        finding.save(update_fields=["reviewed_at", "reviewed_by", "review_note"])
        if connection.schema_name != settings.PUBLIC_SCHEMA_NAME:
            audit_record(actor=actor, action="finding.reviewed", target=finding, after={"rule": finding.rule})
    return finding
