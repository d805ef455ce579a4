"""Per-organization summary in the public schema, written by each tenant's rollup job.

The platform owner's dashboard reads only this table: no request ever joins tenant rows across
schemas.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import models
from django.utils import timezone


class OrganizationStats(models.Model):
    organization = models.OneToOneField("tenants.Organization", on_delete=models.CASCADE, related_name="stats")
    rolled_up_through = models.DateField(null=True, blank=True, help_text="The last complete day in these figures.")
    members = models.PositiveIntegerField(default=0)
    members_30d_ago = models.PositiveIntegerField(default=0)
    active_savers_7d = models.PositiveIntegerField(default=0)
    active_savers_30d = models.PositiveIntegerField(default=0)
    deposits_count = models.PositiveIntegerField(default=0)
    total_saved = models.DecimalField(max_digits=16, decimal_places=2, default=Decimal("0.00"))
    saved_30d = models.DecimalField(max_digits=16, decimal_places=2, default=Decimal("0.00"))
    saved_prev_30d = models.DecimalField(max_digits=16, decimal_places=2, default=Decimal("0.00"))
    last_activity_on = models.DateField(null=True, blank=True, help_text="Last day with a deposit or a login.")
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "organization analytics"
        verbose_name_plural = "organization analytics"
        ordering = ["-total_saved"]

    def __str__(self) -> str:
        return f"{self.organization_id}: {self.total_saved} KES"

    @staticmethod
    def _growth(now, before) -> float | None:
        if not before:
            return None
        return round((float(now) - float(before)) / float(before), 4)

    @property
    def member_growth_30d(self) -> float | None:
        return self._growth(self.members, self.members_30d_ago)

    @property
    def savings_growth_30d(self) -> float | None:
        return self._growth(self.saved_30d, self.saved_prev_30d)
