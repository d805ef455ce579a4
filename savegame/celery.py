"""Celery through tenant-schemas-celery: every task runs in the schema it was sent from."""

import os

from tenant_schemas_celery.app import CeleryApp

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "savegame.settings")

app = CeleryApp("savegame")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def _collect_beat_schedule() -> dict:
    """Each app may declare periodic tasks in `<app>/beat.py` as SCHEDULE = {...}."""
    import importlib

    schedule: dict = {}
    for name in ("accounts", "challenges", "payments", "notifications", "analytics", "tenants"):
        try:
            module = importlib.import_module(f"{name}.beat")
        except ModuleNotFoundError:
            continue
        schedule.update(module.SCHEDULE)
    return schedule


@app.on_after_configure.connect
def _setup_periodic_tasks(sender, **kwargs):
    sender.conf.beat_schedule = {**sender.conf.beat_schedule, **_collect_beat_schedule()}
