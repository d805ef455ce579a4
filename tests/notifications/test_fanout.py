"""Fan-out audiences and re-runs, the sweep's handling of stuck rows, and two workers racing for
the same batch on committed data (each row reaches the provider once)."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from decimal import Decimal
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection, connections
from django.utils import timezone
from django_tenants.utils import schema_context

from accounts.factories import UserFactory
from accounts.models import User
from notifications.models import Notification
from notifications.services import fanout_step, notification_send_batch, notification_sweep, notify_many

NAIROBI = ZoneInfo("Africa/Nairobi")


def _deposit(user, amount, when):
    from payments.models import Transaction

    return Transaction.objects.create(user=user, amount=Decimal(amount), status="verified", source="manual",
                                      transacted_at=when, verified_at=when)


def test_streak_at_risk_is_the_games_rule_not_a_notifications_beat_entry():
    """One streak-at-risk rule (issue 15): the game's hourly check per streak window
    (challenges.services.streaks_at_risk). The Saturday ledger-wide reminder is gone, and so is
    its "streak_at_risk" audience."""
    from challenges.beat import SCHEDULE as GAME
    from notifications.beat import SCHEDULE as NOTIFICATIONS
    from notifications.selectors import audience_users

    assert all(entry.get("args") != ("streak_at_risk",) for entry in NOTIFICATIONS.values())
    assert any(entry["task"] == "challenges.streaks_at_risk_warn" for entry in GAME.values())
    with pytest.raises(ValueError):
        audience_users(audience="streak_at_risk")


@pytest.mark.usefixtures("eager")
def test_weekly_summary_carries_each_members_own_figures(tenant, provider, django_capture_on_commit_callbacks):
    now = datetime(2026, 11, 29, 18, 0, tzinfo=NAIROBI)  # Sunday 18:00
    saver = UserFactory(phone_number="+254744000011", language="sw")
    _deposit(saver, "1500", now - timedelta(days=2))
    _deposit(saver, "500", now - timedelta(days=20))
    with time_machine.travel(now, tick=False), django_capture_on_commit_callbacks(execute=True):
        from notifications.tasks import send_reminders

        send_reminders.apply(args=["weekly_summary"])
    by_number = {c["to"]: c["message"] for c in provider.sms_calls}
    assert by_number[saver.phone_number] == (
        "Alpha Chama: Wiki hii umeweka akiba ya KES 1,500. Jumla ya akiba: KES 2,000. Endelea hivyo!")


def test_fanout_steps_in_fixed_batches_and_a_rerun_adds_nothing(tenant):
    User.objects.bulk_create([User(phone_number=f"+2547{51_000_000 + i:08d}", account_code=f"F{i:05d}", password="!")
                              for i in range(25)])
    with mock.patch("notifications.services.notification_enqueue"):
        cursors, cursor = [], 0
        while cursor is not None:
            cursor = fanout_step(template="broadcast", audience="members", context={"message": "hi"},
                                 key_prefix="run1", after_id=cursor, batch_size=10)
            cursors.append(cursor)
        assert len(cursors) == 3 and cursors[-1] is None  # 26 users (with the admin): 10 + 10 + 6
        assert fanout_step(template="broadcast", audience="members", context={"message": "hi"},
                           key_prefix="run1", after_id=0, batch_size=100) is None
    assert Notification.objects.count() == User.objects.count()


def test_sweep_fails_rows_stuck_in_sending_instead_of_resending(member):
    row = Notification.objects.create(user=member, template="badge_earned", message="x", to=member.phone_number,
                                      idempotency_key="stuck", status=Notification.Status.SENDING,
                                      claimed_at=timezone.now() - timedelta(minutes=20), attempts=1)
    with mock.patch("notifications.services.notification_enqueue") as enqueue:
        assert notification_sweep() == {"requeued": 0, "stuck_failed": 1}
    enqueue.assert_not_called()
    row.refresh_from_db()
    assert row.status == Notification.Status.FAILED and "not retried" in row.reason


def test_two_workers_racing_for_one_batch_send_each_row_once(committed_org, provider):
    with schema_context(committed_org.schema_name):
        User.objects.bulk_create([
            User(phone_number=f"+2547{52_000_000 + i:08d}", account_code=f"R{i:05d}", password="!") for i in range(300)])
        with mock.patch("notifications.services.notification_enqueue"), \
                time_machine.travel(datetime(2026, 11, 25, 12, 0, tzinfo=NAIROBI), tick=True):
            notify_many(users=User.objects.filter(phone_number__startswith="+25475200"), template="broadcast",
                        context={"message": "Race"}, key_prefix="race")
        # this batch's rows only: committed_org is shared, earlier live-server tests leave their own notices
        ids = list(Notification.objects.filter(idempotency_key__startswith="race").values_list("id", flat=True))
    assert len(ids) == 300

    barrier = threading.Barrier(2)
    reports, errors = [], []

    def worker():
        try:
            with schema_context(committed_org.schema_name):
                barrier.wait(timeout=10)
                reports.append(notification_send_batch(notification_ids=ids))
        except Exception as exc:  # surfaced below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors
    numbers = [n for call in provider.sms_calls for n in call["to"].split(",")]
    assert len(numbers) == 300 and len(set(numbers)) == 300
    assert sum(r.sent for r in reports) == 300
    with schema_context(committed_org.schema_name):
        assert Notification.objects.filter(pk__in=ids, status="sent").count() == 300
    connection.set_schema_to_public()


def test_real_worker_over_redis_sends_after_commit_from_the_notifications_queue(committed_org, provider):
    """The whole path with a real broker: commit -> on_commit enqueue (queue "notifications") ->
    a worker in the org's schema -> the provider."""
    from celery.contrib.testing.worker import start_worker

    from savegame.celery import app

    app.conf.task_always_eager = False
    with schema_context(committed_org.schema_name):
        member = User.objects.create_user("+254755000111", name="Worker Test", language="sw")
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10), \
            time_machine.travel(datetime(2026, 11, 25, 12, 0, tzinfo=NAIROBI), tick=True):
        with schema_context(committed_org.schema_name):
            notify_many(users=[member], template="badge_earned", context={"badge": "Bingwa"})
            deadline = timezone.now() + timedelta(seconds=60)  # a wait-until: returns as soon as it is sent
            while timezone.now() < deadline and not provider.sms_calls:
                threading.Event().wait(0.1)
            row = Notification.objects.get(user=member)
    connection.set_schema_to_public()
    assert [c["to"] for c in provider.sms_calls] == ["+254755000111"]
    assert provider.sms_calls[0]["message"] == f"{committed_org.name}: Hongera! Umepata beji ya Bingwa."
    assert row.status == "sent"
