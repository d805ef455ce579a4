"""The Content-Security-Policy in a real browser: no page the member, the leader or the platform owner opens
makes Chromium refuse anything (a securitypolicyviolation event or its console error), and what moved out
of inline code still works (progress rings, the ledger's filter, the challenge form, the brand preview)."""

from __future__ import annotations

import pytest
from tests.e2e.test_shell import _challenge, _deposit

pytestmark = pytest.mark.e2e

# Registered by Playwright before any page script runs (not subject to the page's policy).
LISTEN = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__csp.push(e.violatedDirective + " " + (e.blockedURI || "inline") + " " + (e.sourceFile || "") + ":" + e.lineNumber);
  console.error("CSP violation: " + e.violatedDirective);
});
"""


def _violations(page) -> list[str]:
    page.wait_for_load_state("networkidle")
    return page.evaluate("() => window.__csp") + [e for e in page.console_errors if "Content Security Policy" in e
                                                  or "CSP violation" in e]


def _open(page, url) -> list[str]:
    response = page.goto(url)
    assert response.status == 200, (url, response.status)
    assert "'unsafe-inline'" not in response.headers["content-security-policy"]
    return _violations(page)


@pytest.mark.parametrize("viewport", ["mobile", "desktop"])
def test_member_and_leader_pages_raise_no_csp_violation(e2e_org, make_user, new_page, live_site, with_db, viewport):
    member = make_user(e2e_org)
    challenge = _challenge(with_db, e2e_org)
    with with_db(e2e_org):
        from challenges.services import participant_join

        participant_join(challenge=challenge, user=member)
    _deposit(with_db, e2e_org, member, "250", challenge=challenge)
    member_paths = ["/", "/challenges/", f"/challenges/{challenge.pk}/", f"/challenges/{challenge.pk}/leaderboard/",
                    "/badges/", "/transactions/", "/save/", "/profile/", "/statement/", "/offline/", "/login/"]
    leader_paths = ["/manage/", "/manage/challenges/", "/manage/challenges/new/", f"/manage/challenges/{challenge.pk}/",
                    "/manage/members/", "/manage/members/import/", "/manage/transactions/", "/manage/unmatched/",
                    "/manage/mpesa/", "/manage/notifications/", "/manage/analytics/", "/manage/settings/",
                    "/manage/audit/", f"/manage/members/{member.pk}/statement/", "/manage/members/statement/"]
    found = {}
    page = new_page(viewport, org=e2e_org, user=member)
    page.add_init_script(LISTEN)
    for path in member_paths:
        found[path] = _open(page, live_site.url(e2e_org, path))
    # moved out of style="": the ring and bar read their percentage from data-percent
    page.goto(live_site.url(e2e_org, "/"))
    ring = page.locator(".ring").first
    percent = ring.get_attribute("data-percent")
    assert percent and ring.evaluate("el => getComputedStyle(el).getPropertyValue('--value').trim()") == percent
    # moved out of onchange=: the ledger's status filter still submits itself
    page.goto(live_site.url(e2e_org, "/transactions/"))
    page.select_option("#status", "verified")
    page.wait_for_url("**status=verified**")

    leader = new_page(viewport, org=e2e_org, user=e2e_org.admin)
    leader.add_init_script(LISTEN)
    for path in leader_paths:
        found[path] = _open(leader, live_site.url(e2e_org, path))
    # the challenge form's type switch (was an inline script) hides the fields a type does not use
    leader.goto(live_site.url(e2e_org, "/manage/challenges/new/"))
    hidden = leader.evaluate("() => [...document.querySelectorAll('[data-field]')].filter(el => el.hidden).length")
    assert hidden > 0
    # the brand preview still recolours itself as the leader picks a colour (CSSOM, allowed)
    leader.goto(live_site.url(e2e_org, "/manage/settings/"))
    leader.fill("input[name=primary_color]", "#7c3aed")
    leader.dispatch_event("input[name=primary_color]", "input")
    assert leader.evaluate("() => getComputedStyle(document.querySelector('#brand-preview .p-head')).backgroundColor") \
        == "rgb(124, 58, 237)"
    found["after interaction"] = _violations(page) + _violations(leader)
    assert {path: v for path, v in found.items() if v} == {}
    assert [e for e in page.console_errors + leader.console_errors if "Refused" in e] == []


def test_platform_admin_and_api_docs_raise_no_csp_violation(e2e_org, new_page, owner_page, live_site):
    page, base = owner_page()
    page.add_init_script(LISTEN)
    found = {}
    for path in ["/admin/", "/admin/tenants/organization/", f"/admin/tenants/organization/{e2e_org.pk}/change/",
                 "/admin/tenants/organization/add/", "/admin/accounts/user/", "/admin/accounts/auditevent/",
                 "/admin/platform_analytics/organizationstats/", "/"]:
        found[path] = _open(page, base + path)
    page.goto(base + "/admin/tenants/organization/")
    assert page.locator(".sg-status").count() >= 1  # the status column kept its colour, as a class
    assert not page.get_by_text("Not available for global schema").count()
    docs = new_page("desktop")
    docs.add_init_script(LISTEN)
    found["api docs"] = _open(docs, live_site.url(e2e_org, "/api/v1/docs/"))
    docs.wait_for_selector(".swagger-ui .info", timeout=10_000)  # the split-out init script ran
    assert {path: v for path, v in found.items() if v} == {}
