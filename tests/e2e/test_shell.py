"""The shell in a real browser: branding, Kiswahili, offline progress, tenant isolation, weight."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

import json

from tests.e2e.conftest import fetch_in_page, page_weight

pytestmark = pytest.mark.e2e

PAGE_BUDGET = 100 * 1024  # HTML + CSS + JS, before images


def _deposit(with_db, org, user, amount, challenge=None):
    from django.utils import timezone

    from payments.models import Transaction

    with with_db(org):
        now = timezone.now()
        return Transaction.objects.create(user=user, amount=Decimal(amount), status="verified", source="c2b",
                                          challenge=challenge,
                                          transaction_id=f"E2E{user.pk}{now.timestamp():.0f}{amount}",
                                          transacted_at=now, verified_at=now)


def _png() -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (48, 48), (250, 204, 21)).save(out, format="PNG")
    return out.getvalue()


def _challenge(with_db, org, name="Weekly 500"):
    from challenges.models import Challenge
    from tenants.calendar import local_today, week_start

    with with_db(org):  # from this week's Monday: started last week, it would have missed a period on a Monday
        return Challenge.objects.create(name=name, type="fixed_amount", target={"amount": 500, "frequency": "weekly"},
                                        duration_days=28, start_date=week_start(local_today()), status="active")


def test_branding_change_shows_on_the_member_site(e2e_org, make_user, new_page, live_site, shot):
    member = make_user(e2e_org)
    admin = new_page("desktop", org=e2e_org, user=e2e_org.admin)
    admin.goto(live_site.url(e2e_org, "/manage/settings/"))
    assert admin.get_by_role("heading", name="Settings").is_visible()
    admin.get_by_label("Organization name").fill("Pamoja Savers")
    admin.get_by_label("Main colour").fill("#7c3aed")
    admin.get_by_label("Tagline").fill("Tuweke akiba pamoja")
    admin.get_by_label("Logo").set_input_files(files=[{"name": "logo.png", "mimeType": "image/png", "buffer": _png()}])
    # The preview follows before anything is saved, with readable text on the new colour.
    preview = admin.locator("#brand-preview")
    assert preview.locator("[data-preview-name]").inner_text() == "Pamoja Savers"
    assert preview.evaluate("el => getComputedStyle(el).getPropertyValue('--primary').trim()") == "#7c3aed"
    assert preview.evaluate("el => getComputedStyle(el).getPropertyValue('--on-primary').trim()") == "#ffffff"
    shot(admin, "manage-settings")
    admin.get_by_role("button", name="Save settings").click()
    admin.wait_for_load_state()
    assert "Settings saved" in admin.locator(".messages").inner_text()
    assert admin.console_errors == []

    page = new_page("mobile", org=e2e_org, user=member)
    page.goto(live_site.url(e2e_org, "/"))
    header = page.locator(".site-header")
    assert header.evaluate("el => getComputedStyle(el).backgroundColor") == "rgb(124, 58, 237)"
    assert header.evaluate("el => getComputedStyle(el).color") == "rgb(255, 255, 255)"
    assert "Pamoja Savers" in page.title() and page.locator(".brand span:not(.mark)").inner_text() == "Pamoja Savers"
    assert "Tuweke akiba pamoja" in page.locator("footer").inner_text()
    logo = page.locator(".brand img")
    assert logo.evaluate("img => img.complete && img.naturalWidth") == 48  # the uploaded logo, served
    manifest = json.loads(fetch_in_page(page, "/manifest.webmanifest")["text"])
    assert manifest["name"] == "Pamoja Savers" and manifest["theme_color"] == "#7c3aed"
    favicon = fetch_in_page(page, "/favicon.svg")["text"]
    assert 'fill="#7c3aed"' in favicon and ">P</text>" in favicon
    assert page.console_errors == []


def test_kiswahili_switch(e2e_org, make_user, new_page, live_site, with_db, shot):
    member = make_user(e2e_org)
    _deposit(with_db, e2e_org, member, "300", challenge=_challenge(with_db, e2e_org))
    page = new_page("mobile", org=e2e_org, user=member)
    page.goto(live_site.url(e2e_org, "/"))
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.get_by_role("heading", name="Active challenges").is_visible()
    page.locator(".lang-form button[value=sw]").click()
    page.wait_for_url(re.compile(r"/$"))
    assert page.locator("html").get_attribute("lang") == "sw"
    assert page.get_by_role("heading", name="Changamoto zinazoendelea").is_visible()
    assert page.locator(".bottom-nav").get_by_text("Nyumbani").is_visible()
    assert page.locator(".lang-form button[value=sw]").get_attribute("aria-pressed") == "true"
    shot(page, "home-sw")
    page.reload()
    assert page.locator("html").get_attribute("lang") == "sw"  # remembered on the member's profile
    with with_db(e2e_org):
        member.refresh_from_db()
    assert member.language == "sw"
    assert page.console_errors == []

    # A browser that asks for Kiswahili first gets it before anyone chooses.
    stranger = new_page("mobile", locale="sw-KE")
    stranger.goto(live_site.url(e2e_org, "/offline/"))
    assert stranger.locator("html").get_attribute("lang") == "sw"
    assert "Huna mtandao" in stranger.locator("main").inner_text()


def test_progress_stays_viewable_offline(e2e_org, make_user, new_page, live_site, with_db, shot):
    from challenges.services import deposit_score, participant_join

    member = make_user(e2e_org)
    challenge = _challenge(with_db, e2e_org, name="Akiba ya Krismasi")
    with with_db(e2e_org):
        participant, _ = participant_join(challenge=challenge, user=member)
    deposit = _deposit(with_db, e2e_org, member, "750", challenge=challenge)
    with with_db(e2e_org):
        deposit_score(transaction_id=deposit.pk)
        participant.refresh_from_db()
        # the ring shows the member's own progress in the challenge they joined
        expected_ring = f"{int(Decimal(participant.progress['ratio']) * 100)}%"
    assert participant.progress["periods_met"] == 1 and expected_ring != "0%"
    page = new_page("mobile", org=e2e_org, user=member)
    home = live_site.url(e2e_org, "/")
    page.goto(home)
    # Wait until the service worker controls the page, then load once through it so it is kept.
    page.evaluate("() => navigator.serviceWorker.ready")
    page.reload()
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")
    page.reload()
    assert page.locator("[data-total]").inner_text() == "KES 750.00"

    page.context.set_offline(True)
    page.goto(home)
    assert page.locator("html").get_attribute("data-offline") is not None
    banner = page.locator("#offline-banner")
    assert banner.is_visible() and "Last synced" in banner.inner_text()
    assert re.search(r"\d", banner.locator("[data-synced]").inner_text())
    assert page.locator("[data-total]").inner_text() == "KES 750.00"
    assert page.get_by_role("link", name="Akiba ya Krismasi").is_visible()
    assert page.locator(".ring").first.inner_text() == expected_ring
    shot(page, "offline-home")

    # A page that was never kept falls back to the offline page, which says when we last synced.
    page.goto(live_site.url(e2e_org, "/profile/"))
    assert page.get_by_text("You are offline").first.is_visible()
    assert re.search(r"\d", page.locator("[data-last-synced]").inner_text())
    page.context.set_offline(False)


def test_one_organizations_admin_cannot_open_anothers_pages(e2e_org_factory, new_page, live_site, sign_in):
    org_a = e2e_org_factory(name="Org A")
    org_b = e2e_org_factory(name="Org B")  # its admin even has the same phone number
    page = new_page("desktop", org=org_a, user=org_a.admin)
    page.goto(live_site.url(org_a, "/manage/settings/"))
    assert page.get_by_text("Live preview").is_visible()
    session = [c for c in page.context.cookies() if c["name"] == "sessionid"][0]["value"]

    # The browser never sends A's cookie to B's host; even planted there it is worth nothing.
    page.goto(live_site.url(org_b, "/manage/settings/"))
    assert "/login/" in page.url and not page.get_by_text("Live preview").count()
    page.context.add_cookies([{"name": "sessionid", "value": session, "url": live_site.origin(org_b)}])
    page.goto(live_site.url(org_b, "/manage/settings/"))
    assert "/login/" in page.url and not page.get_by_text("Live preview").count()
    assert fetch_in_page(page, "/api/v1/organizations/current")["status"] in (401, 403)  # on B's host
    page.goto(live_site.url(org_a, "/manage/settings/"))
    assert fetch_in_page(page, "/api/v1/organizations/current")["status"] == 200  # A's admin on A: fine
    assert fetch_in_page(page, f"/api/v1/organizations/{org_b.id}")["status"] == 404


@pytest.mark.parametrize("viewport", ["mobile", "desktop"])
def test_pages_are_light_and_error_free(e2e_org, make_user, new_page, live_site, with_db, shot, viewport):
    member = make_user(e2e_org)
    _deposit(with_db, e2e_org, member, "1200", challenge=_challenge(with_db, e2e_org))
    pages = {"home": (member, "/"), "profile": (member, "/profile/"), "offline": (member, "/offline/"),
             "manage-settings": (e2e_org.admin, "/manage/settings/")}
    for name, (user, path) in pages.items():
        page = new_page(viewport, org=e2e_org, user=user)
        response = page.goto(live_site.url(e2e_org, path))
        assert response.status == 200, name
        page.wait_for_load_state("networkidle")
        weight = page_weight(page)
        total = weight["document"] + weight["assets"]
        assert 0 < total < PAGE_BUDGET, (name, weight)
        assert weight["assets"] > 0, (name, weight)  # the CSS/JS were really counted
        assert page.console_errors == [], (name, page.console_errors)
        unlabelled = page.evaluate("""() => [...document.querySelectorAll('input, select, textarea')]
            .filter(el => el.type !== 'hidden' && !el.labels.length && !el.getAttribute('aria-label'))
            .map(el => el.name || el.id)""")
        assert unlabelled == [], (name, unlabelled)
        assert page.locator("html").get_attribute("lang") == "en"
        shot(page, name)
    page = new_page(viewport, org=e2e_org, user=member)
    assert page.goto(live_site.url(e2e_org, "/no-such-page/")).status == 404
    assert page.get_by_text("We could not find that page").is_visible()
    shot(page, "not-found")


def test_the_site_is_installable(e2e_org, make_user, new_page, live_site):
    """Chromium's own verdict on the manifest, icons and service worker."""
    member = make_user(e2e_org)
    page = new_page("mobile", org=e2e_org, user=member)
    page.goto(live_site.url(e2e_org, "/"))
    page.evaluate("() => navigator.serviceWorker.ready")
    page.reload()
    cdp = page.context.new_cdp_session(page)
    manifest = cdp.send("Page.getAppManifest")
    assert manifest["url"].endswith("/manifest.webmanifest") and not manifest.get("errors"), manifest
    errors = [e["errorId"] for e in cdp.send("Page.getInstallabilityErrors")["installabilityErrors"]]
    # Headless Chromium may still refuse for reasons of its own (no user engagement, platform);
    # nothing about our manifest, icons or service worker may be among them.
    ours = {"manifest-empty", "manifest-missing-name-or-short-name", "manifest-display-not-supported",
            "manifest-missing-suitable-icon", "no-acceptable-icon", "start-url-not-valid",
            "no-url-for-service-worker", "not-offline-capable", "no-matching-service-worker",
            "cannot-download-icon", "no-icon-available", "not-from-secure-origin"}
    assert not ours & set(errors), errors


