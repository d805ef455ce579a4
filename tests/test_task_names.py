"""Celery task names follow one scheme, `<app label>.<noun>_<verb>` (savegame/tasknames.py, docs/OPERATIONS.md
"Celery tasks"), beat sends only current names, and a renamed task's former name still runs the same code on
the same queue for one release (issue 15 item 10)."""

from __future__ import annotations

import re

import pytest
from celery.app.routes import MapRoute
from django.apps import apps
from django.conf import settings

from savegame.celery import _collect_beat_schedule, app

# The renames of issue 15 item 10: delete these aliases (and this table) one release later.
FORMER = {
    "analytics.rollup_tenant": "analytics.rollup_run",
    "challenges.lifecycle": "challenges.lifecycle_run",
    "challenges.streaks_at_risk": "challenges.streaks_at_risk_warn",
    "notifications.send": "notifications.batch_send",
    "notifications.sweep": "notifications.outbox_sweep",
    "notifications.fanout": "notifications.audience_fanout",
    "notifications.reminders": "notifications.reminders_fanout",
    "payments.reconciliation_report": "payments.reconciliation_report_build",
    "watch.deposits_check": "payments_watch.deposits_check",
    "watch.nightly": "payments_watch.nightly_check",
}
OPTIONS = ("acks_late", "autoretry_for", "max_retries", "retry_backoff", "time_limit", "soft_time_limit",
           "ignore_result")


@pytest.fixture(scope="module")
def registered() -> dict:
    app.loader.import_default_modules()  # autodiscovery: every app's tasks.py
    return {name: task for name, task in app.tasks.items() if not name.startswith(("celery.", "tests."))}


def test_every_task_is_named_app_label_dot_noun_verb(registered):
    labels = {config.label for config in apps.get_app_configs()}
    current = set(registered) - set(FORMER)
    assert len(current) >= 20
    for name in current:
        label, _, rest = name.partition(".")
        assert label in labels, name
        assert re.fullmatch(r"[a-z0-9]+(_[a-z0-9]+)+", rest), name  # a noun and a verb at least


def test_beat_sends_current_names_only(registered):
    for entry, spec in _collect_beat_schedule().items():
        assert spec["task"] in registered and spec["task"] not in FORMER, entry


@pytest.mark.parametrize("old, new", sorted(FORMER.items()))
def test_a_message_queued_under_a_former_name_runs_the_same_task(registered, old, new):
    assert old in registered and new in registered
    assert registered[old].__wrapped__ is registered[new].__wrapped__  # the same function
    for option in OPTIONS:
        assert getattr(registered[old], option, None) == getattr(registered[new], option, None), option
    route = MapRoute(settings.CELERY_TASK_ROUTES)
    assert route(old) == route(new)  # the same queue (None: the default one)


def test_the_watch_list_never_shares_the_payments_queue():
    route = MapRoute(settings.CELERY_TASK_ROUTES)
    assert route("payments_watch.deposits_check") is None and route("payments.inbox_drain") == {"queue": "payments"}
