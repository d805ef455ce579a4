"""Faults heal by themselves (issue 20): a row that fails never blocks the rows behind it, a callback
the database refuses is answered 4xx and recorded, a database that is down gets a quick 503 JSON."""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from django.db import IntegrityError, OperationalError, connection
from django.test import Client

from challenges.models import ScoredDeposit
from payments.models import CallbackInbox, Transaction
from payments.platform.models import RefusedCallback
from tests.conftest import host_of
from tests.payments.conftest import c2b_payload

POISON = "RKTPOISON1"


def _store(token: str, trans_id: str, bill_ref: str) -> int:
    from payments.inbox import callback_store

    _, inbox_id = callback_store(kind="confirmation", body=c2b_payload(trans_id=trans_id, bill_ref=bill_ref),
                                 token=token)
    return inbox_id


def _refuse_state_change_of(natural_key: str) -> None:
    """What the fault campaign did: a constraint that refuses one row's move to `processed`."""
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE payments_callbackinbox ADD CONSTRAINT poison_row CHECK "
                       "(state <> 'processed' OR natural_key <> %s)", [natural_key])


def test_a_poisoned_row_is_quarantined_while_the_rows_behind_it_are_credited(
        tenant, member, mpesa, scored, published, monkeypatch, client_for, org, org_admin, settings,
        django_capture_on_commit_callbacks):
    from payments import inbox
    from payments.inbox import callback_process, inbox_drain

    retried: list[int] = []
    monkeypatch.setattr(inbox, "callback_enqueue", lambda *, inbox_id, **kw: retried.append(inbox_id))
    _refuse_state_change_of(POISON)
    poison = _store(mpesa.callback_token, POISON, member.account_code)  # the oldest row: the drain takes it first
    behind = [_store(mpesa.callback_token, f"RKTBEHIND{n}", member.account_code) for n in range(4)]

    assert inbox_drain(batch_size=2) == 4  # before: IntegrityError, the whole batch rolled back, every drain again
    assert CallbackInbox.objects.filter(pk__in=behind, state="processed").count() == 4
    assert Transaction.objects.filter(status="verified").count() == 4 and len(scored) == 4
    row = CallbackInbox.objects.get(pk=poison)
    assert (row.state, row.attempts, retried) == ("received", 1, [poison]) and "poison_row" in row.last_error

    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(settings.PAYMENTS_INBOX_QUARANTINE_AFTER - 2):  # its own retries (the task's back-off)
            with pytest.raises(IntegrityError):
                callback_process(inbox_id=poison)
        callback_process(inbox_id=poison)  # the last try quarantines it: nothing left to retry, nothing raised
    row.refresh_from_db()
    assert (row.state, row.attempts) == ("quarantined", settings.PAYMENTS_INBOX_QUARANTINE_AFTER)
    assert Transaction.objects.filter(transaction_id=POISON).count() == 0  # its credit rolled back with it
    refusal = RefusedCallback.objects.get(organization=org)  # the platform owner's list
    assert (refusal.reason, refusal.status_code, refusal.detail.startswith(f"inbox #{poison}")) == (
        "quarantined", 200, True)
    assert inbox_drain() == 0  # the drain moves on: a quarantined row is never taken again by itself

    client = client_for(org)
    client.force_login(org_admin)
    page = client.get("/manage/unmatched/").content.decode()
    assert "Callbacks held back" in page and POISON in page
    assert "Held back after repeated failures" in client.get("/manage/mpesa/").content.decode()

    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the test transaction holds deferred FK checks
        cursor.execute("ALTER TABLE payments_callbackinbox DROP CONSTRAINT poison_row")  # the cause is fixed
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/manage/unmatched/", {"action": "release", "inbox": poison})
    assert response.status_code == 302 and published  # released rows get a kick of their own
    assert inbox_drain() == 1  # retried by hand: credited once
    assert CallbackInbox.objects.get(pk=poison).state == "processed"
    assert Transaction.objects.filter(transaction_id=POISON, status="verified").count() == 1
    assert ScoredDeposit.objects.count() == 5 and len(scored) == 5


def test_a_callback_the_database_refuses_is_answered_400_and_recorded(hook, org, member, mpesa):
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE payments_callbackinbox ADD CONSTRAINT refuse_one CHECK (natural_key <> 'RKTREFUSE1')")
    response = hook("confirmation", c2b_payload(trans_id="RKTREFUSE1", bill_ref=member.account_code))
    assert response.status_code == 400 and response.json()["ResultCode"] == 1  # before: 500, HTML
    refusal = RefusedCallback.objects.get(organization=org)
    assert (refusal.reason, refusal.status_code) == ("bad_payload", 400) and "refuse_one" in refusal.detail
    assert hook("confirmation", c2b_payload(trans_id="RKTFINE001", bill_ref=member.account_code)).status_code == 200
    assert list(CallbackInbox.objects.values_list("natural_key", flat=True)) == ["RKTFINE001"]


@contextmanager
def database_down():
    """Every new query of this thread fails as it does with PostgreSQL stopped (connection refused)."""

    def refused(*args, **kwargs):
        raise OperationalError('connection to server at "127.0.0.1", port 5432 failed: Connection refused')

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(connection, "ensure_connection", refused)
        yield


@pytest.mark.parametrize("path, method", [
    ("/hooks/pay/{token}/c2b/confirmation", "post"),
    ("/api/v1/challenges", "get"),
    ("/api/v1/transactions", "get"),
])
def test_a_database_that_is_down_gets_a_quick_503_json(tenant, mpesa, member, org, path, method):
    from payments.selectors import CALLBACK_PATHS

    path = path.replace("c2b/confirmation", CALLBACK_PATHS["confirmation"]).format(token=mpesa.callback_token)
    client = Client(HTTP_HOST=host_of(org), raise_request_exception=False)
    client.force_login(member)
    body = c2b_payload(trans_id="RKTDOWN001", bill_ref=member.account_code)
    with database_down():
        if method == "post":
            response = client.post(path, data=body, content_type="application/json")
        else:
            response = client.get(path)
    assert response.status_code == 503, response.content[:300]  # before: 500 with Django's HTML page
    assert response["Content-Type"].startswith("application/json") and response["Retry-After"]
    assert b"<html" not in response.content.lower()
