"""Periodic notification tasks; each entry runs in every organization's schema."""

from celery.schedules import crontab

SCHEDULE = {
    "notifications-sweep": {"task": "notifications.sweep", "schedule": 60.0},
    "notifications-weekly-summary": {
        "task": "notifications.reminders", "schedule": crontab(hour=18, minute=0, day_of_week="sun"),
        "args": ("weekly_summary",),
    },
}
