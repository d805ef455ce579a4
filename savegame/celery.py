"""Celery through tenant-schemas-celery: every task runs in the schema it was sent from."""

import os

from celery import signals
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


def _forward(module: str, name: str):
    """A signal handler that imports its module when it first fires (after Django is set up)."""

    def handler(sender=None, **kwargs):
        import importlib

        getattr(importlib.import_module(module), name)(sender=sender, **kwargs)

    return handler


# Worker heartbeats (/readyz?role=worker) and task metrics (/metrics); beat stamps its own ticks
# (savegame.heartbeats.BeatScheduler, named in the Procfile).
for _signal, _module, _name in (
    (signals.worker_ready, "savegame.heartbeats", "on_worker_ready"),
    (signals.worker_shutdown, "savegame.heartbeats", "on_worker_shutdown"),
    (signals.task_prerun, "savegame.metrics", "on_task_prerun"),
    (signals.task_postrun, "savegame.metrics", "on_task_postrun"),
    (signals.task_retry, "savegame.metrics", "on_task_retry"),
):
    _signal.connect(_forward(_module, _name), weak=False)
