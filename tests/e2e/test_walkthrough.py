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


# Every text element's colour against the background it is drawn on (WCAG 2.1 contrast; 3:1 for large text).
CONTRAST_JS = """() => {
  const parse = s => { let m = s.match(/rgba?\\(([^)]+)\\)/); if (m) { const p = m[1].split(/[ ,\\/]+/).filter(Boolean).map(Number);
      return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1]; }
    m = s.match(/color\\(srgb ([^)]+)\\)/); if (m) { const p = m[1].split(/[ \\/]+/).filter(Boolean).map(Number);
      return [p[0] * 255, p[1] * 255, p[2] * 255, p.length > 3 ? p[3] : 1]; }
    return null; };
  const lum = c => { const f = v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
    return 0.2126 * f(c[0]) + 0.7152 * f(c[1]) + 0.0722 * f(c[2]); };
  const ratio = (a, b) => { const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p); return (x + 0.05) / (y + 0.05); };
  const blend = (top, under) => top[3] >= 1 ? top : [0, 1, 2].map(i => top[i] * top[3] + under[i] * (1 - top[3])).concat([1]);
  const background = el => { const stack = []; for (let n = el; n; n = n.parentElement) {
      const bg = parse(getComputedStyle(n).backgroundColor); if (bg && bg[3] > 0) { stack.push(bg); if (bg[3] >= 1) break; } }
    let c = [255, 255, 255, 1]; for (const bg of stack.reverse()) c = blend(bg, c); return c; };
  const bad = [];
  for (const el of document.querySelectorAll('body *')) {
    const own = [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
    if (!own || !el.getClientRects().length) continue;
    const style = getComputedStyle(el);
    if (style.visibility === 'hidden' || +style.opacity === 0 || el.closest('.visually-hidden, [hidden], svg')) continue;
    const fg = parse(style.color); if (!fg) continue;
    const bg = background(el), r = ratio(blend(fg, bg), bg);
    const size = parseFloat(style.fontSize), bold = +style.fontWeight >= 700;
    const need = (size >= 24 || (bold && size >= 18.66)) ? 3 : 4.5;
    if (r + 0.005 < need) bad.push(`${el.tagName.toLowerCase()}.${el.className}: "${el.textContent.trim().slice(0, 30)}" ${r.toFixed(2)}:1`);
  }
  return bad;
}"""

BRANDS = {"default": {}, "amber": {"primary_color": "#f59e0b", "accent_color": "#7c3aed"},
          "purple": {"primary_color": "#7c3aed", "accent_color": "#f59e0b"},
          "grey": {"primary_color": "#777777", "accent_color": "#38bdf8"}}


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_every_text_keeps_wcag_aa_contrast_under_any_brand(e2e_org_factory, make_user, new_page, live_site, with_db,
                                                           shot, viewport):
    """Issue 16.10: Save now on home was white on amber (2.1:1). Every page of the shell, under several
    brand colours, is measured in the browser: text against what it is drawn on, at least 4.5:1."""
    failures = {}
    for brand, colours in BRANDS.items():
        org = e2e_org_factory(name=f"Brand {brand}", branding=colours)
        member = make_user(org)
        challenge = _challenge(with_db, org)
        with with_db(org):
            from challenges.services import participant_join

            participant_join(challenge=challenge, user=member)
        _deposit(with_db, org, member, "700", challenge=challenge)
        pages = [(member, "/"), (member, "/challenges/"), (member, f"/challenges/{challenge.pk}/leaderboard/"),
                 (member, "/save/"), (member, "/badges/"), (org.admin, "/manage/")]
        for user, path in pages:
            page = new_page(viewport, org=org, user=user)
            page.goto(live_site.url(org, path))
            bad = page.evaluate(CONTRAST_JS)
            if bad:
                failures[(brand, path)] = bad
            if path == "/" and brand in ("amber", "purple"):
                shot(page, f"home-brand-{brand}")
            page.close()
    assert failures == {}, "\n".join(f"{key}: {rows}" for key, rows in failures.items())


