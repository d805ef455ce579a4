"""Reads for suspicious patterns."""

from __future__ import annotations

from payments.watch.models import Finding


def findings_for(*, organization, reviewed: bool | None = False):
    rows = Finding.objects.filter(organization=organization)
    if reviewed is not None:
        rows = rows.filter(reviewed_at__isnull=not reviewed)
    return rows.order_by("-created_at", "-id")


def open_findings_count(*, organization) -> int:
    return Finding.objects.filter(organization=organization, reviewed_at__isnull=True).count()