@pytest.mark.parametrize("viewport", ["mobile", "desktop"])
def test_leader_tabs_and_reports_fit_the_screen(e2e_org, make_user, new_page, live_site, with_db, shot, viewport):
    """On a phone the leader tabs scroll sideways: the current one is brought into view. On any screen
    the analytics tables stay inside their cards (they scroll instead of being cut off)."""
    member = make_user(e2e_org)
    _deposit(with_db, e2e_org, member, "1500", challenge=_challenge(with_db, e2e_org))
    page = new_page(viewport, org=e2e_org, user=e2e_org.admin)
    assert page.goto(live_site.url(e2e_org, "/manage/analytics/")).status == 200
    page.wait_for_load_state("networkidle")
    width = page.viewport_size["width"]
    tab = page.locator(".manage-nav [aria-current=page]").bounding_box()
    assert tab["x"] >= 0 and tab["x"] + tab["width"] <= width, tab
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")  # no sideways page
    overflowing = page.evaluate("""() => [...document.querySelectorAll('.report')]
        .filter(card => card.scrollWidth > card.clientWidth + 1).map(card => card.querySelector('h2').textContent)""")
    assert overflowing == []
    assert page.locator("#h-trends ~ .pair table").is_visible()
    if viewport == "desktop":  # wide enough to show every column of the savings table without scrolling
        assert page.evaluate("""() => { const box = document.querySelector('#h-trends ~ .pair .scroll');
            return box.scrollWidth <= box.clientWidth + 1; }""")
    assert page.console_errors == []
    shot(page, "manage-analytics")