@pytest.mark.parametrize("viewport", VIEWPORTS)
@pytest.mark.parametrize("language", ["en", "sw"])
def test_save_form_fields_have_room_and_the_statement_is_in_the_members_menu(e2e_org, make_user, new_page, live_site,
                                                                             with_db, shot, viewport, language):
    """Item 16: on a 360 px phone the Save form's amount, challenge and button do not touch; the monthly
    statement is one tap from History in the bottom menu, which stays marked while the statement is open."""
    from challenges.services import participant_join

    member = make_user(e2e_org, language=language)
    challenge = _challenge(with_db, e2e_org)
    with with_db(e2e_org):
        participant_join(challenge=challenge, user=member)
    page = new_page(viewport, org=e2e_org, user=member)
    assert page.goto(live_site.url(e2e_org, "/save/")).status == 200
    boxes = [page.locator(sel).bounding_box() for sel in ("#amount", "label[for=challenge]", "#challenge",
                                                          "form.card button[type=submit]")]
    gaps = [round(lower["y"] - (upper["y"] + upper["height"])) for upper, lower in zip(boxes, boxes[1:])]
    assert gaps[0] >= 12 and gaps[2] >= 12, gaps  # field to next label, last field to the button
    assert gaps[1] >= 0, gaps  # a label sits above its own field
    assert _fits(page)
    shot(page, f"save-now-form-{language}")
    page.locator(".bottom-nav a[href='/transactions/']").click()
    page.locator(".page-head a[href='/statement/']").click()
    page.wait_for_url("**/statement/")
    assert page.locator(".bottom-nav a[aria-current=page]").get_attribute("href") == "/transactions/"
    assert page.locator("html").get_attribute("lang") == language
    assert page.console_errors == []


def test_offline_page_follows_the_language_the_member_switched_to(e2e_org, make_user, new_page, live_site, shot):
    """Item 14: the service worker installed while the site was in English; the member switches to Kiswahili;
    offline, a page never kept shows the offline page in Kiswahili (it stayed English before)."""
    member = make_user(e2e_org)
    page = new_page("mobile", org=e2e_org, user=member)
    page.goto(live_site.url(e2e_org, "/"))
    page.evaluate("() => navigator.serviceWorker.ready")
    page.reload()
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")
    assert page.locator("html").get_attribute("lang") == "en"
    page.locator(".lang-form button[value=sw]").click()
    page.wait_for_function("() => document.documentElement.lang === 'sw'")
    # the page told the worker its language (kept in the worker's cache)
    page.wait_for_function("""async () => { const r = await caches.match('/__sg-language');
        return r && (await r.text()) === 'sw'; }""")
    page.context.set_offline(True)
    page.goto(live_site.url(e2e_org, "/profile/"))
    assert page.locator("html").get_attribute("lang") == "sw"
    assert page.get_by_text("Huna mtandao").first.is_visible()
    shot(page, "offline-sw")
    # and back: English again once the member switches back (online)
    page.context.set_offline(False)
    page.goto(live_site.url(e2e_org, "/"))
    page.locator(".lang-form button[value=en]").click()
    page.wait_for_function("() => document.documentElement.lang === 'en'")
    page.wait_for_function("""async () => { const r = await caches.match('/__sg-language');
        return r && (await r.text()) === 'en'; }""")
    page.context.set_offline(True)
    page.goto(live_site.url(e2e_org, "/profile/"))
    assert page.get_by_text("You are offline").first.is_visible()
    page.context.set_offline(False)


@pytest.mark.parametrize("viewport", VIEWPORTS)
@pytest.mark.parametrize("language", ["en", "sw"])
def test_badge_icons_are_svg_not_emoji(e2e_org, make_user, new_page, live_site, with_db, shot, viewport, language):
    """Item 15: badge icons are drawn as SVG, which render without a colour-emoji font (many cheap phones
    showed an empty box): every icon on /badges/ is an <svg> with a visible shape and no emoji text."""
    member = make_user(e2e_org, language=language)
    with with_db(e2e_org):
        from challenges.services import badges_evaluate

        badges_evaluate(user=member)
    _deposit(with_db, e2e_org, member, "1200")
    page = new_page(viewport, org=e2e_org, user=member)
    assert page.goto(live_site.url(e2e_org, "/badges/")).status == 200
    icons = page.evaluate("""() => [...document.querySelectorAll('.award-icon')].map(el => {
        const svg = el.querySelector('svg path'); const box = svg ? svg.getBBox() : null;
        return {text: el.textContent.trim(), w: box ? box.width : 0, h: box ? box.height : 0}; })""")
    assert len(icons) >= 18, len(icons)  # the system catalogue, earned or not
    assert [i for i in icons if i["text"] or i["w"] < 8 or i["h"] < 8] == []
    assert _fits(page)
    shot(page, f"badges-svg-{language}")


