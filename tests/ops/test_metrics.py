"""/metrics: protected, and the series move by exactly what happened."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.ops.metrics import TOKEN, moved, scrape, total
from tests.payments.conftest import c2b_payload

pytestmark = pytest.mark.django_db


def test_metrics_is_refused_without_the_token():
    assert Client().get("/metrics").status_code == 401
    assert Client().get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    assert Client(HTTP_HOST="alpha.localhost").get("/metrics").status_code == 401
    assert Client().get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 200


def test_metrics_answers_404_when_nothing_is_configured(settings):
    settings.METRICS_TOKEN = ""
    assert Client().get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 404


def test_metrics_allow_list_admits_an_address_without_a_token(settings):
    settings.METRICS_TOKEN, settings.METRICS_ALLOWED_IPS = "", ["10.0.0.9"]
    assert Client(REMOTE_ADDR="10.0.0.9").get("/metrics").status_code == 200
    assert Client(REMOTE_ADDR="10.0.0.8").get("/metrics").status_code == 401


def test_a_simulated_payment_moves_callback_credit_and_score_by_exactly_one(hook, member):
    before = scrape()
    response = hook("confirmation", c2b_payload(trans_id="RKM0000001", amount="300", bill_ref=member.account_code))
    assert response.status_code == 200
    after = scrape()
    assert moved(before, after, "savegame_callbacks_received_total", kind="confirmation") == 1
    assert moved(before, after, "savegame_callbacks_stored_total", kind="confirmation") == 1
    assert moved(before, after, "savegame_deposits_credited_total", status="verified") == 1
    assert moved(before, after, "savegame_deposits_scored_total") == 1
    assert moved(before, after, "savegame_callback_to_credited_seconds_count") == 1
    assert moved(before, after, "savegame_credited_to_scored_seconds_count") == 1
    assert moved(before, after, "savegame_celery_tasks_total", task="payments.inbox_drain", state="succeeded") == 1
    route = "/hooks/pay/<str:token>/c2b/confirmation"
    assert moved(before, after, "savegame_http_requests_total", route=route, method="POST", status="2xx") == 1
    assert moved(before, after, "savegame_http_request_duration_seconds_count", route=route) == 1
    # a replay is received, not stored, and credits nothing
    hook("confirmation", c2b_payload(trans_id="RKM0000001", amount="300", bill_ref=member.account_code))
    again = scrape()
    assert moved(after, again, "savegame_callbacks_received_total") == 1
    assert moved(after, again, "savegame_callbacks_stored_total") == 0
    assert moved(after, again, "savegame_deposits_credited_total") == 0
    assert moved(after, again, "savegame_deposits_scored_total") == 0


def test_refused_callbacks_are_counted_by_reason(hook):
    before = scrape()
    assert hook("confirmation", {}, token="not-the-secret").status_code == 404
    assert hook("confirmation", None, raw=b"{not json").status_code == 400
    after = scrape()
    assert moved(before, after, "savegame_callbacks_refused_total", reason="wrong_token") == 1
    assert moved(before, after, "savegame_callbacks_refused_total", reason="bad_json") == 1
    assert moved(before, after, "savegame_callbacks_stored_total") == 0


def test_inbox_depth_oldest_age_and_unmatched_are_read_at_scrape_time(tenant, mpesa):
    from datetime import timedelta

    from django.utils import timezone

    from payments.models import CallbackInbox, Transaction
    from savegame.metrics import org_labels_forget

    org_labels_forget()
    CallbackInbox.objects.create(kind="confirmation", natural_key="OLD1", payload={})
    CallbackInbox.objects.filter(natural_key="OLD1").update(received_at=timezone.now() - timedelta(minutes=5))
    CallbackInbox.objects.create(kind="validation", natural_key="VAL1", payload={})  # never drained: not counted
    Transaction.objects.create(source="c2b", amount=50, status="unmatched", transaction_id="UNM1", mpesa_receipt="UNM1")
    samples = scrape()
    label = tenant.slug
    assert total(samples, "savegame_callback_inbox_depth", org=label) == 1
    assert 290 < total(samples, "savegame_callback_inbox_oldest_age_seconds", org=label) < 400
    assert total(samples, "savegame_unmatched_payments", org=label) == 1
    assert total(samples, "savegame_callback_inbox_depth", org="beta") == 0
    assert total(samples, "savegame_money_metrics_up") == 1


def test_queue_depth_heartbeats_and_beat_runs_come_from_redis():
    from savegame import heartbeats
    from savegame.redis import redis_client

    redis_client().rpush("payments", "a", "b")
    heartbeats.worker_heartbeat(hostname="celery@w1")
    heartbeats.beat_tick()
    redis_client().hset(heartbeats.BEAT_RUNS_KEY, "payments-inbox-sweep", 1_700_000_000)
    samples = scrape()
    assert total(samples, "savegame_celery_queue_depth", queue="payments") == 2
    assert total(samples, "savegame_celery_queue_depth", queue="notifications") == 0
    assert total(samples, "savegame_workers_alive") == 1
    assert 0 <= total(samples, "savegame_beat_tick_age_seconds") < 5
    assert total(samples, "savegame_beat_last_run_timestamp_seconds", entry="payments-inbox-sweep") == 1_700_000_000


def test_organization_labels_stay_bounded(tenant, settings):
    from savegame.metrics import OTHER, org_label, org_labels_forget

    settings.METRICS_TOP_ORGS = 1
    org_labels_forget()
    labels = {org_label("org_alpha") if False else org_label(schema) for schema in ("zzz_unknown",)}
    assert labels == {OTHER}
    from tenants.models import Organization

    schemas = list(Organization.objects.exclude(schema_name="public").values_list("schema_name", flat=True))
    assert len({org_label(schema) for schema in schemas} - {OTHER}) == 1
    org_labels_forget()


def test_message_outcomes_and_provider_latency(tenant, sms_outbox):
    from accounts.services import user_create
    from notifications.models import Notification
    from notifications.services import notification_send_batch, notify

    user = user_create(phone_number="+254708000123", name="Msg Saver")
    before = scrape()
    notify(user=user, template="weekly_summary", context={"saved": "100", "points": 5}, urgent=True)
    row = Notification.objects.filter(user=user).latest("id")
    notification_send_batch(notification_ids=[row.pk])
    after = scrape()
    row.refresh_from_db()
    assert moved(before, after, "savegame_messages_total", channel="sms", outcome=row.status) == 1
    assert moved(before, after, "savegame_message_provider_seconds_count", channel="sms") == 1
