"""Save now (STK push) against the local Daraja simulator, and the reconcilers."""

from __future__ import annotations

import base64
from decimal import Decimal

import pytest
from django.db import connection
from django_tenants.utils import schema_context

from challenges.models import ScoredDeposit
from payments.models import MpesaSettings, StatusQuery, Transaction
from payments.simulator import PASSKEY, DarajaSimulator
from tests.payments.conftest import c2b_payload
from tests.payments.live import every_queue, free_port, live_server, wait_for


@pytest.fixture
def simulator(settings):
    sim = DarajaSimulator("127.0.0.1", 0, delay=0.1, cancel_rate=0, duplicate_rate=0, drop_rate=0,
                          out_of_order_rate=0).start()
    settings.MPESA_SIMULATOR_URL = sim.url
    settings.SITE_PORT = str(free_port())  # callbacks with no live server go nowhere, never to a dev server
    yield sim
    sim.stop()


def _settled(sim, checkout_id):
    checkout = sim.state.checkouts.get(checkout_id)
    return checkout is not None and checkout.result_code is not None


def test_stk_push_api_sends_a_valid_request_and_answers_202(api_client_for, org, member, simulator):
    api = api_client_for(org)
    api.force_authenticate(member)
    response = api.post("/api/v1/transactions/stk-push", {"amount": "150"}, format="json")
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["status"] == "pending" and body["checkout_request_id"].startswith("ws_CO_")
    connection.set_tenant(org)
    tx = Transaction.objects.get(pk=body["id"])
    assert (tx.user, tx.amount, tx.status, tx.source) == (member, Decimal("150.00"), "pending", "stk")
    (path, sent), = [c for c in simulator.calls if c[0].endswith("processrequest")]
    assert base64.b64decode(sent["Password"]).decode() == f"{sent['BusinessShortCode']}{PASSKEY}{sent['Timestamp']}"
    assert sent["PhoneNumber"] == "254708374149" and sent["Amount"] == 150
    assert sent["AccountReference"] == member.account_code
    assert sent["CallBackURL"].endswith(f"/hooks/pay/{MpesaSettings.objects.get().callback_token}/stk/callback")
    # the member polls their own row; another member cannot see it
    assert api.get(f"/api/v1/transactions/{tx.pk}").json()["status"] == "pending"


@pytest.mark.parametrize("amount", ["0", "10.50", "-5", "abc", "300000"])
def test_stk_push_rejects_bad_amounts(api_client_for, org, member, simulator, amount):
    api = api_client_for(org)
    api.force_authenticate(member)
    response = api.post("/api/v1/transactions/stk-push", {"amount": amount}, format="json")
    assert response.status_code == 400 and "amount" in response.json()
    connection.set_tenant(org)
    assert not Transaction.objects.exists()


def test_stk_push_needs_a_login(api_client_for, org, simulator, tenant):
    assert api_client_for(org).post("/api/v1/transactions/stk-push", {"amount": "10"}, format="json").status_code in (401, 403)


def test_daraja_refusal_marks_the_push_failed(api_client_for, org, member, simulator, mpesa):
    mpesa.consumer_secret = "wrong-secret"
    mpesa.save()
    api = api_client_for(org)
    api.force_authenticate(member)
    assert api.post("/api/v1/transactions/stk-push", {"amount": "20"}, format="json").status_code == 502
    connection.set_tenant(org)
    assert Transaction.objects.get().status == "failed"


