"""Delivery reports and opt-outs, quiet hours, languages, WhatsApp fallback, and batching."""

from __future__ import annotations

import math
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection

from accounts.factories import UserFactory
from accounts.models import User
from notifications.models import Notification, NotificationPreference, SmsSettings
from notifications.services import notify
from notifications.tasks import sweep_notifications

pytestmark = pytest.mark.usefixtures("eager")
NAIROBI = ZoneInfo("Africa/Nairobi")


def send(callbacks, **kwargs):
    with callbacks(execute=True):
        notify(**kwargs)


@pytest.mark.usefixtures("daytime")
def test_delivery_report_updates_status_and_blacklist_opts_member_out(
        member, provider, client_for, org, django_capture_on_commit_callbacks):
    token = SmsSettings.objects.create().callback_token
    send(django_capture_on_commit_callbacks, user=member, template="badge_earned", context={"badge": "Saver"})
    row = Notification.objects.get(user=member)
    url = f"/hooks/sms/{token}/delivery"

    form = {"id": row.provider_message_id, "status": "Success", "phoneNumber": member.phone_number,
            "networkCode": "63902", "failureReason": ""}
    assert client_for(org).post(url, form).status_code == 200
    row.refresh_from_db()
    assert row.delivery_status == "Success" and row.delivered_at is not None and row.status == "sent"

    form.update(status="Failed", failureReason="UserInBlackList")
    assert client_for(org).post(url, form).status_code == 200
    row.refresh_from_db()
    assert row.status == Notification.Status.FAILED and row.reason == "UserInBlackList"
    prefs = NotificationPreference.objects.get(user=member)
    assert prefs.sms_opted_out and prefs.opt_out_reason == "UserInBlackList"

    # Honoured from now on: the next message is skipped, nothing reaches the provider.
    calls = len(provider.sms_calls)
    send(django_capture_on_commit_callbacks, user=member, template="top5_entered", context={"rank": 4})
    assert Notification.objects.get(template="top5_entered").status == Notification.Status.SKIPPED
    assert len(provider.sms_calls) == calls


@pytest.mark.usefixtures("daytime")
def test_delivery_report_with_wrong_token_is_refused(member, client_for, org, tenant):
    SmsSettings.objects.create()
    response = client_for(org).post("/hooks/sms/not-the-token/delivery", {"id": "x", "status": "Success"})
    assert response.status_code == 404


@pytest.mark.usefixtures("daytime")
def test_blacklist_answer_at_send_time_opts_member_out(member, provider, django_capture_on_commit_callbacks):
    provider.blacklisted.add(member.phone_number)
    send(django_capture_on_commit_callbacks, user=member, template="badge_earned", context={"badge": "Saver"})
    row = Notification.objects.get(user=member)
    assert row.status == Notification.Status.FAILED and row.reason.startswith("406")
    assert NotificationPreference.objects.get(user=member).sms_opted_out


def test_quiet_hours_defer_reminders_but_not_urgent_messages(member, provider, django_capture_on_commit_callbacks):
    with time_machine.travel(datetime(2026, 11, 25, 22, 30, tzinfo=NAIROBI), tick=False):
        send(django_capture_on_commit_callbacks, user=member, template="streak_at_risk")
        send(django_capture_on_commit_callbacks, user=member, template="deposit_confirmed", context={"amount": "200"})
        send(django_capture_on_commit_callbacks, user=member, template="otp", context={"code": "654321", "minutes": 5})
        deferred = Notification.objects.get(template="streak_at_risk")
        assert deferred.status == Notification.Status.PENDING
        assert deferred.scheduled_for == datetime(2026, 11, 26, 7, 0, tzinfo=NAIROBI)
        sent_now = sorted(c["message"][:20] for c in provider.sms_calls)
        assert len(sent_now) == 2 and not any("streak" in c["message"] for c in provider.sms_calls)
    with time_machine.travel(datetime(2026, 11, 26, 6, 59, tzinfo=NAIROBI), tick=False):
        sweep_notifications.apply()
        assert len(provider.sms_calls) == 2
    with time_machine.travel(datetime(2026, 11, 26, 7, 1, tzinfo=NAIROBI), tick=False):
        sweep_notifications.apply()
    deferred.refresh_from_db()
    assert deferred.status == Notification.Status.SENT
    assert "streak is at risk" in provider.sms_calls[-1]["message"]


@pytest.mark.usefixtures("daytime")
def test_kiswahili_member_gets_kiswahili_text(tenant, provider, django_capture_on_commit_callbacks):
    swahili = UserFactory(phone_number="+254722333444", name="Baraka", language="sw")
    english = UserFactory(phone_number="+254722333555", name="Jane", language="en")
    for user in (swahili, english):
        send(django_capture_on_commit_callbacks, user=user, template="badge_earned", context={"badge": "Mweka Akiba"})
    by_number = {c["to"]: c["message"] for c in provider.sms_calls}
    assert by_number["+254722333444"] == "Alpha Chama: Hongera! Umepata beji ya Mweka Akiba."
    assert by_number["+254722333555"] == "Alpha Chama: Congratulations! You earned the Mweka Akiba badge."
    assert Notification.objects.get(user=swahili).language == "sw"


