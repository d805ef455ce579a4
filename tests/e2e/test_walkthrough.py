"""Issue 16's walk-through of a leader, a member and the platform owner, screen by screen, in a real
browser at 360 px and on a desktop: each test is one thing a real group tripped over."""

from __future__ import annotations

import pytest

from tests.e2e.test_shell import _challenge, _deposit

pytestmark = pytest.mark.e2e

VIEWPORTS = ["mobile", "desktop"]


def _fits(page) -> bool:
    return page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_broadcast_page_says_who_was_skipped_and_why(e2e_org, make_user, new_page, live_site, with_db, shot, viewport):
    from notifications.models import Broadcast
    from notifications.services import broadcast_create, fanout_step, preference_opt_out

    make_user(e2e_org, name="Baraka Mwangi", phone="+254712000003")
    opted = [make_user(e2e_org, name=n, phone=p) for n, p in (("Otieno Ouma", "+254712000001"),
                                                                ("Achieng Atieno", "+254712000002"))]
    with with_db(e2e_org):
        for user in opted:
            preference_opt_out(user_id=user.pk, reason="member choice")
        row = broadcast_create(actor=e2e_org.admin, message="Meeting on Saturday at 10", audience="all")
        # the fan-out a worker would run
        fanout_step(template="broadcast", audience="members", context={"message": row.message},
                    key_prefix=f"bc{row.pk}", after_id=0, broadcast_id=row.pk)
        assert Broadcast.objects.get(pk=row.pk).notifications.filter(status="skipped").count() == 2
    page = new_page(viewport, org=e2e_org, user=e2e_org.admin)
    assert page.goto(live_site.url(e2e_org, "/manage/notifications/")).status == 200
    page.locator(".skipped-reasons summary").first.click()
    text = page.locator(".skipped-reasons").first.inner_text()
    assert "Opted out of SMS: 2" in text and "Achieng Atieno, Otieno Ouma" in text
    assert _fits(page)
    page.locator(".skipped-reasons").first.scroll_into_view_if_needed()
    shot(page, "manage-broadcast-skipped")


def _make_challenge(with_db, org, *, name, start, days=28, kind="fixed_amount", target=None):
    from challenges.models import Challenge

    with with_db(org):
        return Challenge.objects.create(name=name, type=kind, target=target or {"amount": 500, "frequency": "weekly"},
                                        duration_days=days, start_date=start, status="active")


def _next_monday():
    from datetime import timedelta

    from django.utils import timezone

    today = timezone.localdate()
    return today + timedelta(days=7 - today.weekday())


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_my_status_leads_and_upcoming_challenges_say_when_they_start(e2e_org, make_user, new_page, live_site, with_db,
                                                                     shot, viewport):
    """Issue 16.5 and 16.6: a failed challenge is not 'Active', an upcoming one is not 'Running now'."""
    from datetime import timedelta

    from django.utils import timezone

    from challenges.models import Participant
    from challenges.services import participant_join

    member = make_user(e2e_org)
    today = timezone.localdate()
    weekly = _challenge(with_db, e2e_org)
    lost = _make_challenge(with_db, e2e_org, name="November sprint", start=today - timedelta(days=20))
    monday = _next_monday()
    december = _make_challenge(with_db, e2e_org, name="December 1000 a week", start=monday,
                               target={"amount": 1000, "frequency": "weekly"})
    with with_db(e2e_org):
        for c in (weekly, lost):
            participant_join(challenge=c, user=member)
        Participant.objects.filter(challenge=lost).update(status=Participant.Status.FAILED)
    page = new_page(viewport, org=e2e_org, user=member)
    page.goto(live_site.url(e2e_org, "/"))
    assert page.locator("article.card").first.locator("[data-standing]").first.inner_text() in ("On track", "At risk")
    assert page.locator("article.card", has_text="November sprint").count() == 0
    assert page.locator(".list-plain", has_text="November sprint").locator("[data-standing=failed]").is_visible()
    assert _fits(page)
    page.locator("#active-h").scroll_into_view_if_needed()
    shot(page, "home-standing")
    page.goto(live_site.url(e2e_org, "/challenges/"))
    starts = f"Starts {monday.strftime('%a')} {monday.day} {monday.strftime('%b')}"
    assert page.locator("#upcoming-heading ~ ul", has_text="December 1000 a week").get_by_text(starts).is_visible()
    assert page.locator("#active-heading ~ ul", has_text="December 1000 a week").count() == 0
    assert _fits(page)
    shot(page, "challenges-upcoming")
    page.goto(live_site.url(e2e_org, f"/challenges/{december.pk}/"))
    page.get_by_role("button", name="Join ahead").click()
    page.wait_for_load_state()
    with with_db(e2e_org):
        assert Participant.objects.filter(challenge=december, user=member).exists()
    assert page.get_by_text(starts).first.is_visible()
    assert page.console_errors == []
