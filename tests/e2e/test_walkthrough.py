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
          "grey": {"primary_color": "#777777", "accent_color": "#38bdf8"},
          # item 23: the admin's colour picker lets the platform owner pick anything, the palest and darkest too
          "pale": {"primary_color": "#fef9c3", "accent_color": "#ffffff"},
          "black": {"primary_color": "#000000", "accent_color": "#111827"}}


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


TEAM_WORDS = {"en": {"empty": "Nobody has points yet.", "zero": "You have no points yet", "teams_empty": "No team has saved yet.",
                     "mine": "my team", "join": "Join team"},
              "sw": {"empty": "Bado hakuna mwenye pointi.", "zero": "Bado huna pointi", "teams_empty":
                     "Bado hakuna timu iliyoweka akiba.", "mine": "timu yangu", "join": "Jiunge na timu"}}


@pytest.mark.parametrize("viewport,language", [("mobile", "en"), ("desktop", "en"), ("mobile", "sw")])
def test_a_group_challenge_ranks_teams_and_my_teams_board_moves_live(e2e_org, make_user, new_page, live_site, with_db,
                                                                     shot, viewport, language):
    """Item 7: the group challenge's page ranks teams (total, goal, members), marks mine, and inside it ranks my
    teammates, live from the team's stream; at 0 it says nobody has points yet instead of "number 3 with 0
    points"; every team's Goal and Join fit a 360 px phone."""
    from datetime import timedelta

    from challenges.models import Challenge
    from challenges.services import team_create, team_join
    from payments.inbox import deposits_hand_over
    from tenants.calendar import local_today

    words = TEAM_WORDS[language]
    viewer = make_user(e2e_org, name="Akinyi Otieno", phone="+254712000101", language=language)
    mate = make_user(e2e_org, name="Baraka Mwangi", phone="+254712000102")
    rival = make_user(e2e_org, name="Chebet Koech", phone="+254712000103")
    outsider = make_user(e2e_org, name="Daudi Kiprop", phone="+254712000104", language=language)
    with with_db(e2e_org):
        group = Challenge.objects.create(name="Team goal 20k", type="group",
                                         target={"team_amount": 20000, "min_members": 2}, duration_days=28,
                                         start_date=local_today() - timedelta(days=1), status="active")
        simba = team_create(challenge=group, user=viewer, name="Simba wa Akiba", join=True)
        team_join(team=simba, user=mate)
        team_create(challenge=group, user=rival, name="Twiga Savers", join=True)
        team_create(challenge=group, user=e2e_org.admin, name="Chui Group", join=False)

    outside = new_page(viewport, org=e2e_org, user=outsider)  # not in a team yet: every team offers Join
    assert outside.goto(live_site.url(e2e_org, f"/challenges/{group.pk}/")).status == 200
    assert words["teams_empty"] in outside.locator("#teams-heading ~ [data-teams-empty]").inner_text()
    width = outside.evaluate("() => window.innerWidth")
    joins = outside.get_by_role("button", name=words["join"])
    assert joins.count() == 3
    for index in range(3):
        for box in (joins.nth(index).bounding_box(),
                    outside.locator("table.team-board tbody tr").nth(index).locator("td").nth(3).bounding_box()):
            assert box["x"] >= 0 and box["x"] + box["width"] <= width, box
    assert _fits(outside)
    if viewport == "mobile":  # a phone's shot is the screen; the desktop's the whole page
        outside.evaluate("() => document.getElementById('teams-heading').scrollIntoView()")
    shot(outside, f"group-teams-join-{language}")

    page = new_page(viewport, org=e2e_org, user=viewer)
    assert page.goto(live_site.url(e2e_org, f"/challenges/{group.pk}/")).status == 200
    mine = page.locator("table.team-board tr[aria-current=true]")
    assert "Simba wa Akiba" in mine.inner_text() and words["mine"] in mine.inner_text()
    assert page.locator("#lb-empty").is_visible() and words["empty"] in page.locator("#lb-empty").inner_text()
    assert words["zero"] in page.locator("#me").inner_text()
    assert "Chebet" not in page.locator("#rows").inner_text()  # my team's board: my teammates only
    assert _fits(page)
    page.evaluate("() => { window.__notReloaded = true; }")
    page.locator("#live-status[data-live=on]").wait_for(timeout=10_000)

    deposit = _deposit(with_db, e2e_org, mate, "1500", challenge=group)
    with with_db(e2e_org):
        assert deposits_hand_over(transaction_ids=[deposit.pk]) == [deposit.pk]
    first = page.locator("#rows tr").first
    first.filter(has_text="Baraka Mwangi").wait_for(timeout=10_000)
    assert first.locator("td").first.inner_text() == "1"
    page.locator("#lb-empty").wait_for(state="hidden", timeout=5_000)
    top = page.locator("table.team-board tbody tr").first  # the team board follows: Simba leads now
    top.filter(has_text="1,500.00").wait_for(timeout=5_000)
    assert "Simba wa Akiba" in top.inner_text() and top.get_attribute("aria-current") == "true"
    assert top.locator("td").first.inner_text() == "1"
    assert page.locator("[data-teams-empty]").is_hidden()
    assert [r.inner_text() for r in page.locator("table.team-board tbody tr td:first-child").all()] == ["1", "–", "–"]
    assert "1,500.00" in page.locator("[data-my-team-progress]").inner_text()  # my progress says the same
    assert page.evaluate("() => window.__notReloaded === true")
    assert _fits(page)
    if viewport == "mobile":
        page.evaluate("() => document.getElementById('teams-heading').scrollIntoView()")
    shot(page, f"group-team-board-{language}")
    assert page.console_errors == [] and outside.console_errors == []


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_platform_owner_brands_an_organization_with_a_colour_picker_and_typed_rules(e2e_org, owner_page, with_db, shot,
                                                                                    viewport):
    """Item 23: the Organization page has no raw JSON: the colours are the browser's colour picker, each scoring
    rule a number field; a rule out of bounds is an error on that field, and saving stores the same JSON."""
    from tenants.models import Organization

    page, base = owner_page(viewport, phone="+254799000087")
    page.goto(base + f"/admin/tenants/organization/{e2e_org.pk}/change/")
    assert page.locator("textarea[name=branding], textarea[name=scoring]").count() == 0
    picker = page.locator("input[name=primary_color]")
    assert picker.get_attribute("type") == "color" and picker.is_visible()
    assert page.locator("input[name=points_per_kes]").get_attribute("type") == "number"
    picker.fill("#7c3aed")
    page.fill("input[name=tagline]", "Pamoja tunaweza")
    page.fill("input[name=referral_bonus]", "200000")
    page.locator("input[name=_continue]").click()
    page.wait_for_load_state()
    error = page.locator(".field-referral_bonus .errorlist")
    assert error.is_visible() and "100000" in error.inner_text().replace(",", "").replace(" ", "")
    with with_db():
        assert Organization.objects.get(pk=e2e_org.pk).brand("primary_color") != "#7c3aed"  # nothing saved
    page.fill("input[name=referral_bonus]", "750")
    page.locator(".field-primary_color").scroll_into_view_if_needed()
    shot(page, "admin-organization-branding", full_page=False)
    page.locator("input[name=_continue]").click()
    page.wait_for_load_state()
    assert page.locator(".messagelist .success").count() == 1
    with with_db():
        saved = Organization.objects.get(pk=e2e_org.pk)
        assert (saved.brand("primary_color"), saved.brand("tagline"), saved.scoring["referral_bonus"]) == (
            "#7c3aed", "Pamoja tunaweza", 750)
        assert set(saved.branding) >= {"primary_color", "accent_color", "sms_sender_id", "language", "tagline"}
    assert page.input_value("input[name=primary_color]") == "#7c3aed"
    assert page.console_errors == []


