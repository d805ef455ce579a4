"""Reads for refused callbacks."""

from __future__ import annotations

from django.db.models import QuerySet

from payments.platform.models import RefusedCallback


def refused_callbacks(*, organization) -> QuerySet[RefusedCallback]:
    """The organization's refused callbacks, newest first (only its own: the table is shared)."""
    return RefusedCallback.objects.filter(organization_id=organization.pk).order_by("-id")
