"""Members and leaders through whole flows in a real browser: joining a challenge, a deposit moving
the open leaderboard live (C2B confirmation -> callback URL -> Celery worker -> scoring -> Redis ->
SSE), a leader creating and publishing a challenge, and "Save now" against the local Daraja simulator.
Every wait is bounded: a flow that stalls fails instead of hanging."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest

pytestmark = pytest.mark.e2e

LIVE_TIMEOUT_MS = 20_000  # a deposit to the open page: callback + task + scoring + SSE (or a 5 s poll)


def _active_challenge(with_db, org, name="Weekly 500", **fields):
    from challenges.models import Challenge
    from challenges.services import challenge_create, local_today

    with with_db(org):
        return challenge_create(actor=org.admin, name=name, type=Challenge.Type.FIXED_AMOUNT,
                                target={"amount": Decimal("500"), "frequency": "weekly"}, duration_days=28,
                                start_date=local_today() - timedelta(days=1), status=Challenge.Status.ACTIVE, **fields)


def _no_sideways_scroll(page) -> bool:
    return page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth + 1")


@pytest.mark.parametrize("viewport", ["mobile", "desktop"])
def test_member_joins_a_challenge_from_its_page(e2e_org, make_user, new_page, live_site, with_db, shot, viewport):
    member = make_user(e2e_org, name="Akinyi Otieno")
    challenge = _active_challenge(with_db, e2e_org, name="Akiba ya Krismasi")
    page = new_page(viewport, org=e2e_org, user=member)
    page.goto(live_site.url(e2e_org, "/challenges/"))
    shot(page, "challenge-list")
    page.get_by_role("link", name="See the rules and join").click()
    page.wait_for_url(live_site.url(e2e_org, f"/challenges/{challenge.pk}/"))
    assert page.get_by_role("heading", name="How it works").is_visible()
    assert challenge.code in page.locator("main").inner_text()  # how to pay towards it
    assert page.get_by_role("heading", name="My progress").count() == 0
    shot(page, "challenge-detail-before-join")
    page.get_by_role("button", name="Join this challenge").click()
    page.wait_for_load_state()
    assert page.get_by_text("You joined Akiba ya Krismasi.").is_visible()
    assert page.get_by_role("heading", name="My progress").is_visible()
    assert page.get_by_role("button", name="Join this challenge").count() == 0
    progress = page.locator("section[aria-labelledby=progress-heading]").inner_text()
    assert "0 points" in progress and "KES 0.00 saved" in progress, progress
    assert _no_sideways_scroll(page)
    shot(page, "challenge-joined")
    with with_db(e2e_org):
        from challenges.models import Participant

        assert Participant.objects.filter(challenge_id=challenge.pk, user_id=member.pk).count() == 1
    # The list now says so, and the leaderboard has the member on it.
    page.goto(live_site.url(e2e_org, "/challenges/"))
    assert page.locator(".card", has_text="Akiba ya Krismasi").get_by_text("Joined").is_visible()
    page.goto(live_site.url(e2e_org, f"/challenges/{challenge.pk}/leaderboard/"))
    assert "Akinyi Otieno" in page.locator("#rows").inner_text()
    assert page.console_errors == []


def test_a_deposit_moves_the_open_leaderboard_live(e2e_org, make_user, new_page, callbacks_to_live_site, with_db,
                                                   worker, shot):
    from payments.selectors import mpesa_callback_urls
    from payments.simulator import deliver
    from tests.payments.conftest import c2b_payload

    live_site = callbacks_to_live_site
    viewer = make_user(e2e_org, name="Akinyi Otieno", phone="+254712345678")
    rival = make_user(e2e_org, name="Baraka Mwangi", phone="+254733444555")
    challenge = _active_challenge(with_db, e2e_org)
    with with_db(e2e_org):
        from challenges.services import participant_join
        from payments.models import Transaction
        from payments.inbox import deposits_hand_over

        participant_join(challenge=challenge, user=viewer)
        participant_join(challenge=challenge, user=rival)
        from django.utils import timezone

        now = timezone.now()
        first = Transaction.objects.create(user=viewer, amount=Decimal("500"), status="verified", source="c2b",
                                           challenge=challenge, transaction_id="E2EVIEW001", mpesa_receipt="E2EVIEW001",
                                           transacted_at=now, verified_at=now)
        assert deposits_hand_over(transaction_ids=[first.pk]) == [first.pk]

    page = new_page("desktop", org=e2e_org, user=viewer)
    page.goto(live_site.url(e2e_org, f"/challenges/{challenge.pk}/leaderboard/"))
    rows = page.locator("#rows tr")
    assert rows.count() == 2
    assert "Akinyi Otieno" in rows.nth(0).inner_text() and "Baraka Mwangi" in rows.nth(1).inner_text()
    assert rows.nth(0).get_attribute("aria-current") == "true"
    page.evaluate("() => { window.__notReloaded = true; }")
    # The page is listening once its stream said `ready` (the hub registers a stream before it answers).
    page.locator("#live-status[data-live=on]").wait_for(timeout=10_000)
    shot(page, "leaderboard-before")

    # Baraka pays the Paybill with the challenge code; Safaricom confirms to the org's callback URL.
    urls = mpesa_callback_urls(organization=e2e_org)
    from zoneinfo import ZoneInfo

    # paid now: a deposit counts at its TransTime, which must fall inside the running challenge
    paid_at = timezone.now().astimezone(ZoneInfo("Africa/Nairobi")).strftime("%Y%m%d%H%M%S")
    body = c2b_payload(trans_id="TKE2ELIVE1", amount="2000.00", bill_ref=f"{rival.account_code}{challenge.code}",
                       shortcode="600999", trans_time=paid_at)
    assert deliver(urls["confirmation"], body) == 200

    first_row = page.locator("#rows tr").first
    first_row.filter(has_text="Baraka Mwangi").wait_for(timeout=LIVE_TIMEOUT_MS)
    assert "Akinyi Otieno" in page.locator("#rows tr").nth(1).inner_text()
    assert page.locator("#rows tr").nth(1).get_attribute("aria-current") == "true"
    # the live line says the same sentence as the server-rendered one, with the new rank and gap
    page.locator("#me").filter(
        has_text=re.compile(r"You are number 2 with [\d,]+ points\. [\d,]+ points to move up\.")).wait_for(timeout=5_000)
    assert page.evaluate("() => window.__notReloaded === true")  # it moved without a reload
    shot(page, "leaderboard-live")
    with with_db(e2e_org):
        tx = Transaction.objects.get(transaction_id="TKE2ELIVE1")
        assert (tx.user_id, tx.challenge_id, tx.status, tx.amount) == (rival.pk, challenge.pk, "verified", Decimal("2000.00"))
    assert page.console_errors == []


def test_leader_creates_and_publishes_a_challenge(e2e_org, make_user, new_page, live_site, with_db, shot):
    from challenges.services import local_today

    member = make_user(e2e_org)
    with with_db(e2e_org):
        today = local_today()
    admin = new_page("desktop", org=e2e_org, user=e2e_org.admin)
    admin.goto(live_site.url(e2e_org, "/manage/challenges/"))
    assert admin.get_by_text("No challenges yet").is_visible()
    admin.get_by_role("link", name="New challenge").click()
    admin.wait_for_url(re.compile(r"/manage/challenges/new/$"))

    # One set of fields per type, each explained.
    type_select = admin.get_by_label("Type", exact=True)
    type_select.select_option("streak")
    assert admin.get_by_label("Streak length").is_visible() and not admin.get_by_label("Amount per period (KES)").is_visible()
    type_select.select_option("group")
    assert admin.get_by_label("Team goal (KES)").is_visible() and not admin.get_by_label("Streak length").is_visible()
    type_select.select_option("fixed_amount")
    assert admin.get_by_label("Amount per period (KES)").is_visible() and not admin.get_by_label("Team goal (KES)").is_visible()
    assert admin.get_by_text("A period is met when the member's deposits in it add up to this.").is_visible()

    admin.get_by_label("Name", exact=True).fill("Save 500 every week")
    admin.get_by_label("Description", exact=True).fill("Weka akiba kila wiki; the top saver wins a cooking pot.")
    admin.get_by_label("Start date").fill(today.isoformat())
    admin.get_by_label("Duration (days)").fill("28")
    admin.get_by_label("Amount per period (KES)").fill("500")
    admin.get_by_label("Period", exact=True).select_option("weekly")
    admin.get_by_role("button", name="Preview the rules").click()
    admin.wait_for_load_state()
    preview = admin.locator("section.preview")
    assert preview.get_by_role("heading", name="What members will read").is_visible()
    assert "500" in preview.inner_text()
    assert admin.get_by_label("Name", exact=True).input_value() == "Save 500 every week"  # nothing lost
    shot(admin, "manage-challenge-preview")
    with with_db(e2e_org):
        from challenges.models import Challenge

        assert not Challenge.objects.exists()  # a preview saves nothing

    admin.get_by_role("button", name="Save as draft").click()
    admin.wait_for_url(re.compile(r"/manage/challenges/\d+/$"))
    assert "Saved as a draft" in admin.locator(".messages").inner_text()
    pk = int(re.search(r"/manage/challenges/(\d+)/$", admin.url).group(1))
    assert admin.get_by_role("heading", name="Rules as members read them").is_visible()
    shot(admin, "manage-challenge-draft")

    # A draft stays hidden from members.
    page = new_page("mobile", org=e2e_org, user=member)
    page.goto(live_site.url(e2e_org, "/challenges/"))
    assert page.get_by_text("Save 500 every week").count() == 0

    admin.get_by_role("button", name="Publish").click()
    admin.wait_for_url(re.compile(r"/manage/challenges/$"))
    assert "Save 500 every week is now Active." in admin.locator(".messages").inner_text()
    assert admin.get_by_role("link", name="Leaderboard").count() == 1
    shot(admin, "manage-challenges-published")
    with with_db(e2e_org):
        challenge = Challenge.objects.get(pk=pk)
        assert (challenge.status, challenge.type, challenge.start_date, challenge.duration_days) == (
            "active", "fixed_amount", today, 28)
        assert Decimal(str(challenge.target["amount"])) == Decimal("500") and challenge.target["frequency"] == "weekly"

    page.reload()
    card = page.locator(".card", has_text="Save 500 every week")
    assert card.is_visible()
    card.get_by_role("link", name="Save 500 every week").click()
    assert page.get_by_text("Weka akiba kila wiki").is_visible()
    assert page.get_by_role("button", name="Join this challenge").is_visible()
    assert admin.console_errors == [] and page.console_errors == []


@pytest.mark.parametrize("outcome", ["success", "cancel"])
def test_save_now_shows_pending_then_the_result(e2e_org, make_user, new_page, callbacks_to_live_site, with_db,
                                                daraja, worker, shot, outcome):
    live_site = callbacks_to_live_site
    from challenges.services import participant_join

    member = make_user(e2e_org, name="Akinyi Otieno", phone="+254712345678")
    challenge = _active_challenge(with_db, e2e_org)
    with with_db(e2e_org):
        participant_join(challenge=challenge, user=member)  # Save now tags only challenges I joined
    daraja.script = [outcome]
    page = new_page("mobile", org=e2e_org, user=member)
    page.goto(live_site.url(e2e_org, "/save/"))
    assert page.locator("#account-code").inner_text() == member.account_code  # Paybill instructions
    page.get_by_label("Amount (KES)").fill("250")
    page.get_by_label("Towards challenge (optional)").select_option(str(challenge.pk))
    page.get_by_role("button", name="Send the M-Pesa prompt to my phone").click()
    page.wait_for_url(re.compile(r"/save/\?tx=\d+$"))
    message = page.locator("#payment-message")
    assert "status-pending" in message.get_attribute("class")
    assert "enter your M-Pesa PIN" in message.inner_text()
    if outcome == "success":
        shot(page, "save-now-pending")
    (path, sent), = [c for c in daraja.calls if c[0].endswith("stkpush/v1/processrequest")]
    assert (sent["Amount"], sent["PhoneNumber"]) == (250, "254712345678")
    assert sent["AccountReference"] == f"{member.account_code}{challenge.code}"

    expected = {"success": ("status-verified", "Payment received. Thank you!"), "cancel": ("status-failed", None)}[outcome]
    page.locator(f"#payment-message.{expected[0]}").wait_for(timeout=LIVE_TIMEOUT_MS)
    if expected[1]:
        assert message.inner_text() == expected[1]
    shot(page, f"save-now-{'confirmed' if outcome == 'success' else 'cancelled'}")
    with with_db(e2e_org):
        from payments.models import Transaction

        tx = Transaction.objects.get(user_id=member.pk, source="stk")
        assert tx.status == ("verified" if outcome == "success" else "failed")
        assert tx.challenge_id == challenge.pk and tx.amount == Decimal("250.00")
    page.get_by_role("link", name="My transactions").click()
    row = page.locator("table tbody tr, .tx-list li, ul li").filter(has_text="250")
    assert row.count() >= 1
    assert ("Verified" if outcome == "success" else "Failed") in page.locator("main").inner_text()
    if outcome == "success":
        shot(page, "transactions-after-save")
    assert page.console_errors == []


def _seed_screens(with_db, org, make_user):
    """A small, believable organization: a running challenge, three savers, scored deposits, one
    payment nobody matched."""
    from django.utils import timezone

    members = [make_user(org, name=name, phone=phone) for name, phone in (
        ("Akinyi Otieno", "+254712345678"), ("Baraka Mwangi", "+254733444555"), ("Chebet Kiprop", "+254701222333"))]
    challenge = _active_challenge(with_db, org, name="Akiba ya Krismasi",
                                  description="Save KES 500 every week until Christmas.")
    with with_db(org):
        from challenges.services import participant_join
        from payments.models import Transaction
        from payments.inbox import deposits_hand_over

        now = timezone.now()
        for n, (member, amount) in enumerate(zip(members, ("750", "1200", "300"))):
            participant_join(challenge=challenge, user=member)
            tx = Transaction.objects.create(user=member, amount=Decimal(amount), status="verified", source="c2b",
                                            challenge=challenge, transaction_id=f"TKSHOT00{n}",
                                            mpesa_receipt=f"TKSHOT00{n}", bill_ref_number=member.account_code,
                                            phone_number=member.phone_number, transacted_at=now, verified_at=now)
            deposits_hand_over(transaction_ids=[tx.pk])
        Transaction.objects.create(user=None, amount=Decimal("450"), status="unmatched", source="c2b",
                                   transaction_id="TKSHOTX99", mpesa_receipt="TKSHOTX99", bill_ref_number="WRONG1",
                                   payer_name="John", phone_number="5f2b" + "0" * 60, transacted_at=now)
    return members, challenge


@pytest.mark.parametrize("viewport", ["mobile", "desktop"])
def test_key_screens(e2e_org, make_user, new_page, live_site, with_db, shot, viewport):
    """Every key screen renders for its user without errors or sideways scrolling; each is saved as a
    screenshot (test-artifacts/screenshots/<name>-<viewport>.png)."""
    members, challenge = _seed_screens(with_db, e2e_org, make_user)
    member, admin = members[0], e2e_org.admin
    screens = {
        "home": (member, "/", "Akiba ya Krismasi"),
        "challenge-detail": (member, f"/challenges/{challenge.pk}/", "My progress"),
        "leaderboard": (member, f"/challenges/{challenge.pk}/leaderboard/", "Baraka Mwangi"),
        "badges": (member, "/badges/", None),
        "transactions": (member, "/transactions/", "750"),
        "save-now": (member, "/save/", member.account_code),
        "manage-overview": (admin, "/manage/", None),
        "manage-challenges": (admin, "/manage/challenges/", "Akiba ya Krismasi"),
        "manage-challenge-new": (admin, "/manage/challenges/new/", "Preview the rules"),
        "manage-challenge-edit": (admin, f"/manage/challenges/{challenge.pk}/", "Rules as members read them"),
        "manage-analytics": (admin, "/manage/analytics/", None),
        "manage-transactions": (admin, "/manage/transactions/", "TKSHOT001"),
        "manage-unmatched": (admin, "/manage/unmatched/", "TKSHOTX99"),
        "manage-settings": (admin, "/manage/settings/", "Live preview"),
    }
    for name, (user, path, expected) in screens.items():
        page = new_page(viewport, org=e2e_org, user=user)
        response = page.goto(live_site.url(e2e_org, path))
        assert response.status == 200, name
        if name != "leaderboard":  # its event stream never lets the network go idle
            page.wait_for_load_state("networkidle")
        if expected:
            assert expected in page.locator("main").inner_text(), name
        assert page.console_errors == [], (name, page.console_errors)
        assert _no_sideways_scroll(page), name
        shot(page, name)
        page.context.close()


def test_member_screens_in_kiswahili(e2e_org, make_user, new_page, live_site, with_db, shot):
    """A member who chose Kiswahili reads the challenge, leaderboard, badges and Save now pages in it."""
    members, challenge = _seed_screens(with_db, e2e_org, make_user)
    member = members[0]
    with with_db(e2e_org):
        from accounts.models import User

        User.objects.filter(pk=member.pk).update(language="sw")
    page = new_page("mobile", org=e2e_org, user=member)
    screens = {
        "challenge-detail-sw": (f"/challenges/{challenge.pk}/", ["Jinsi inavyofanya kazi", "Maendeleo yangu"],
                                ["How it works", "periods met"]),
        "leaderboard-sw": (f"/challenges/{challenge.pk}/leaderboard/", ["Msimamo", "Wewe ni nambari 2"],
                           ["Updates live", "points to move up"]),
        "badges-sw": ("/badges/", ["Beji", "Jinsi ya kupata"], ["Still to earn", "How to earn"]),
        "save-now-sw": ("/save/", ["Tuma ombi la M-Pesa kwenye simu yangu"], ["Send the M-Pesa prompt"]),
    }
    for name, (path, present, absent) in screens.items():
        page.goto(live_site.url(e2e_org, path))
        assert page.locator("html").get_attribute("lang") == "sw", name
        text = page.locator("main").inner_text()
        for words in present:
            assert words in text, (name, words)
        for words in absent:
            assert words not in text, (name, words)
        shot(page, name)
    assert page.console_errors == []
