"""Periodic identity tasks (collected by savegame/celery.py; run in every tenant)."""

from celery.schedules import crontab

SCHEDULE = {
    "accounts-identity-prune": {
        "task": "accounts.identity_prune",
        "schedule": crontab(hour=3, minute=17),
    },
}
