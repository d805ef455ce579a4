"""Issue 16 item 15: badge icons are SVG, never emoji text, on the pages that show badges."""

from __future__ import annotations

import re

from web.templatetags.icons import BADGE_ICONS, PATHS, badge_icon


def test_every_system_badge_has_its_own_drawn_icon(tenant):
    from tenants.models import SystemBadge

    emoji = {b.icon.replace("\ufe0f", "") for b in SystemBadge.objects.all()}
    assert len(emoji) >= 18
    assert emoji <= set(BADGE_ICONS), emoji - set(BADGE_ICONS)
    assert all(name in PATHS for name in BADGE_ICONS.values())
    assert "<svg" in badge_icon("🖐️") and badge_icon("🖐️") != badge_icon("🦄") == badge_icon("")  # unknown: award


def test_the_badges_page_draws_svgs_and_prints_no_emoji(client_for, org, tenant):
    from accounts.factories import UserFactory

    member = UserFactory()
    client = client_for(org)
    client.force_login(member)
    html = client.get("/badges/").content.decode()
    cells = re.findall(r'<span class="award-icon" aria-hidden="true">(.*?)</span>', html, re.S)
    assert len(cells) >= 18 and all(cell.startswith("<svg") for cell in cells)
    assert not any(e in html for e in BADGE_ICONS if e != "★")
