"""Issue 16.19 in a real browser, at 360 px and on a desktop: the unmatched queue shows who paid, and a
payment that is no member's is ignored (then reopened) without a dead end or a sideways page."""

from __future__ import annotations

from decimal import Decimal

import pytest

pytestmark = pytest.mark.e2e


def _fits(page) -> bool:
    return page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")


@pytest.mark.parametrize("viewport", ["mobile", "desktop"])
def test_leader_ignores_a_stray_payment_and_reopens_it(e2e_org, new_page, live_site, with_db, shot, viewport):
    from payments.models import Transaction, UnmatchedOutcome

    with with_db(e2e_org):
        tx = Transaction.objects.create(
            source="c2b", amount=Decimal("2650"), status="unmatched", transaction_id=f"RKTE2E{viewport[:3].upper()}",
            mpesa_receipt=f"RKTE2E{viewport[:3].upper()}", bill_ref_number="MAMA MBOGA", payer_name="GRACE W",
            phone_number="+254722000111")
    page = new_page(viewport, org=e2e_org, user=e2e_org.admin)
    assert page.goto(live_site.url(e2e_org, "/manage/unmatched/")).status == 200
    row = page.locator("tr", has_text=tx.mpesa_receipt)
    assert "GRACE W" in row.inner_text() and "+2547•••••111" in row.inner_text()
    assert _fits(page)
    row.locator("summary").click()
    row.locator("input[name=note]").fill("paid twice by mistake, told her")
    shot(page, "manage-unmatched-outcomes")
    row.get_by_role("button", name="Ignore").click()
    page.wait_for_load_state()
    assert "Payment marked as ignored." in page.inner_text("body")
    closed = page.locator("#closed")
    assert "paid twice by mistake" in closed.inner_text() and _fits(page)
    closed.get_by_role("button", name="Reopen").click()
    page.wait_for_load_state()
    assert "Payment back in the unmatched queue." in page.inner_text("body")
    with with_db(e2e_org):
        assert not UnmatchedOutcome.objects.filter(transaction_id=tx.pk).exists()
    assert page.console_errors == []


@pytest.mark.parametrize("viewport", ["mobile", "desktop"])
def test_leader_records_a_cash_deposit_from_the_ledger(e2e_org, make_user, new_page, live_site, with_db, shot,
                                                       viewport):
    """Issue 16.17: from Transactions, record the cash a member paid at the meeting; it is credited once."""
    from payments.models import Transaction

    member = make_user(e2e_org, name="Mama Akinyi", phone=f"+2547120009{'01' if viewport == 'mobile' else '02'}")
    page = new_page(viewport, org=e2e_org, user=e2e_org.admin)
    assert page.goto(live_site.url(e2e_org, "/manage/transactions/")).status == 200
    page.get_by_role("link", name="Record a cash deposit").click()
    page.fill("#id_member", member.account_code)
    page.fill("#id_amount", "1200")
    page.fill("#id_note", "Saturday meeting")
    assert _fits(page)
    shot(page, "manage-cash-deposit")
    page.get_by_role("button", name="Record deposit").click()
    page.wait_for_load_state()
    assert "KES 1,200.00 credited to Mama Akinyi" in page.inner_text("body")
    assert "Saturday meeting" not in page.locator("#pending").inner_text()
    page.go_back()  # Back and submit again: a second form, so the page asks before recording it twice
    assert page.input_value("#id_amount") == "1200"
    page.fill("#id_member", member.account_code)  # autocomplete=off: the browser does not restore this one
    with page.expect_navigation():
        page.get_by_role("button", name="Record deposit").click()
    assert "a few minutes ago" in page.locator("#record").inner_text()
    with with_db(e2e_org):
        assert Transaction.objects.filter(source="manual", user=member).count() == 1
    page.check("#id_confirm_repeat")  # it really was a second payment
    with page.expect_navigation():
        page.get_by_role("button", name="Record deposit").click()
    assert "KES 1,200.00 credited to Mama Akinyi" in page.inner_text("body")
    with with_db(e2e_org):
        assert Transaction.objects.filter(source="manual", user=member).count() == 2
    assert _fits(page) and page.console_errors == []