JOIN_WORDS = {"en": {"name": "Your name", "phone": "Phone number", "ask": "Ask to join", "sent": "have your request"},
              "sw": {"name": "Jina lako", "phone": "Nambari ya simu", "ask": "Omba kujiunga", "sent": "wamepokea ombi lako"}}


@pytest.mark.parametrize("viewport", VIEWPORTS)
@pytest.mark.parametrize("language", ["en", "sw"])
def test_where_signup_is_closed_a_share_link_asks_the_leaders_and_adding_the_friend_credits_the_member(
        e2e_org, make_user, new_page, live_site, with_db, shot, viewport, language):
    """Item 3 without open sign-up (most chamas): the profile still offers a link; the friend who opens it asks
    to join with a name and number, the leaders are told, and when a leader adds that number the friend counts
    as the member's referral (the profile says so)."""
    from accounts.models import JoinRequest, User
    from notifications.models import Notification

    words = JOIN_WORDS[language]
    member = make_user(e2e_org, name="Otieno Ouma", phone="+254712000201", language=language)
    page = new_page(viewport, org=e2e_org, user=member)
    assert page.goto(live_site.url(e2e_org, "/profile/")).status == 200
    link = page.locator("[data-invite-link]").inner_text()
    assert link.endswith(f"/join/?ref={member.account_code}")
    assert "500" in page.locator("#invite").inner_text()
    assert _fits(page)

    friend = new_page(viewport)
    friend.goto(link)
    if language == "sw":
        friend.locator(".lang-form button[value=sw]").click()
        friend.wait_for_function("() => document.documentElement.lang === 'sw'")
    friend.get_by_label(words["name"]).fill("Njeri Wambui")
    friend.get_by_label(words["phone"]).fill("0712 999 444")
    assert _fits(friend)
    shot(friend, f"join-request-{language}")
    friend.get_by_role("button", name=words["ask"]).click()
    friend.locator("[data-join-sent]").wait_for()
    assert words["sent"] in friend.locator("[data-join-sent]").inner_text()
    with with_db(e2e_org):
        assert JoinRequest.objects.get(phone_number="+254712999444").referred_by_id == member.pk
        assert Notification.objects.filter(template="join_request", user=e2e_org.admin).count() == 1

    with with_db(e2e_org):  # a leader adds the number (the Members page and the CSV import call this)
        from accounts.services import user_create

        user_create(phone_number="0712999444", name="Njeri Wambui", actor=e2e_org.admin, welcome=True)
        assert User.objects.get(phone_number="+254712999444").referred_by_id == member.pk
    page.reload()
    assert "1" in page.locator("[data-referrals]").inner_text()
    assert page.console_errors == [] and friend.console_errors == []


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_home_rank_tile_keeps_the_main_challenge_and_history_is_newest_first(e2e_org, make_user, new_page, live_site,
                                                                             with_db, viewport):
    """Items 8 and 9 in the browser (HTTP tests: tests/web/test_home.py, tests/payments/test_pages.py): joining a
    new challenge alone does not make the home rank tile jump to "#1 of 1"; a 13 Nov deposit recorded last is
    listed below the 2 Dec ones."""
    from datetime import datetime, timedelta
    from decimal import Decimal
    from zoneinfo import ZoneInfo

    from challenges.models import Challenge
    from challenges.services import participant_join
    from payments.inbox import deposits_hand_over
    from payments.models import Transaction
    from tenants.calendar import local_today

    member = make_user(e2e_org, name="Akinyi Otieno", phone="+254712000301")
    others = [make_user(e2e_org, name=f"Saver {n}", phone=f"+25471200031{n}") for n in range(2)]
    weekly = _challenge(with_db, e2e_org)
    with with_db(e2e_org):
        for user in (*others, member):
            participant_join(challenge=weekly, user=user)
    for n, user in enumerate(others):
        deposit = _deposit(with_db, e2e_org, user, str(900 + n), challenge=weekly)
        with with_db(e2e_org):
            deposits_hand_over(transaction_ids=[deposit.pk])
    with with_db(e2e_org):
        nairobi = ZoneInfo("Africa/Nairobi")
        for receipt, when in (("RKTDEC02A", datetime(2026, 12, 2, 9, tzinfo=nairobi)),
                              ("RKTNOV13", datetime(2026, 11, 13, 9, tzinfo=nairobi))):
            Transaction.objects.create(source="c2b", amount=Decimal("100"), user=member, status="verified",
                                       transaction_id=receipt, mpesa_receipt=receipt, transacted_at=when, verified_at=when)
        newest = Challenge.objects.create(name="Brand new", type="fixed_amount", duration_days=28,
                                          target={"amount": 100, "frequency": "weekly"},
                                          start_date=local_today() - timedelta(days=local_today().weekday()),
                                          status="active")
        participant_join(challenge=newest, user=member)
    page = new_page(viewport, org=e2e_org, user=member)
    page.goto(live_site.url(e2e_org, "/"))
    assert page.locator("[data-rank]").inner_text().strip() == "#3"  # behind the two savers, not "#1 of 1"
    assert page.locator("[data-rank-label]").inner_text().strip() == "of 3 in Weekly 500"
    assert _fits(page)
    page.goto(live_site.url(e2e_org, "/transactions/"))
    text = page.inner_text("main")
    assert "RKTDEC02A" in text and "RKTNOV13" in text and text.index("RKTDEC02A") < text.index("RKTNOV13")
    assert _fits(page) and page.console_errors == []