@pytest.mark.parametrize("viewport", VIEWPORTS)
@pytest.mark.parametrize("language", ["en", "sw"])
def test_removing_a_member_or_cancelling_a_challenge_asks_first(e2e_org, make_user, new_page, live_site, with_db, shot,
                                                                 viewport, language):
    """Item 12: "Remove" on a member row and "Cancel" on a challenge row ask, naming who or what; saying no
    changes nothing, saying yes does it."""
    from accounts.models import User
    from challenges.models import Challenge

    make_user(e2e_org, name="Otieno Kamau", phone="+254712000777")
    challenge = _challenge(with_db, e2e_org, name="Akiba ya Desemba")
    with with_db(e2e_org):
        User.objects.filter(pk=e2e_org.admin.pk).update(language=language)
    page = new_page(viewport, org=e2e_org, user=e2e_org.admin)
    asked: list[str] = []
    answer = {"accept": False}

    def on_dialog(dialog):
        asked.append(dialog.message)
        dialog.accept() if answer["accept"] else dialog.dismiss()

    page.on("dialog", on_dialog)
    page.goto(live_site.url(e2e_org, "/manage/members/?q=Otieno"))
    remove = page.locator("form[action*='/remove'] button").first
    remove.click()
    page.wait_for_timeout(300)
    assert len(asked) == 1 and "Otieno Kamau" in asked[0]
    assert ("Remove" if language == "en" else "Umwondoe") in asked[0]
    with with_db(e2e_org):
        assert User.objects.filter(phone_number="+254712000777", is_active=True).exists()
    page.goto(live_site.url(e2e_org, "/manage/challenges/"))
    page.locator("button[value=cancel]").first.click()
    page.wait_for_timeout(300)
    assert len(asked) == 2 and "Akiba ya Desemba" in asked[1]
    with with_db(e2e_org):
        assert Challenge.objects.get(pk=challenge.pk).status == "active"
    answer["accept"] = True
    with page.expect_navigation():
        page.locator("button[value=cancel]").first.click()
    with with_db(e2e_org):
        assert Challenge.objects.get(pk=challenge.pk).status == "cancelled"
    assert page.console_errors == []


def test_platform_owner_admin_fills_the_slug_and_loads_without_errors(e2e_org, owner_page):
    """Item 23 in a browser: typing the name fills the slug; the index has no dead sections and no admin page
    logs an error (the /favicon.ico 404 did)."""
    page, base = owner_page(phone="+254799000089")
    failed = []
    page.on("response", lambda r: r.status >= 400 and failed.append(f"{r.status} {r.url}"))
    page.goto(base + "/admin/")
    assert not page.get_by_text("Not available for global schema").count()
    page.goto(base + "/admin/tenants/organization/add/")
    page.fill("#id_name", "Tatu Women Group")
    page.locator("#id_name").blur()
    assert page.input_value("#id_slug") == "tatu-women-group"
    assert "platform" not in page.eval_on_selector_all("#id_type option", "els => els.map(e => e.value)")
    page.wait_for_load_state("networkidle")
    assert failed == [] and page.console_errors == []


