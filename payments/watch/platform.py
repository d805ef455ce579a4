"""Reads for the platform owner's health page: one row per organization, a handful of statements for
every organization together (each figure over all schemas in one UNION ALL)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.apps import apps
from django.db.models import Count
from django.utils import timezone

from payments.metrics import inbox_state, per_schema


@dataclass
class OrganizationHealth:
    organization: object
    stored_24h: int
    refused_24h: int
    drain_lag_seconds: float
    inbox_depth: int
    unmatched: int
    completion_rate: float | None
    weekly_active_savers: int | None
    open_findings: int

    @property
    def webhook_success_rate(self) -> float | None:
        total = self.stored_24h + self.refused_24h
        return None if not total else self.stored_24h / total


def platform_health() -> list[OrganizationHealth]:
    from payments.platform.models import RefusedCallback
    from payments.watch.models import Finding
    from tenants.selectors import organization_list

    organizations = list(organization_list())
    schemas = [o.schema_name for o in organizations]
    since = timezone.now() - timedelta(hours=24)
    stored = per_schema(schemas, "SELECT count(*) FROM {schema}.payments_callbackinbox"
                                  " WHERE received_at >= now() - interval '24 hours'")
    completion = per_schema(schemas, "SELECT count(*) FILTER (WHERE status = 'completed'),"
                                      " count(*) FILTER (WHERE status IN ('completed', 'failed'))"
                                      " FROM {schema}.challenges_participant")
    inbox = inbox_state()
    refused = dict(RefusedCallback.objects.filter(created_at__gte=since).values("organization_id")
                   .annotate(n=Count("id")).values_list("organization_id", "n"))
    findings = dict(Finding.objects.filter(reviewed_at__isnull=True).values("organization_id")
                    .annotate(n=Count("id")).values_list("organization_id", "n"))
    try:
        stats = dict(apps.get_model("platform_analytics", "OrganizationStats").objects
                     .values_list("organization_id", "active_savers_7d"))
    except LookupError:
        stats = {}
    rows = []
    for org in organizations:
        done, ended = completion.get(org.schema_name, (0, 0))
        depth, lag, unmatched = inbox.get(org.schema_name, (0, 0.0, 0))
        rows.append(OrganizationHealth(
            organization=org, stored_24h=stored.get(org.schema_name, (0,))[0], refused_24h=refused.get(org.pk, 0),
            drain_lag_seconds=lag, inbox_depth=depth, unmatched=unmatched,
            completion_rate=(done / ended) if ended else None, weekly_active_savers=stats.get(org.pk),
            open_findings=findings.get(org.pk, 0)))
    return rows
