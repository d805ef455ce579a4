"""Daraja callbacks over HTTP: each type with real payloads, replays, auth, malformed bodies."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db import connection

from accounts.phone import phone_sha256
from challenges.models import ScoredDeposit
from payments.models import CallbackInbox, Transaction, TransactionStatusChange
from tests.payments.conftest import (
    c2b_payload,
    status_result_payload,
    stk_failure_payload,
    stk_success_payload,
)

ACCEPTED = {"ResultCode": 0, "ResultDesc": "Accepted"}


def test_confirmation_with_account_code_credits_the_member_once(hook, member, scored):
    body = c2b_payload(trans_id="RKTQDM7W6S", amount="250", bill_ref=f" {member.account_code.lower()} ")
    response = hook("confirmation", body)
    assert response.status_code == 200 and response.json() == ACCEPTED
    tx = Transaction.objects.get(transaction_id="RKTQDM7W6S")
    assert (tx.user, tx.status, tx.amount, tx.source) == (member, "verified", Decimal("250.00"), "c2b")
    assert tx.mpesa_receipt == "RKTQDM7W6S"
    assert tx.transacted_at == datetime(2026, 11, 26, 9, 45, 12, tzinfo=ZoneInfo("Africa/Nairobi"))
    assert scored == [tx.pk]
    assert CallbackInbox.objects.get(natural_key="RKTQDM7W6S").state == "processed"
    assert list(TransactionStatusChange.objects.filter(transaction=tx).values_list("to_status", flat=True)) == ["verified"]

    replay = hook("confirmation", body)
    assert replay.status_code == 200 and replay.json() == ACCEPTED
    assert Transaction.objects.filter(transaction_id="RKTQDM7W6S").count() == 1
    assert CallbackInbox.objects.filter(natural_key="RKTQDM7W6S").count() == 1
    assert scored == [tx.pk]


def test_bill_ref_with_challenge_code_links_the_challenge(hook, member):
    from challenges.models import Challenge

    challenge = Challenge.objects.create(name="Save 1k", type="fixed_amount", target={"amount": 1000, "frequency": "weekly"},
                                         duration_days=28, start_date=datetime(2026, 11, 1).date(), code="K7MX")
    hook("confirmation", c2b_payload(trans_id="RKT0000002", bill_ref=f"{member.account_code} k7mx"))
    tx = Transaction.objects.get(transaction_id="RKT0000002")
    assert (tx.user, tx.challenge) == (member, challenge)


def test_hashed_msisdn_of_a_known_member_matches(hook, member):
    hook("confirmation", c2b_payload(trans_id="RKT0000003", bill_ref="wrong", msisdn=phone_sha256(member.phone_number)))
    assert Transaction.objects.get(transaction_id="RKT0000003").user == member


def test_unknown_payer_goes_to_the_unmatched_queue(hook, member, scored):
    hook("confirmation", c2b_payload(trans_id="RKT0000004", bill_ref="NOBODY"))
    tx = Transaction.objects.get(transaction_id="RKT0000004")
    assert tx.status == "unmatched" and tx.user is None
    assert scored == []


def test_stk_success_and_cancel_callbacks(hook, member, scored):
    ok = Transaction.objects.create(source="stk", amount=Decimal("100"), user=member, status="pending",
                                    checkout_request_id="ws_CO_261120261020363925")
    cancelled = Transaction.objects.create(source="stk", amount=Decimal("50"), user=member, status="pending",
                                           checkout_request_id="ws_CO_261120261020363926")
    assert hook("stk_callback", stk_success_payload(checkout=ok.checkout_request_id, receipt="NLJ7RT61SV")).json() == ACCEPTED
    assert hook("stk_callback", stk_failure_payload(checkout=cancelled.checkout_request_id)).json() == ACCEPTED
    ok.refresh_from_db()
    cancelled.refresh_from_db()
    assert (ok.status, ok.mpesa_receipt, ok.transaction_id) == ("verified", "NLJ7RT61SV", "NLJ7RT61SV")
    assert ok.transacted_at == datetime(2026, 11, 26, 10, 21, 15, tzinfo=ZoneInfo("Africa/Nairobi"))
    assert (cancelled.status, cancelled.result_code) == ("failed", "1032")
    assert scored == [ok.pk]
    # out of order: a late duplicate failure for the paid push changes nothing
    hook("stk_callback", stk_failure_payload(checkout=ok.checkout_request_id))
    ok.refresh_from_db()
    assert ok.status == "verified"


@pytest.mark.parametrize("order", ["stk_first", "c2b_first"])
def test_stk_result_and_c2b_confirmation_of_one_payment_credit_once(hook, member, scored, order):
    push = Transaction.objects.create(source="stk", amount=Decimal("300"), user=member, status="pending",
                                      checkout_request_id="ws_CO_DUAL", bill_ref_number=member.account_code)
    stk = ("stk_callback", stk_success_payload(checkout="ws_CO_DUAL", receipt="QAB1CD2EF3", amount=300))
    c2b = ("confirmation", c2b_payload(trans_id="QAB1CD2EF3", amount="300", bill_ref=member.account_code,
                                       msisdn=phone_sha256(member.phone_number)))
    for kind, body in ([stk, c2b] if order == "stk_first" else [c2b, stk]):
        assert hook(kind, body).json() == ACCEPTED
    rows = Transaction.objects.filter(Q_receipt("QAB1CD2EF3"))
    assert rows.count() == 1
    assert Transaction.objects.filter(status="verified").count() == 1
    push.refresh_from_db()
    assert push.status == "verified" and push.mpesa_receipt == "QAB1CD2EF3"
    assert scored == [push.pk]
    assert ScoredDeposit.objects.count() == 1


def Q_receipt(receipt):
    from django.db.models import Q

    return Q(transaction_id=receipt) | Q(mpesa_receipt=receipt)


def test_transaction_status_result_recovers_a_missing_confirmation(hook, member, scored):
    # validation came, confirmation never did; the reconciler asked Transaction Status
    assert hook("validation", c2b_payload(trans_id="RKTGAP0001", amount="75", bill_ref=member.account_code)).json() == {
        "ResultCode": "0", "ResultDesc": "Accepted"}
    assert not Transaction.objects.exists()
    from payments.models import StatusQuery

    StatusQuery.objects.create(conversation_id="AG_20261126_0001", trans_id="RKTGAP0001")
    assert hook("result", status_result_payload(conversation="AG_20261126_0001", receipt="RKTGAP0001", amount=75)).json() == ACCEPTED
    tx = Transaction.objects.get(transaction_id="RKTGAP0001")
    assert (tx.user, tx.amount, tx.status) == (member, Decimal("75.00"), "verified")
    assert StatusQuery.objects.get().resolved_at is not None
    # the same result again, then the late confirmation: still one credit
    hook("result", status_result_payload(conversation="AG_20261126_0001", receipt="RKTGAP0001", amount=75))
    hook("confirmation", c2b_payload(trans_id="RKTGAP0001", amount="75", bill_ref=member.account_code))
    assert Transaction.objects.count() == 1 and scored == [tx.pk]


def test_status_timeout_is_stored_and_credits_nothing(hook):
    body = {"Result": {"ResultType": 0, "ResultCode": 1, "ResultDesc": "The request timed out",
                       "OriginatorConversationID": "3213-1", "ConversationID": "AG_TIMEOUT_1"}}
    assert hook("timeout", body).json() == ACCEPTED
    assert CallbackInbox.objects.get(kind="timeout").state == "processed"
    assert not Transaction.objects.exists()


def test_strict_validation_rejects_unknown_accounts(hook, mpesa, member):
    mpesa.strict_validation = True
    mpesa.save()
    assert hook("validation", c2b_payload(trans_id="RKTV000001", bill_ref="NOPE99")).json()["ResultCode"] == "C2B00012"
    assert hook("validation", c2b_payload(trans_id="RKTV000002", bill_ref=member.account_code)).json() == {
        "ResultCode": "0", "ResultDesc": "Accepted"}


def test_wrong_token_or_other_orgs_token_stores_nothing(hook, other_org, member):
    from payments.models import MpesaSettings

    org = connection.tenant
    connection.set_tenant(other_org)
    other_token = MpesaSettings.objects.get().callback_token
    connection.set_tenant(org)
    body = c2b_payload(trans_id="RKTWRONG01", bill_ref=member.account_code)
    assert hook("confirmation", body, token="not-the-token").status_code in (403, 404)
    assert hook("confirmation", body, token=other_token).status_code in (403, 404)
    assert not CallbackInbox.objects.exists() and not Transaction.objects.exists()


def test_source_ip_allow_list(hook, member, settings):
    settings.MPESA_ALLOWED_IPS = ["196.201.214.200"]
    assert hook("confirmation", c2b_payload(trans_id="RKTIP00001")).status_code == 403
    assert not CallbackInbox.objects.exists()


@pytest.mark.parametrize("raw", [
    b"{not json", b"[]", b'{"TransID": "X"}', b"",
    b'{"TransactionType": "Pay Bill", "TransID": "RKTBAD0001", "TransTime": "yesterday", "TransAmount": "10",'
    b' "BusinessShortCode": "600000", "MSISDN": "abc"}',
    b'{"TransactionType": "Pay Bill", "TransID": "RKTBAD0002", "TransTime": "20261126094512", "TransAmount": "-5",'
    b' "BusinessShortCode": "600000", "MSISDN": "abc"}',
])
def test_malformed_bodies_are_refused_and_stored_nowhere(hook, raw):
    for kind in ("confirmation", "validation"):
        assert hook(kind, None, raw=raw).status_code == 400
    assert hook("stk_callback", None, raw=raw).status_code == 400
    assert hook("stk_callback", None, raw=b'{"Body": {"stkCallback": {"CheckoutRequestID": "ws_CO_1", "ResultCode": 0}}}').status_code == 400
    assert hook("result", None, raw=b'{"Result": {"ResultCode": 0}}').status_code == 400
    assert not CallbackInbox.objects.exists() and not Transaction.objects.exists()


def test_get_is_not_allowed(client_for, org, mpesa):
    assert client_for(org).get(f"/hooks/pay/{mpesa.callback_token}/c2b/confirmation").status_code == 405
