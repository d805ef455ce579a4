"""The unmatched queue's other outcomes (issue 16.19): it shows the payer, and a payment that is no
member's can be ignored (and reopened) or marked refunded (final), each audited, from the page and the API."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection

from accounts.models import AuditEvent
from payments.models import Transaction, UnmatchedOutcome


@pytest.fixture
def stray(tenant):
    return Transaction.objects.create(
        source="c2b", amount=Decimal("1500"), status="unmatched", transaction_id="RKTSTRAY01",
        mpesa_receipt="RKTSTRAY01", bill_ref_number="WANJIKU", payer_name="WANJIKU K", phone_number="+254712345678")


def _leader(client_for, org, org_admin):
    client = client_for(org)
    client.force_login(org_admin)
    return client


def test_the_queue_shows_the_payer_with_a_masked_phone(client_for, org, org_admin, stray):
    html = _leader(client_for, org, org_admin).get("/manage/unmatched/").content.decode()
    assert "WANJIKU K" in html and "WANJIKU" in html and "1,500" in html
    assert "+2547•••••678" in html and "+254712345678" not in html


def test_a_hashed_phone_is_not_shown(tenant):
    from payments.selectors import payer_phone_masked

    assert payer_phone_masked("9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08") == ""
    assert payer_phone_masked("") == ""


def test_ignore_takes_it_out_of_the_queue_and_reopen_puts_it_back(client_for, org, org_admin, stray):
    client = _leader(client_for, org, org_admin)
    response = client.post("/manage/unmatched/", {"transaction": stray.pk, "action": "ignore", "note": "test payment"})
    assert response.status_code == 302
    html = client.get("/manage/unmatched/").content.decode()
    assert "No unmatched payments" in html and "Ignored and refunded" in html and "test payment" in html
    connection.set_tenant(org)
    stray.refresh_from_db()
    assert (stray.status, stray.amount, stray.user) == ("unmatched", Decimal("1500.00"), None)  # the ledger untouched
    assert AuditEvent.objects.filter(action="transaction.ignored", target_id=str(stray.pk)).count() == 1

    client.post("/manage/unmatched/", {"transaction": stray.pk, "action": "reopen"})
    connection.set_tenant(org)
    assert not UnmatchedOutcome.objects.filter(transaction=stray).exists()
    assert AuditEvent.objects.filter(action="transaction.reopened", target_id=str(stray.pk)).count() == 1
    assert "RKTSTRAY01" in client.get("/manage/unmatched/").content.decode()


def test_a_refunded_payment_can_never_be_credited_or_reopened(client_for, org, org_admin, member, stray):
    client = _leader(client_for, org, org_admin)
    client.post("/manage/unmatched/", {"transaction": stray.pk, "action": "refund", "note": "sent back"})
    connection.set_tenant(org)
    assert UnmatchedOutcome.objects.get(transaction=stray).outcome == "refunded"
    assert AuditEvent.objects.filter(action="transaction.refunded", target_id=str(stray.pk)).count() == 1

    response = client.post("/manage/unmatched/", {"transaction": stray.pk, "member": member.account_code},
                           follow=True)
    assert "refunded to the payer" in response.content.decode()
    response = client.post("/manage/unmatched/", {"transaction": stray.pk, "action": "reopen"}, follow=True)
    assert "Only an ignored payment can be reopened" in response.content.decode()
    connection.set_tenant(org)
    stray.refresh_from_db()
    assert (stray.status, stray.user) == ("unmatched", None)


def test_the_api_closes_and_reopens_and_names_bad_input(api_client_for, org, org_admin, member, stray):
    api = api_client_for(org)
    api.force_authenticate(org_admin)
    bad = api.post(f"/api/v1/transactions/{stray.pk}/close", {"outcome": "lost"}, format="json")
    assert bad.status_code == 400 and "outcome" in bad.json()
    done = api.post(f"/api/v1/transactions/{stray.pk}/close", {"outcome": "ignored", "note": "dup"}, format="json")
    assert done.status_code == 201 and done.json()["outcome"] == "ignored"
    again = api.post(f"/api/v1/transactions/{stray.pk}/close", {"outcome": "refunded"}, format="json")
    assert again.status_code == 400
    refused = api.post(f"/api/v1/transactions/{stray.pk}/assign", {"user": member.pk}, format="json")
    assert refused.status_code == 400
    assert api.post(f"/api/v1/transactions/{stray.pk}/reopen").status_code == 200
    assert api.post(f"/api/v1/transactions/{stray.pk}/assign", {"user": member.pk}, format="json").status_code == 200
    connection.set_tenant(org)
    stray.refresh_from_db()
    assert (stray.status, stray.user) == ("verified", member)


def test_members_cannot_close_payments(api_client_for, org, member, stray):
    api = api_client_for(org)
    api.force_authenticate(member)
    assert api.post(f"/api/v1/transactions/{stray.pk}/close", {"outcome": "ignored"}, format="json").status_code == 403
    connection.set_tenant(org)
    assert not UnmatchedOutcome.objects.filter(transaction=stray).exists()