def test_reconciler_fixes_a_pending_push_whose_callback_never_came(tenant, member, simulator, scored,
                                                                   django_capture_on_commit_callbacks, hook):
    from payments.services import stk_pending_reconcile, stk_push_start

    simulator.script = ["drop", "cancel"]
    simulator.delay = 2.0  # long enough that the first query surely finds both still in progress
    paid = stk_push_start(user=member, amount=Decimal("400"))
    cancelled = stk_push_start(user=member, amount=Decimal("60"))
    assert stk_pending_reconcile(older_than_minutes=0) == 0  # Daraja: "still being processed"
    assert wait_for(lambda: _settled(simulator, paid.checkout_request_id) and _settled(simulator, cancelled.checkout_request_id), 10)
    with django_capture_on_commit_callbacks(execute=True):
        assert stk_pending_reconcile(older_than_minutes=0) == 2
    paid.refresh_from_db()
    cancelled.refresh_from_db()
    assert (paid.status, paid.mpesa_receipt) == ("verified", None)
    assert (cancelled.status, cancelled.result_code) == ("failed", "1032")
    assert scored == [paid.pk]
    # the lost payment's C2B confirmation turns up later: the receipt attaches, nothing is credited twice
    receipt = simulator.state.checkouts[paid.checkout_request_id].receipt
    hook("confirmation", c2b_payload(trans_id=receipt, amount="400", bill_ref=member.account_code))
    paid.refresh_from_db()
    assert paid.mpesa_receipt == receipt
    assert Transaction.objects.filter(status="verified").count() == 1 and scored == [paid.pk]


def test_c2b_gap_is_asked_about_with_transaction_status(tenant, member, simulator, hook):
    from payments.services import c2b_gaps_check

    receipt = simulator.pay_bill(shortcode="600000", amount=80, msisdn="254708374149", bill_ref=member.account_code)
    hook("validation", c2b_payload(trans_id=receipt, amount="80", bill_ref=member.account_code))
    assert c2b_gaps_check(older_than_minutes=0) == 1
    (path, sent), = [c for c in simulator.calls if c[0].endswith("transactionstatus/v1/query")]
    assert sent["TransactionID"] == receipt and sent["CommandID"] == "TransactionStatusQuery"
    assert sent["ResultURL"].endswith("/status/result")
    assert StatusQuery.objects.get(trans_id=receipt).conversation_id.startswith("AG_")
    assert c2b_gaps_check(older_than_minutes=0) == 0  # asked once


def test_save_now_end_to_end_over_the_wire(committed_org, simulator, settings, scored):
    """Our live server, a real worker and the simulator calling back: success, cancel, duplicate, out of order."""
    from celery.contrib.testing.worker import start_worker
    from django.db import connections

    from accounts.services import user_create
    from payments.services import c2b_urls_register, stk_push_start
    from savegame.celery import app as celery_app

    schema = committed_org.schema_name
    simulator.script = ["success", "cancel", "duplicate", "c2b_first", "c2b_too"]
    celery_app.conf.task_always_eager = False
    with live_server() as port, start_worker(celery_app, pool="threads", concurrency=2, perform_ping_check=False,
                                             shutdown_timeout=10, queues=every_queue()):
        settings.SITE_PORT = str(port)
        with schema_context(schema):
            connection.set_tenant(committed_org)
            member = user_create(phone_number="+254708555666", name="Wire Saver")
            c2b_urls_register()
            pushes = [stk_push_start(user=member, amount=Decimal(a)) for a in ("100", "200", "300", "400", "500")]

        def done():
            with schema_context(schema):
                return not Transaction.objects.filter(status="pending").exists() and ScoredDeposit.objects.count() == 4

        assert wait_for(done, timeout=40)
        with schema_context(schema):
            statuses = {t.amount: (t.status, t.result_code) for t in Transaction.objects.filter(pk__in=[p.pk for p in pushes])}
            assert statuses[Decimal("200.00")] == ("failed", "1032")
            assert all(statuses[Decimal(a)][0] == "verified" for a in ("100.00", "300.00", "400.00", "500.00"))
            assert Transaction.objects.count() == 5  # no extra rows from duplicates or C2B copies
            assert Transaction.objects.filter(status="verified").count() == 4
        connections.close_all()
    assert sorted(scored) == sorted(p.pk for p in pushes if p.amount != Decimal("200"))