@pytest.mark.usefixtures("daytime")
def test_member_without_language_gets_the_orgs(tenant, provider, django_capture_on_commit_callbacks):
    org = connection.tenant
    original = dict(org.branding)
    org.branding = {**original, "language": "sw"}
    try:
        member = UserFactory(phone_number="+254722333666", language="")
        send(django_capture_on_commit_callbacks, user=member, template="streak_at_risk")
    finally:
        org.branding = original
    assert "Mfululizo wako" in provider.sms_calls[0]["message"]


@pytest.mark.usefixtures("daytime")
def test_org_override_in_db_replaces_default_wording(member, provider, django_capture_on_commit_callbacks):
    from notifications.models import NotificationTemplate

    NotificationTemplate.objects.create(key="badge_earned", language="en", title="Badge!", body="{name}, new badge: {badge}")
    send(django_capture_on_commit_callbacks, user=member, template="badge_earned", context={"badge": "Saver"})
    assert provider.sms_calls[0]["message"] == "Wanjiku, new badge: Saver"


@pytest.mark.usefixtures("daytime")
def test_whatsapp_member_gets_whatsapp_and_falls_back_to_sms(tenant, provider, django_capture_on_commit_callbacks):
    on_wa = UserFactory(phone_number="+254733000111")
    gone_wa = UserFactory(phone_number="+254733000222")
    no_wa = UserFactory(phone_number="+254733000333")
    for user in (on_wa, gone_wa):
        NotificationPreference.objects.create(user=user, channel="whatsapp", has_whatsapp=True)
    NotificationPreference.objects.create(user=no_wa, channel="whatsapp", has_whatsapp=False)
    provider.no_whatsapp.add(gone_wa.phone_number)
    for user in (on_wa, gone_wa, no_wa):
        send(django_capture_on_commit_callbacks, user=user, template="badge_earned", context={"badge": "Saver"})

    assert [c["phoneNumber"] for c in provider.whatsapp_calls] == [on_wa.phone_number, gone_wa.phone_number]
    assert provider.whatsapp_calls[0]["waNumber"] == "+254711082000"
    assert provider.whatsapp_calls[0]["body"] == {"message": "Alpha Chama: Congratulations! You earned the Saver badge."}
    assert sorted(c["to"] for c in provider.sms_calls) == [gone_wa.phone_number, no_wa.phone_number]
    assert Notification.objects.get(user=on_wa).channel == "whatsapp"
    failed_wa = Notification.objects.get(user=gone_wa, channel="whatsapp")
    assert failed_wa.status == "failed" and "not on WhatsApp" in failed_wa.reason
    assert Notification.objects.get(user=gone_wa, channel="sms").status == "sent"


@pytest.mark.usefixtures("daytime")
def test_org_credentials_and_sender_id_are_used(member, provider, django_capture_on_commit_callbacks):
    provider.api_keys.add("alpha-own-key")
    SmsSettings.objects.create(username="alphachama", api_key="alpha-own-key", sender_id="ALPHA")
    send(django_capture_on_commit_callbacks, user=member, template="badge_earned", context={"badge": "Saver"})
    assert provider.sms_calls[0]["username"] == "alphachama" and provider.sms_calls[0]["from"] == "ALPHA"


@pytest.mark.usefixtures("daytime")
def test_broadcast_to_10000_members_takes_a_bounded_number_of_provider_calls(
        org, org_admin, provider, settings, api_client_for, django_capture_on_commit_callbacks):
    count = 10_000
    User.objects.bulk_create(
        [User(phone_number=f"+2547{50_000_000 + i:08d}", name="", account_code=f"B{i:05d}", password="!")
         for i in range(count)], batch_size=5000)
    client = api_client_for(org)
    client.force_authenticate(org_admin)

    preview = client.post("/api/v1/broadcasts/preview", {"message": "AGM on Saturday 2pm.", "audience": "all"}, format="json")
    assert preview.status_code == 200
    recipients = count + 1  # plus the org admin
    assert preview.json()["recipients"] == recipients and preview.json()["segments"] == 1
    assert preview.json()["estimated_cost"] == f"{recipients * 0.8:.2f}"

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/api/v1/broadcasts", {"message": "AGM on Saturday 2pm.", "audience": "all"}, format="json")
    assert response.status_code == 202
    numbers = [n for call in provider.sms_calls for n in call["to"].split(",")]
    assert len(numbers) == recipients and len(set(numbers)) == recipients
    bound = math.ceil(recipients / settings.NOTIFICATIONS_BATCH_SIZE)
    assert len(provider.sms_calls) <= bound, f"{len(provider.sms_calls)} provider calls for {recipients} recipients"
    progress = client.get(f"/api/v1/broadcasts/{response.json()['id']}").json()
    assert progress["status"] == "done" and progress["sent"] == recipients and progress["percent"] == 100
