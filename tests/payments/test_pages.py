"""payments pages over HTTP: member transactions, Save now (with the simulator), leader ledger/CSV/unmatched/settings."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection

from payments.models import MpesaSettings, Transaction
from tests.payments.test_stk_push import simulator  # noqa: F401  (fixture)


@pytest.fixture
def rows(tenant, member):
    Transaction.objects.create(source="c2b", amount=Decimal("120"), user=member, status="verified",
                               transaction_id="RKTPAGE001", mpesa_receipt="RKTPAGE001")
    Transaction.objects.create(source="c2b", amount=Decimal("999"), status="unmatched", transaction_id="RKTPAGE002",
                               mpesa_receipt="RKTPAGE002", bill_ref_number="TYPO1")


def _client(client_for, org, user):
    client = client_for(org)
    client.force_login(user)
    return client


def test_member_sees_only_their_transactions(client_for, org, member, rows):
    page = _client(client_for, org, member).get("/transactions/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "RKTPAGE001" in html and "RKTPAGE002" not in html


def test_empty_state(client_for, org, member, tenant):
    html = _client(client_for, org, member).get("/transactions/").content.decode()
    assert "No transactions yet" in html


def test_pages_need_login_and_the_right_role(client_for, org, member, rows):
    assert client_for(org).get("/transactions/").status_code == 302
    for path in ("/manage/transactions/", "/manage/unmatched/", "/manage/mpesa/"):
        assert _client(client_for, org, member).get(path).status_code == 403


def test_save_now_shows_paybill_instructions_and_starts_a_push(client_for, org, member, simulator):  # noqa: F811
    client = _client(client_for, org, member)
    html = client.get("/save/").content.decode()
    connection.set_tenant(org)
    assert MpesaSettings.objects.get().shortcode in html and member.account_code in html
    response = client.post("/save/", {"amount": "250"})
    assert response.status_code == 302 and "?tx=" in response["Location"]
    connection.set_tenant(org)
    tx = Transaction.objects.get(source="stk")
    assert (tx.amount, tx.status) == (Decimal("250.00"), "pending")
    assert "Check your phone" in client.get(response["Location"]).content.decode()
    status = client.get(f"/save/status/{tx.pk}").json()
    assert status["status"] == "pending" and status["amount"] == "250.00"
    assert client.post("/save/", {"amount": "12.5"}).status_code == 400


def test_leader_filters_and_exports_csv(client_for, org, org_admin, rows):
    client = _client(client_for, org, org_admin)
    html = client.get("/manage/transactions/", {"status": "unmatched"}).content.decode()
    assert "RKTPAGE002" in html and "RKTPAGE001" not in html
    csv_response = client.get("/manage/transactions/", {"format": "csv"})
    assert csv_response["Content-Type"].startswith("text/csv")
    lines = csv_response.content.decode().strip().splitlines()
    assert lines[0].startswith("id,created_at") and len(lines) == 3


def test_leader_assigns_an_unmatched_payment_from_the_page(client_for, org, org_admin, member, rows):
    client = _client(client_for, org, org_admin)
    assert "RKTPAGE002" in client.get("/manage/unmatched/").content.decode()
    connection.set_tenant(org)
    tx = Transaction.objects.get(transaction_id="RKTPAGE002")
    response = client.post("/manage/unmatched/", {"transaction": tx.pk, "member": member.account_code.lower()})
    assert response.status_code == 302
    connection.set_tenant(org)
    tx.refresh_from_db()
    assert (tx.user, tx.status) == (member, "verified")
    assert "No unmatched payments" in client.get("/manage/unmatched/").content.decode()


def test_mpesa_settings_page_masks_secrets(client_for, org, org_admin, tenant):
    client = _client(client_for, org, org_admin)
    response = client.post("/manage/mpesa/", {"action": "save", "shortcode": "600777", "shortcode_type": "paybill",
                                              "environment": "simulator", "passkey": "a-very-long-passkey-XYZ9"})
    assert response.status_code == 302
    html = client.get("/manage/mpesa/").content.decode()
    assert "a-very-long-passkey" not in html and "XYZ9" in html and "600777" in html
    assert "/hooks/pay/" in html


def test_history_is_newest_first_by_when_the_payment_was_made(client_for, org, org_admin, member, tenant):
    """Issue 16.9: a 13 Nov deposit whose row was written last was listed above the 2 Dec ones."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    nairobi = ZoneInfo("Africa/Nairobi")
    for receipt, day in (("RKTDEC02A", 2), ("RKTDEC02B", 2), ("RKTNOV13", None)):
        when = datetime(2026, 12, day, 9, 0, tzinfo=nairobi) if day else datetime(2026, 11, 13, 9, 0, tzinfo=nairobi)
        Transaction.objects.create(source="c2b", amount=Decimal("100"), user=member, status="verified",
                                   transaction_id=receipt, mpesa_receipt=receipt, transacted_at=when, verified_at=when)
    for user in (member, org_admin):
        html = _client(client_for, org, user).get("/transactions/" if user == member else "/manage/transactions/").content.decode()
        order = sorted(("RKTDEC02A", "RKTDEC02B", "RKTNOV13"), key=html.index)
        assert order == ["RKTDEC02B", "RKTDEC02A", "RKTNOV13"], (user.role, order)
