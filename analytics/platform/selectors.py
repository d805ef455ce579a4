"""Reads for the platform owner: one summary row per organization, plus platform totals."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db.models import Sum
from django_tenants.utils import schema_context

from analytics.platform.models import OrganizationStats

TOTAL_FIELDS = [
    "members",
    "members_30d_ago",
    "active_savers_7d",
    "active_savers_30d",
    "deposits_count",
    "total_saved",
    "saved_30d",
    "saved_prev_30d",
]


def platform_summary() -> dict:
    """Every organization's published summary and the platform totals (sums of those rows)."""
    with schema_context(settings.PUBLIC_SCHEMA_NAME):
        rows = list(OrganizationStats.objects.select_related("organization").order_by("-total_saved"))
        totals = OrganizationStats.objects.aggregate(**{name: Sum(name) for name in TOTAL_FIELDS})
    totals = {k: (v if v is not None else (Decimal("0.00") if "saved" in k else 0)) for k, v in totals.items()}
    totals["organizations"] = len(rows)
    totals["member_growth_30d"] = OrganizationStats._growth(totals["members"], totals["members_30d_ago"])
    totals["savings_growth_30d"] = OrganizationStats._growth(totals["saved_30d"], totals["saved_prev_30d"])
    return {"rows": rows, "totals": totals}
