"""Issue 16 item 18: the leaders' members page shows money per member (saved total, this month, last
deposit, current weekly streak, a statement link), sorts and filters by it, validates its query and
costs the same queries whatever the group's size; the printable group statement for a month."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.web.test_query_counts import _statements

# the member list, the member counts, payments' members_money, the game's running weekly streak
# challenges and its metrics rows (members_weekly_streaks); the session and the user: caches
MEMBERS_PAGE_QUERIES = 5


@pytest.fixture
def group(tenant, daytime, django_capture_on_commit_callbacks):
    """Three members: Wanjiku saved this month and the two weeks before (one deposit reversed), Baraka
    saved only last month, Chebet never."""
    from accounts.services import user_create
    from challenges.services import deposits_score
    from payments.models import Transaction
    from payments.services import transaction_reverse

    wanjiku = user_create(phone_number="+254712300001", name="Wanjiku Kamau")
    baraka = user_create(phone_number="+254712300002", name="Baraka Mwangi")
    chebet = user_create(phone_number="+254712300003", name="Chebet Koech")
    now = timezone.now()  # Wednesday 25 Nov 2026 (daytime)
    rows = []
    for n, (member, amount, days_ago) in enumerate([(wanjiku, "500", 0), (wanjiku, "100", 0), (wanjiku, "300", 7),
                                                     (wanjiku, "200", 14), (baraka, "700", 40)]):
        when = now - timedelta(days=days_ago)
        rows.append(Transaction.objects.create(
            user=member, amount=Decimal(amount), status="verified", source="c2b", transaction_id=f"MM{n:08d}",
            mpesa_receipt=f"MM{n:08d}", transacted_at=when, verified_at=when))
    with django_capture_on_commit_callbacks(execute=True):
        deposits_score(transaction_ids=[t.pk for t in rows])
        transaction_reverse(transaction_id=rows[1].pk, reason="paid twice")
    return {"wanjiku": wanjiku, "baraka": baraka, "chebet": chebet}


def _rows(html: str) -> list[str]:
    """The member names of the table, in order."""
    return re.findall(r'<td class="lead" data-label="Name">([^<]+)</td>', html)


def _cell(html: str, name: str, attribute: str) -> str:
    row = re.search(rf"<tr>\s*<td class=\"lead\" data-label=\"Name\">{name}</td>(.*?)</tr>", html, re.S).group(1)
    return re.search(rf"{attribute}>([^<]+)<", row).group(1).strip()


def test_each_member_shows_the_owners_numbers_and_a_statement_link(group, leader):
    from challenges.selectors import member_weekly_streak
    from payments.selectors import saved_total

    html = leader.get("/manage/members/").content.decode()
    for member in group.values():
        assert _cell(html, member.name, "data-saved") == f"{saved_total(user=member):,.2f}"
        assert _cell(html, member.name, "data-streak") == str(member_weekly_streak(member=member))
        assert f'href="/manage/members/{member.pk}/statement/"' in html
    assert _cell(html, "Wanjiku Kamau", "data-saved") == "1,000.00"  # 500 + 300 + 200: the reversed 100 is off once
    assert int(_cell(html, "Wanjiku Kamau", "data-streak")) == 3  # this week and the two before
    assert "25 Nov 2026" in html and "Never" in html  # Wanjiku's last deposit; Chebet has none
    assert 'href="/manage/members/statement/"' in html  # the group statement for the meeting


def test_sort_and_filter_by_money(group, leader):
    assert _rows(leader.get("/manage/members/?sort=-saved").content.decode())[:3] == [
        "Wanjiku Kamau", "Baraka Mwangi", "Alpha Chama Admin"]
    assert _rows(leader.get("/manage/members/?sort=-streak").content.decode())[0] == "Wanjiku Kamau"
    assert _rows(leader.get("/manage/members/?sort=-last_deposit").content.decode())[:2] == [
        "Wanjiku Kamau", "Baraka Mwangi"]
    not_this_month = _rows(leader.get("/manage/members/?show=not_saved_this_month").content.decode())
    assert "Wanjiku Kamau" not in not_this_month and {"Baraka Mwangi", "Chebet Koech"} <= set(not_this_month)
    assert _rows(leader.get("/manage/members/?show=saved_this_month").content.decode()) == ["Wanjiku Kamau"]
    assert _rows(leader.get("/manage/members/?show=on_streak&q=wanjiku").content.decode()) == ["Wanjiku Kamau"]


@pytest.mark.parametrize("query, name", [("sort=richest", "sort"), ("show=lazy", "show"), ("page=two", "page"),
                                         ("q=%00", "q")])
def test_junk_in_the_query_is_a_400_naming_it(group, leader, query, name):
    response = leader.get(f"/manage/members/?{query}")
    assert response.status_code == 400 and f"'{name}'" in response.content.decode()


def test_the_members_page_costs_the_same_queries_for_a_bigger_group(group, leader):
    from accounts.services import user_create
    from payments.models import Transaction

    def count() -> list[str]:
        leader.get("/manage/members/")
        with CaptureQueriesContext(connection) as queries:
            assert leader.get("/manage/members/").status_code == 200
        return _statements(queries)

    statements = count()
    assert len(statements) == MEMBERS_PAGE_QUERIES, [s[:140] for s in statements]
    now = timezone.now()
    for i in range(12):
        m = user_create(phone_number=f"+2547123500{i:02d}", name=f"Extra {i}")
        Transaction.objects.create(user=m, amount=Decimal("50"), status="verified", source="c2b",
                                   transaction_id=f"MX{i:08d}", transacted_at=now, verified_at=now)
    assert len(count()) == MEMBERS_PAGE_QUERIES


def test_a_removed_member_is_listed_apart_and_can_be_restored(group, leader, org_admin):
    from accounts.models import AuditEvent

    baraka = group["baraka"]
    assert leader.post(f"/manage/members/{baraka.pk}/remove/").status_code == 302
    assert "Baraka Mwangi" not in _rows(leader.get("/manage/members/").content.decode())
    removed = leader.get("/manage/members/?show=removed").content.decode()
    assert _rows(removed) == ["Baraka Mwangi"] and f'action="/manage/members/{baraka.pk}/restore/"' in removed
    assert _cell(removed, "Baraka Mwangi", "data-saved") == "700.00"  # history kept
    assert leader.post(f"/manage/members/{baraka.pk}/restore/").status_code == 302
    baraka.refresh_from_db()
    assert baraka.is_active
    event = AuditEvent.objects.get(action="user.restored")
    assert event.actor == org_admin and event.target_id == str(baraka.pk)
    assert "Baraka Mwangi" in _rows(leader.get("/manage/members/").content.decode())


def test_the_group_statement_lists_every_members_month(group, leader, org):
    html = leader.get("/manage/members/statement/?month=2026-11").content.decode()
    assert org.name in html and "css/statement.css" in html and "data-print" in html
    assert "November 2026" in html
    wanjiku = re.search(r"Wanjiku Kamau</th>(.*?)</tr>", html, re.S).group(1)
    assert "25 Nov: 500.00" in wanjiku and "11 Nov: 200.00" in wanjiku and "18 Nov: 300.00" in wanjiku
    # the month's total nets the reversal out (500 + 100 - 100 + 300 + 200)
    assert re.search(r'<td class="num">1,000.00</td>', wanjiku)
    baraka = re.search(r"Baraka Mwangi</th>(.*?)</tr>", html, re.S).group(1)
    assert "—" in baraka and "700.00" in baraka  # nothing this month, 700 saved to date
    october = leader.get("/manage/members/statement/?month=2026-10").content.decode()
    assert "16 Oct: 700.00" in october
    assert leader.get("/manage/members/statement/?month=2026-13").status_code == 400
    assert "'month'" in leader.get("/manage/members/statement/?month=soon").content.decode()


def test_members_cannot_open_the_group_statement(group, client_for, org):
    client = client_for(org)
    client.force_login(group["wanjiku"])
    assert client.get("/manage/members/statement/").status_code in (302, 403)
