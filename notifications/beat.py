"""Periodic notification tasks; each entry runs in every organization's schema."""

from celery.schedules import crontab

SCHEDULE = {
    "notifications-sweep": {"task": "notifications.outbox_sweep", "schedule": 60.0},
    "notifications-weekly-summary": {
        "task": "notifications.reminders_fanout", "schedule": crontab(hour=18, minute=0, day_of_week="sun"),
        "args": ("weekly_summary",),
    },
}
