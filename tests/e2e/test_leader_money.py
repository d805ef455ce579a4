"""Issue 16 items 18, 20, 21 and 12 in Debian Chromium at 360 px and on a desktop: the members page with
money (sorted and filtered from its own controls), the printable group statement, the audit log as
sentences with a long value wrapped, the first admin's checklist, Save now hidden until M-Pesa works, and
the undo of a removal. Screenshots land in test-artifacts/screenshots/ (copies in docs/screenshots/)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from tests.e2e.conftest import VIEWPORTS

pytestmark = pytest.mark.e2e


def _fits(page) -> bool:
    from tests.e2e.test_walkthrough import _wide_elements

    fits = page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
    assert fits, (_wide_elements(page), page.evaluate("""() => [document.documentElement.scrollWidth, window.innerWidth,
        ...[...document.querySelectorAll('body *')].filter(el => el.getBoundingClientRect().right > window.innerWidth + 1)
        .slice(0, 8).map(el => el.tagName + '.' + el.className + ' ' + Math.round(el.getBoundingClientRect().right))]"""))
    return fits


def _deposits(with_db, org, rows):
    from django.utils import timezone

    from payments.models import Transaction

    from challenges.services import deposits_score

    with with_db(org):
        now = timezone.now()
        made = [Transaction.objects.create(user=user, amount=Decimal(amount), status="verified", source="c2b",
                                           transaction_id=f"E2EM{org.pk}{n:04d}", mpesa_receipt=f"E2EM{org.pk}{n:04d}",
                                           transacted_at=now - timedelta(days=days_ago),
                                           verified_at=now - timedelta(days=days_ago))
                for n, (user, amount, days_ago) in enumerate(rows)]
        deposits_score(transaction_ids=[t.pk for t in made])  # the streaks come from the scored deposits


@pytest.fixture
def saving_group(e2e_org, make_user, with_db):
    wanjiku = make_user(e2e_org, name="Wanjiku Kamau", phone="+254712700001")
    baraka = make_user(e2e_org, name="Baraka Mwangi", phone="+254712700002")
    make_user(e2e_org, name="Chebet Koech", phone="+254712700003")
    _deposits(with_db, e2e_org, [(wanjiku, "1500", 0), (wanjiku, "250", 0), (wanjiku, "400", 7), (baraka, "700", 45)])
    return e2e_org


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_members_page_sorts_and_filters_by_money(saving_group, new_page, live_site, shot, viewport):
    page = new_page(viewport, org=saving_group, user=saving_group.admin)
    assert page.goto(live_site.url(saving_group, "/manage/members/")).status == 200
    page.select_option("#member-sort", "-saved")
    page.click("form.member-filters button[type=submit]")
    page.wait_for_url("**sort=-saved**")
    names = page.locator("table.members td.lead").all_inner_texts()
    assert names[:2] == ["Wanjiku Kamau", "Baraka Mwangi"]
    first = page.locator("table.members tbody tr").first
    assert first.locator("[data-saved]").inner_text() == "2,150.00" and first.locator("[data-streak]").inner_text() == "2"
    assert _fits(page) and page.console_errors == []
    shot(page, "manage-members-money")
    page.select_option("#member-show", "not_saved_this_month")
    page.click("form.member-filters button[type=submit]")
    page.wait_for_url("**show=not_saved_this_month**")
    names = page.locator("table.members td.lead").all_inner_texts()
    assert "Wanjiku Kamau" not in names and "Baraka Mwangi" in names and "Chebet Koech" in names
    assert _fits(page)


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_the_group_statement_prints_for_the_meeting(saving_group, new_page, live_site, shot, viewport):
    page = new_page(viewport, org=saving_group, user=saving_group.admin)
    assert page.goto(live_site.url(saving_group, "/manage/members/")).status == 200
    page.click("text=Group statement for the meeting")
    page.wait_for_url("**/manage/members/statement/**")
    assert saving_group.name in page.locator("h1").inner_text()
    assert "2,150.00" in page.locator("article.statement").inner_text()
    assert _fits(page) and page.console_errors == []
    shot(page, "group-statement")
    page.emulate_media(media="print")
    assert not page.locator("form.no-print").is_visible()  # the month picker and buttons stay off paper
    assert page.locator("article.statement table").is_visible()


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_the_audit_log_reads_as_sentences_and_long_values_wrap(e2e_org, make_user, new_page, live_site, with_db,
                                                               shot, viewport):
    from accounts.services import audit_record, member_update

    otieno = make_user(e2e_org, name="Otieno", phone="+254712700010")
    with with_db(e2e_org):
        member_update(member=otieno, data={"role": "org_admin"}, actor=e2e_org.admin)
        audit_record(actor=e2e_org.admin, action="organization.settings_changed", before={"tagline": ""},
                     after={"tagline": "Akiba" * 80, "sms_sender_id": "https://example.com/" + "x" * 200})
    page = new_page(viewport, org=e2e_org, user=e2e_org.admin)
    assert page.goto(live_site.url(e2e_org, "/manage/audit/")).status == 200
    sentences = page.locator(".audit-sentence").all_inner_texts()
    assert "Leader changed Otieno's role to admin." in sentences
    page.locator("details summary").first.click()
    assert _fits(page) and page.console_errors == []
    shot(page, "manage-audit-sentences")
    page.select_option("#audit-kind", "people")
    page.click("form.audit-filters button[type=submit]")
    page.wait_for_url("**kind=people**")
    assert all("tagline" not in s for s in page.locator(".audit-sentence").all_inner_texts())


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_a_new_groups_first_admin_gets_the_checklist_and_members_no_save_now(e2e_org, make_user, new_page,
                                                                             live_site, with_db, shot, viewport):
    from payments.models import MpesaSettings
    from payments.selectors import organization_paybill_forget

    with with_db(e2e_org):
        MpesaSettings.objects.update(shortcode="", consumer_key="", consumer_secret="", passkey="")
        organization_paybill_forget()
    page = new_page(viewport, org=e2e_org, user=e2e_org.admin)
    page.goto(live_site.url(e2e_org, "/"))
    assert page.url.endswith("/manage/")
    assert page.locator("#setup .checklist li").count() == 5 and page.locator("#setup li.done").count() == 0
    assert _fits(page) and page.console_errors == []
    shot(page, "manage-setup-checklist")
    member = make_user(e2e_org, name="Early Member", phone="+254712700020")
    home = new_page(viewport, org=e2e_org, user=member)
    assert home.goto(live_site.url(e2e_org, "/")).status == 200
    assert home.locator(".bottom-nav a[href='/save/']").count() == 0
    assert home.locator("[data-save-closed]").is_visible()
    assert _fits(home)
    shot(home, "home-save-closed")


def test_a_removed_member_is_restored_from_the_members_page(saving_group, new_page, live_site, with_db, shot):
    from accounts.models import User

    page = new_page("mobile", org=saving_group, user=saving_group.admin)
    page.goto(live_site.url(saving_group, "/manage/members/?q=Chebet"))
    page.once("dialog", lambda dialog: dialog.accept())  # the confirmation names what will happen
    page.locator("button.danger", has_text="Remove").click()
    page.wait_for_load_state()
    assert "Restore them under Removed members" in page.locator(".messages").inner_text()
    page.click("a[href='?show=removed']")
    page.wait_for_url("**show=removed**")
    page.locator("button", has_text="Restore").click()
    page.wait_for_load_state()
    assert "is back in the group" in page.locator(".messages").inner_text()
    with with_db(saving_group):
        assert User.objects.get(phone_number="+254712700003").is_active


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_a_cancelled_challenge_is_restored_from_its_row(e2e_org, new_page, live_site, with_db, shot, viewport):
    from challenges.models import Challenge
    from tenants.calendar import local_today

    with with_db(e2e_org):
        challenge = Challenge.objects.create(name="Akiba ya Januari", type="fixed_amount",
                                             target={"amount": 500, "frequency": "weekly"}, duration_days=28,
                                             start_date=local_today(), status="active")
    page = new_page(viewport, org=e2e_org, user=e2e_org.admin)
    page.goto(live_site.url(e2e_org, "/manage/challenges/"))
    page.once("dialog", lambda dialog: dialog.accept())
    with page.expect_navigation():
        page.locator("button[value=cancel]").first.click()
    restore = page.locator("button[value=restore]")
    assert restore.count() == 1 and "Undo possible until" in page.locator("main").inner_text()
    assert _fits(page) and page.console_errors == []
    shot(page, "manage-challenge-restore")
    with page.expect_navigation():
        restore.click()
    assert "is back" in page.locator(".messages").inner_text()
    with with_db(e2e_org):
        assert Challenge.objects.get(pk=challenge.pk).status == "active"
