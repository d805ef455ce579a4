"""Periodic analytics: the nightly rollup, dispatched from public to every tenant."""

from celery.schedules import crontab

SCHEDULE = {
    # 00:20 Africa/Nairobi (CELERY_TIMEZONE): yesterday is complete in East African orgs. The
    # dispatcher fans out one task per organization; each re-rolls its last days, so a missed
    # night or an org in another time zone catches up on the next run.
    "analytics-rollup-nightly": {
        "task": "analytics.rollup_dispatch",
        "schedule": crontab(hour=0, minute=20),
        "tenant_schemas": ["public"],
    },
}
