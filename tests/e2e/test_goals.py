"""Personal goals and streak freezes in the member's screens, in Debian chromium at 360 px (issue 18)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

pytestmark = pytest.mark.e2e


def _no_sideways_scroll(page) -> bool:
    return page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth + 1")


def test_a_member_sets_a_goal_and_sees_what_to_save_each_week(e2e_org, make_user, new_page, live_site, with_db,
                                                               shot):
    from challenges.services import local_today

    member = make_user(e2e_org, name="Akinyi Otieno")
    page = new_page("mobile", org=e2e_org, user=member)
    page.goto(live_site.url(e2e_org, "/"))
    home_goals = page.locator("[data-home-goals]")
    assert "Saving for something?" in home_goals.inner_text()
    home_goals.get_by_role("link", name="Set a goal").first.click()
    page.wait_for_url(live_site.url(e2e_org, "/goals/"))
    with with_db(e2e_org):
        due = local_today() + timedelta(days=27)  # four weeks from today
    page.get_by_label("What are you saving for?").fill("School fees")
    page.get_by_label("Target amount (KES)").fill("4000")
    page.get_by_label("By when (optional)").fill(due.isoformat())
    page.get_by_label("How often will you save?").select_option("weekly")
    shot(page, "goal-new")
    page.get_by_role("button", name="Set my goal").click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", name="School fees", level=1).is_visible()
    assert page.get_by_text("Your goal is set. Every deposit now counts toward it.").is_visible()
    assert page.locator("[data-per-week]").inner_text() == "Save KES 1,000.00 a week to make it by the date."
    assert "Only you see this goal's name" in page.locator("[data-goal-shared]").inner_text()
    assert "Earn it back" in page.locator("main").inner_text()
    assert _no_sideways_scroll(page)
    shot(page, "goal-detail")
    # it pays in like any challenge: a deposit shows on home as progress
    with with_db(e2e_org):
        from challenges.services import deposit_score
        from payments.models import Transaction
        from django.utils import timezone

        tx = Transaction.objects.create(user_id=member.pk, amount=Decimal("1000"), status="verified", source="c2b",
                                        transaction_id="GOALE2E001", mpesa_receipt="GOALE2E001",
                                        transacted_at=timezone.now(), verified_at=timezone.now())
        deposit_score(transaction_id=tx.pk)
    page.goto(live_site.url(e2e_org, "/"))
    card = page.locator("[data-home-goals] article")
    assert card.count() == 1
    text = card.inner_text()
    assert "School fees" in text and "25% done" in text, text
    assert "Save KES 750.00 a week" in text, text  # 3,000 left over the 4 weeks
    assert _no_sideways_scroll(page)
    shot(page, "goal-home")
    # sharing the name with leaders is the member's choice
    card.get_by_role("link", name="School fees").click()
    page.get_by_role("button", name="Share the name with leaders").click()
    page.wait_for_load_state()
    assert "leaders can see this goal's name" in page.locator("[data-goal-shared]").inner_text()


def test_a_streak_challenge_shows_the_freeze_earned_and_the_earn_back_rule(e2e_org, make_user, new_page, live_site,
                                                                           with_db, shot):
    from challenges.models import Challenge
    from challenges.services import challenge_create, deposit_score, local_today, participant_join

    member = make_user(e2e_org, name="Baraka Mwangi")
    with with_db(e2e_org):
        from django.utils import timezone

        from payments.models import Transaction

        today = local_today()
        monday = today - timedelta(days=today.weekday()) - timedelta(weeks=4)
        challenge = challenge_create(actor=e2e_org.admin, name="Kila wiki", type=Challenge.Type.STREAK,
                                     target={"consecutive_weeks": 8, "min_amount": "100"}, duration_days=70,
                                     start_date=monday, status=Challenge.Status.DRAFT)
        Challenge.objects.filter(pk=challenge.pk).update(status=Challenge.Status.ACTIVE)
        challenge.refresh_from_db()
        participant_join(challenge=challenge, user=member)
        for week in range(4):
            when = timezone.now() - timedelta(weeks=4 - week)
            when = when.replace(hour=9)
            tx = Transaction.objects.create(user_id=member.pk, amount=Decimal("150"), status="verified",
                                            source="c2b", transaction_id=f"FRZE2E{week:04d}",
                                            mpesa_receipt=f"FRZE2E{week:04d}", transacted_at=when, verified_at=when)
            deposit_score(transaction_id=tx.pk)
    page = new_page("mobile", org=e2e_org, user=member)
    page.goto(live_site.url(e2e_org, f"/challenges/{challenge.pk}/"))
    freezes = page.locator("[data-freezes]")
    assert "1 streak freeze held (at most 2)" in freezes.inner_text()
    rules = page.locator("section[aria-labelledby=rules-heading]").inner_text()
    assert "Save 4 weeks in a row to earn a streak freeze" in rules
    assert "Earn it back" in rules and "KES 200.00" in rules
    assert _no_sideways_scroll(page)
    shot(page, "streak-freeze")
