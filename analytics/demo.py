"""Demo analytics: a few weeks of logins and notification opens, then the rollups and the
platform summary, so /manage/ and the platform admin page show figures. Idempotent."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from analytics.models import Event
from analytics.services import organization_stats_publish, rollup_backfill


def seed(organization, members) -> None:
    if not Event.objects.filter(properties__demo=True).exists():
        now = timezone.now()
        events = []
        for i, member in enumerate(members):
            for week in range(6):
                when = now - timedelta(days=7 * week + i % 3, hours=2 + i)
                events.append(Event(type=Event.Type.LOGIN, user=member, created_at=when, properties={"demo": True}))
                if (i + week) % 2 == 0:
                    events.append(
                        Event(
                            type=Event.Type.NOTIFICATION_OPENED,
                            user=member,
                            created_at=when - timedelta(hours=1),
                            properties={"demo": True},
                        )
                    )
        Event.objects.bulk_create(events)
    rollup_backfill()
    organization_stats_publish()