def _wide_elements(page) -> list[str]:
    return page.evaluate("""() => { const w = window.innerWidth; return [...document.querySelectorAll('body *')]
        .filter(el => { const r = el.getBoundingClientRect(); if (!r.width) return false;
            for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
                const o = getComputedStyle(p).overflowX; if (o === 'auto' || o === 'scroll' || o === 'hidden') return false; }
            return r.right > w + 1; })
        .slice(0, 5).map(el => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + '.' + [...el.classList].join('.')
            + ' ' + Math.round(el.getBoundingClientRect().right)); }""")


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_no_page_scrolls_sideways(e2e_org, make_user, new_page, live_site, with_db, shot, viewport):
    """Item 11: every member and leader page, a group challenge with teams and the statement included, fits a
    360 px phone and a desktop without scrolling sideways (tables scroll inside their own box)."""
    from datetime import date, timedelta

    from challenges.models import Challenge
    from challenges.services import participant_join, team_create

    member = make_user(e2e_org)
    weekly = _challenge(with_db, e2e_org)
    with with_db(e2e_org):
        group = Challenge.objects.create(name="Team goal 20k", type="group",
                                         target={"team_amount": 20000, "min_members": 3}, duration_days=28,
                                         start_date=date.today() - timedelta(days=2), status="active")
        participant_join(challenge=weekly, user=member)
        for name in ("Simba wa Akiba", "Twiga Savers", "Chui Group"):
            team_create(challenge=group, user=e2e_org.admin if name != "Simba wa Akiba" else member, name=name,
                        join=name == "Simba wa Akiba")
    _deposit(with_db, e2e_org, member, "1250", challenge=weekly)
    member_paths = ["/", "/challenges/", f"/challenges/{weekly.pk}/", f"/challenges/{group.pk}/",
                    f"/challenges/{weekly.pk}/leaderboard/", f"/challenges/{group.pk}/leaderboard/", "/badges/",
                    "/transactions/", "/save/", "/profile/", "/statement/", "/offline/"]
    leader_paths = ["/manage/", "/manage/challenges/", "/manage/challenges/new/", f"/manage/challenges/{group.pk}/",
                    "/manage/members/", "/manage/members/import/", "/manage/transactions/", "/manage/unmatched/",
                    "/manage/mpesa/", "/manage/notifications/", "/manage/analytics/", "/manage/settings/",
                    "/manage/audit/", f"/manage/members/{member.pk}/statement/", "/manage/members/statement/"]
    wide = {}
    for user, paths in ((member, member_paths), (e2e_org.admin, leader_paths)):
        page = new_page(viewport, org=e2e_org, user=user)
        for path in paths:
            assert page.goto(live_site.url(e2e_org, path)).status == 200, path
            if not _fits(page):
                wide[path] = (page.evaluate("() => document.documentElement.scrollWidth"), _wide_elements(page))
    assert wide == {}


@pytest.mark.parametrize("viewport", VIEWPORTS)
@pytest.mark.parametrize("language", ["en", "sw"])
def test_a_member_refers_a_friend_with_a_share_link_and_sees_the_bonus(e2e_org, make_user, new_page, live_site, with_db,
                                                                       sms_to, shot, viewport, language):
    """Item 3: the profile offers a share link; a friend who signs up with it is recorded as referred, and once
    the friend's first deposit is scored the member's profile and points history show the bonus."""
    import re

    from accounts.models import User
    from challenges.services import deposit_score
    from tenants.services import organization_update

    organization_update(organization=e2e_org, data={"open_signup": True})
    member = make_user(e2e_org, language=language)
    page = new_page(viewport, org=e2e_org, user=member)
    assert page.goto(live_site.url(e2e_org, "/profile/")).status == 200
    link = page.locator("[data-invite-link]").inner_text()
    assert link.endswith(f"/login/?ref={member.account_code}")
    assert "500" in page.locator("#invite").inner_text()  # the organization's bonus, stated up front
    assert _fits(page)
    shot(page, f"profile-invite-{language}")

    friend = new_page("mobile")
    friend.goto(link)
    friend.get_by_label("Phone number").fill("0712 999 333")
    friend.get_by_role("button", name="Send me a code").click()
    friend.wait_for_url(re.compile(r"step=code"))
    code = re.search(r"\b(\d{6})\b", sms_to("+254712999333")[-1]["message"]).group(1)
    friend.get_by_label("Code from the SMS").fill(code)
    friend.get_by_role("button", name="Log in").click()
    friend.wait_for_url(live_site.url(e2e_org, "/") + "**")
    with with_db(e2e_org):
        newcomer = User.objects.get(phone_number="+254712999333")
        assert newcomer.referred_by_id == member.pk
    deposit = _deposit(with_db, e2e_org, newcomer, "200")
    with with_db(e2e_org):
        deposit_score(transaction_id=deposit.pk)
    page.goto(live_site.url(e2e_org, "/profile/"))
    referrals = page.locator("[data-referrals]").inner_text()
    assert "1" in referrals and "500" in referrals, referrals
    page.goto(live_site.url(e2e_org, "/badges/"))
    assert page.locator(".points-referral").count() == 1
    assert page.console_errors == [] and friend.console_errors == []