@pytest.mark.parametrize("viewport", ["mobile", "desktop"])
def test_ledgers_and_members_read_without_scrolling_sideways_on_a_phone(e2e_org, make_user, new_page, live_site, with_db, shot,
                                                            viewport):
    """The member's transactions, the leader's ledger and member list: on a phone each row is a card of
    labelled lines (nothing cut off at the right edge); on a desktop, the usual table with its header row."""
    member = make_user(e2e_org)
    _deposit(with_db, e2e_org, member, "1250", challenge=_challenge(with_db, e2e_org))
    pages = ((member, "/transactions/", 5, "1,250.00", "Amount (KES)"),
             (e2e_org.admin, "/manage/transactions/", 8, "1,250.00", "Amount (KES)"),
             (e2e_org.admin, "/manage/members/?q=Akinyi", 5, "Akinyi Otieno", "Name"),
             (e2e_org.admin, "/manage/challenges/", 7, "Weekly 500", "Name"))
    for user, path, cells, lead, lead_label in pages:
        page = new_page(viewport, org=e2e_org, user=user)
        assert page.goto(live_site.url(e2e_org, path)).status == 200
        assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
        wrap_fits = page.evaluate("() => { const w = document.querySelector('.table-wrap');"
                                  " return w.scrollWidth <= w.clientWidth + 1; }")
        header_shown = page.locator("table.stack thead").bounding_box()["height"] > 2
        first = page.locator("table.stack td.lead").first
        assert first.inner_text().startswith(lead)
        label = first.evaluate("td => getComputedStyle(td, '::before').content")
        if viewport == "mobile":
            assert wrap_fits and not header_shown and label == f'"{lead_label}"', (path, wrap_fits, label)
            # every cell of the row is on the screen, one under the other
            boxes = [page.locator("table.stack tbody tr").first.locator("td").nth(n).bounding_box() for n in range(cells)]
            assert all(0 <= b["x"] and b["x"] + b["width"] <= page.viewport_size["width"] for b in boxes)
            assert [b["y"] for b in boxes] == sorted(b["y"] for b in boxes) and len({b["y"] for b in boxes}) == cells
        else:
            assert header_shown and label in ("none", "normal"), (path, label)
        assert page.console_errors == []
        shot(page, "stacked-" + path.split("?")[0].strip("/").replace("/", "-"))
        page.close()
    # amounts are grouped in thousands wherever a leader reads them
    page = new_page(viewport, org=e2e_org, user=e2e_org.admin)
    assert page.goto(live_site.url(e2e_org, "/manage/")).status == 200
    assert page.locator(".kpis").get_by_text("KES 1,250.00").count() >= 1
