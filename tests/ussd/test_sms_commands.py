"""SMS commands end to end: Africa's Talking's incoming-SMS payloads in, replies through the outbox out."""

from __future__ import annotations

import pytest
from django.test import Client

from accounts.models import AuditEvent
from notifications.models import Notification, NotificationPreference
from tests.ussd.conftest import PHONE, replies, sms_payload
from ussd.models import InboundSms


@pytest.fixture
def no_push(monkeypatch):
    pushed = []
    monkeypatch.setattr("ussd.tasks.save_now_push_task.delay", lambda **kwargs: pushed.append(kwargs))
    return pushed


def test_bal_replies_with_the_ledger_total_and_points(sms_in, saver, deposit, sms_outbox, eager_celery):
    from challenges.selectors import member_points

    deposit(saver, 1200)
    sms_outbox()  # start empty (the deposit's own confirmation went before)
    response = sms_in("BAL")
    assert response.status_code == 200 and response.content == b"OK"
    text = f"Alpha Chama: Saved: KES 1,200. Points: {member_points(member=saver):,}."
    assert replies(saver) == [text]
    # through the outbox and the notifications task to the SMS backend (CONTRACT.md's file format)
    assert [(m["to"], m["message"]) for m in sms_outbox()] == [(PHONE, text)]
    assert Notification.objects.get(template="sms_reply").status == "sent"


@pytest.mark.parametrize("text,expected", [
    ("SALIO", "Akiba: KES 0. Pointi: 0."), ("bal", "Saved: KES 0. Points: 0."), ("Akiba", "Akiba: KES 0"),
    ("balance", "Saved: KES 0"),
])
def test_keywords_in_either_language_and_case_reply_in_that_language(sms_in, saver, text, expected):
    sms_in(text)
    assert expected in replies(saver)[0]


def test_rank_and_nafasi(sms_in, saver, deposit, live_challenge):
    from challenges.services import participant_join

    sms_in("RANK")
    assert "not joined a challenge" in replies(saver)[-1]
    participant_join(challenge=live_challenge(), user=saver)
    deposit(saver, 300)
    sms_in("RANK")
    assert replies(saver)[-1] == "Alpha Chama: Your rank: December Sprint #1 of 1."
    sms_in("nafasi")
    assert replies(saver)[-1] == "Alpha Chama: Nafasi yako: December Sprint #1 kati ya 1."


def test_save_queues_the_push_and_tells_the_member(sms_in, saver, no_push):
    sms_in("SAVE 500", provider_id="ATXid_save500")
    assert no_push == [{"user_id": saver.pk, "amount": 500, "challenge_id": None, "request_key": "sms:ATXid_save500"}]
    assert "You will get an M-Pesa prompt for KES 500" in replies(saver)[-1]
    sms_in("weka 1,000")
    assert no_push[-1]["amount"] == 1000 and "Utapokea ombi la M-Pesa la KES 1,000" in replies(saver)[-1]
    event = AuditEvent.objects.filter(action="ussd.save_requested").first()
    assert event.after["channel"] == "sms" and event.after["network_code"] == "63902"


@pytest.mark.parametrize("text", ["SAVE", "SAVE abc", "SAVE 0", "SAVE 300000", "SAVE 10.5", "SAVE -5"])
def test_save_with_a_bad_amount_explains_the_command(sms_in, saver, no_push, text):
    sms_in(text)
    assert no_push == [] and "Send SAVE and a whole amount" in replies(saver)[-1]


def test_stop_opts_out_through_notifications_preferences_and_start_opts_back_in(sms_in, saver):
    from notifications.services import notify

    sms_in("STOP")
    prefs = NotificationPreference.objects.get(user=saver)
    assert prefs.sms_opted_out and prefs.opt_out_reason == "STOP by SMS"
    stop_reply = Notification.objects.filter(user=saver, template="sms_reply").latest("pk")
    assert stop_reply.status == "pending" and "Send START" in stop_reply.message  # the answer still goes out
    notify(user=saver, template="broadcast", context={"message": "Meeting on Saturday"})
    assert Notification.objects.get(user=saver, template="broadcast").status == "skipped"  # nothing else does
    assert AuditEvent.objects.filter(action="sms.opted_out", actor=saver).exists()

    sms_in("START")
    prefs.refresh_from_db()
    assert not prefs.sms_opted_out
    assert "Send STOP to stop them" in replies(saver)[-1]
    assert AuditEvent.objects.filter(action="sms.opted_in", actor=saver).exists()


def test_acha_and_anza_in_kiswahili(sms_in, saver):
    sms_in("acha")
    assert NotificationPreference.objects.get(user=saver).sms_opted_out
    assert replies(saver)[-1] == "Alpha Chama: Hutapokea tena SMS zetu. Tuma ANZA kuzipata tena."
    sms_in("Anza")
    assert not NotificationPreference.objects.get(user=saver).sms_opted_out
    assert "Utapokea SMS zetu tena" in replies(saver)[-1]


def test_anything_else_gets_the_help_text_in_the_members_language(sms_in, saver):
    sms_in("hello there")
    assert "Send BAL for your savings" in replies(saver)[-1]
    saver.language = "sw"
    saver.save(update_fields=["language"])
    sms_in("")
    assert "Tuma SALIO kwa akiba yako" in replies(saver)[-1]


def test_an_unknown_phone_gets_nothing_and_changes_nothing(sms_in, saver, no_push):
    response = sms_in("SAVE 500", sender="+254711999888")
    assert response.status_code == 200
    assert no_push == [] and not Notification.objects.exists()
    row = InboundSms.objects.get()
    assert (row.phone_number, row.user, row.outcome, row.command) == ("+254711999888", None, "unknown_phone", "save")
    assert not AuditEvent.objects.filter(action__startswith=("sms.")).exists()


def test_a_replayed_message_is_acted_on_once(sms_in, saver, no_push):
    for _ in range(3):
        assert sms_in("SAVE 200", provider_id="ATXid_same").status_code == 200
    assert len(no_push) == 1 and len(replies(saver)) == 1 and InboundSms.objects.count() == 1


def test_the_message_is_recorded_with_its_network(sms_in, saver):
    sms_in("BAL", provider_id="ATXid_rec", network_code="63903", sender="0708 374 149")
    row = InboundSms.objects.get()
    assert (row.provider_id, row.phone_number, row.to, row.network_code, row.command, row.outcome, row.user) == (
        "ATXid_rec", PHONE, "22384", "63903", "balance", "balance", saver)
    assert row.link_id.startswith("SampleLinkId") and row.sent_at == "2026-12-04 18:45:12"


@pytest.mark.parametrize("change,status", [
    ({"to": "99999"}, 404), ({"to": "short code"}, 400), ({"from": "hello"}, 400), ({"from": ""}, 400),
    ({"id": ""}, 400), ({"id": "a b"}, 400), ({"text": "x\x00"}, 400), ({"networkCode": "63 902"}, 400),
    ({"text": "x" * 1001}, 400),
])
def test_junk_is_refused_never_a_500(feature_org, saver, change, status):
    data = {**sms_payload(text="BAL"), **change}
    response = Client(HTTP_HOST="localhost").post("/hooks/sms/inbound/", data)
    assert response.status_code == status
    from django.db import connection

    connection.set_tenant(feature_org)
    assert not InboundSms.objects.exists()


def test_wrong_method_and_missing_body(feature_org):
    client = Client(HTTP_HOST="localhost")
    assert client.get("/hooks/sms/inbound/").status_code == 405
    assert client.post("/hooks/sms/inbound/", {}).status_code == 400
