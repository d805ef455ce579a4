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
