"""The outbox: written in the caller's transaction, sent once after commit, swept if the broker
lost it, retried only on transient provider errors. The real `africastalking` SDK talks to a
local stand-in of the provider's HTTP API."""

from __future__ import annotations

from datetime import timedelta
from unittest import mock

import pytest
import time_machine
from django.db import transaction
from django.utils import timezone
from kombu.exceptions import OperationalError

from notifications.models import Notification
from notifications.services import notify
from notifications.tasks import send_notifications, sweep_notifications

pytestmark = pytest.mark.usefixtures("eager", "daytime")


def numbers_sent(provider) -> list[str]:
    return [n for call in provider.sms_calls for n in call["to"].split(",")]


def test_committed_event_sends_one_sms_with_provider_id_and_cost(member, provider, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        with transaction.atomic():
            notify(user=member, template="badge_earned", context={"badge": "Early Bird"})
        assert provider.sms_calls == []  # nothing leaves before commit
    row = Notification.objects.get(user=member)
    assert numbers_sent(provider) == ["+254712345678"]
    call = provider.sms_calls[0]
    assert call["username"] == "savegame" and call["from"] == "SAVEGAME" and call["bulkSMSMode"] == "1"
    assert call["message"] == "Alpha Chama: Congratulations! You earned the Early Bird badge."
    assert row.status == Notification.Status.SENT and row.provider_message_id.startswith("ATXid_")
    assert row.cost == "KES 0.8000" and row.sent_at is not None and row.attempts == 1


def test_rolled_back_event_sends_nothing(member, provider, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks, pytest.raises(RuntimeError):
        with transaction.atomic():
            notify(user=member, template="deposit_confirmed", context={"amount": "500"})
            raise RuntimeError("the deposit failed to score")
    assert Notification.objects.count() == 0
    assert provider.sms_calls == []
    assert callbacks == []


def test_a_rolled_back_savepoint_leaves_nothing_for_the_next_commit(member, provider, django_capture_on_commit_callbacks):
    """Only what the committing transaction queued goes to the broker: a notify inside a savepoint
    that rolled back must not ride along with the next commit (or leak into the next request)."""
    enqueued = []
    with mock.patch("notifications.services.notification_enqueue",
                    side_effect=lambda **kw: enqueued.append(kw)):
        with django_capture_on_commit_callbacks(execute=True):
            with transaction.atomic():
                notify(user=member, template="badge_earned", context={"badge": "Kept"})
                with pytest.raises(RuntimeError), transaction.atomic():
                    notify(user=member, template="badge_earned", context={"badge": "Rolled back"})
                    raise RuntimeError("inner step failed")
        kept = Notification.objects.get()
        assert [kw["notification_ids"] for kw in enqueued] == [[kept.pk]]
        enqueued.clear()
        with django_capture_on_commit_callbacks(execute=True):
            with transaction.atomic():
                notify(user=member, template="badge_earned", context={"badge": "Next"})
        assert [len(kw["notification_ids"]) for kw in enqueued] == [1]


def test_broker_down_at_commit_then_sweep_sends_exactly_once(member, provider, django_capture_on_commit_callbacks):
    with mock.patch.object(send_notifications, "apply_async", side_effect=OperationalError("Error 111 connecting to redis")):
        with django_capture_on_commit_callbacks(execute=True):
            notify(user=member, template="badge_earned", context={"badge": "Saver"})
    row = Notification.objects.get(user=member)
    assert row.status == Notification.Status.PENDING and provider.sms_calls == []

    sweep_notifications.apply()  # too fresh: the normal path may still be on its way
    assert provider.sms_calls == []
    with time_machine.travel(timezone.now() + timedelta(minutes=2), tick=True):
        first = sweep_notifications.apply().get()
        second = sweep_notifications.apply().get()
        send_notifications.apply(args=[[row.pk]])  # a late duplicate of the lost message
    assert first["requeued"] == 1 and second["requeued"] == 0
    assert numbers_sent(provider) == ["+254712345678"]
    row.refresh_from_db()
    assert row.status == Notification.Status.SENT and row.attempts == 1


def test_provider_5xx_is_retried_with_the_same_row(member, provider, django_capture_on_commit_callbacks):
    provider.fail_next(503, times=2)
    with django_capture_on_commit_callbacks(execute=True):
        notify(user=member, template="badge_earned", context={"badge": "Saver"})
    row = Notification.objects.get(user=member)
    assert provider.failed_calls == 2
    assert numbers_sent(provider) == ["+254712345678"]
    assert row.status == Notification.Status.SENT and row.attempts == 3


def test_provider_4xx_fails_without_retry(member, provider, django_capture_on_commit_callbacks):
    provider.fail_next(401, times=1)
    with django_capture_on_commit_callbacks(execute=True):
        notify(user=member, template="badge_earned", context={"badge": "Saver"})
    row = Notification.objects.get(user=member)
    assert provider.failed_calls == 1 and provider.sms_calls == []
    assert row.status == Notification.Status.FAILED and "401" in row.reason and row.attempts == 1
    with time_machine.travel(timezone.now() + timedelta(minutes=5), tick=True):
        assert sweep_notifications.apply().get()["requeued"] == 0


def test_retries_stop_after_max_attempts(member, provider, settings, django_capture_on_commit_callbacks):
    settings.NOTIFICATIONS_MAX_ATTEMPTS = 2
    provider.fail_next(500, times=10)
    with django_capture_on_commit_callbacks(execute=True):
        notify(user=member, template="badge_earned", context={"badge": "Saver"})
    row = Notification.objects.get(user=member)
    assert row.status == Notification.Status.FAILED and row.reason.startswith("gave up after 2 attempts")
    assert provider.sms_calls == []


def test_idempotency_key_collapses_repeated_events(member, provider, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(3):
            notify(user=member, template="deposit_confirmed",
                   context={"amount": "500", "idempotency_key": "deposit:42"})
    assert Notification.objects.filter(user=member).count() == 1
    assert len(provider.sms_calls) == 1


def test_urgent_otp_and_deposit_not_capped_but_reminders_are(member, provider, django_capture_on_commit_callbacks):
    from notifications.models import SmsSettings

    SmsSettings.objects.create(daily_cap=2)
    with django_capture_on_commit_callbacks(execute=True):
        for badge in ("A", "B", "C"):
            notify(user=member, template="badge_earned", context={"badge": badge})
        notify(user=member, template="deposit_confirmed", context={"amount": "100"})
        notify(user=member, template="otp", context={"code": "123456", "minutes": 5})
    statuses = dict(Notification.objects.values_list("message", "status"))
    skipped = Notification.objects.get(status=Notification.Status.SKIPPED)
    assert skipped.reason == "daily cap reached" and "C badge" in skipped.message
    assert len(numbers_sent(provider)) == 4 and list(statuses.values()).count("sent") == 4


def test_file_backend_writes_the_contract_format(member, sms_outbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        notify(user=member, template="otp", context={"code": "246810", "minutes": 5})
    (line,) = sms_outbox()
    assert set(line) == {"to", "message", "organization", "sent_at"}
    assert line["to"] == "+254712345678" and line["organization"] == "alpha"
    assert line["message"] == "Your Alpha Chama code is 246810. It expires in 5 minutes. Never share it."
    assert Notification.objects.get(user=member).status == Notification.Status.SENT


def test_a_leaders_broadcast_is_neither_capped_by_automatic_messages_nor_held_for_quiet_hours(
        member, provider, django_capture_on_commit_callbacks):
    """Automatic messages use up the daily cap; the leader's announcement still goes, at night too,
    and does not count toward the cap left for automatic ones."""
    from notifications.models import SmsSettings

    SmsSettings.objects.create(daily_cap=2)
    with django_capture_on_commit_callbacks(execute=True):
        for challenge in ("A", "B"):
            notify(user=member, template="challenge_started", context={"challenge": challenge, "end_date": "x"})
        notify(user=member, template="broadcast", context={"message": "Meeting on Saturday"})
        notify(user=member, template="badge_earned", context={"badge": "C"})
    rows = {n.template + n.message[-12:]: n for n in Notification.objects.all()}
    (bc,) = [n for n in rows.values() if n.template == "broadcast"]
    assert bc.status == "sent", bc.reason
    (badge,) = [n for n in rows.values() if n.template == "badge_earned"]
    assert badge.status == "skipped" and badge.reason == "daily cap reached"


def test_broadcast_at_night_is_sent_at_once_while_automatic_waits(member, provider, django_capture_on_commit_callbacks):
    with time_machine.travel("2026-11-25T23:30:00+03:00", tick=True):
        with django_capture_on_commit_callbacks(execute=True):
            notify(user=member, template="broadcast", context={"message": "Tomorrow's meeting moved"})
            notify(user=member, template="badge_earned", context={"badge": "Night owl"})
    bc = Notification.objects.get(template="broadcast")
    badge = Notification.objects.get(template="badge_earned")
    assert bc.status == "sent" and bc.scheduled_for is None
    assert badge.status == "pending" and badge.scheduled_for is not None
