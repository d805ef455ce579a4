"""Every USSD screen is under 160 characters and offers at most 5 options, in both languages, with
the longest names and numbers the data allows (the HTTP tests also check every screen they see)."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.utils import translation

from ussd import screens

LONG = "Wanachama wa Umoja wa Akiba ya Siku Kuu na Sherehe za Mwisho wa Mwaka " * 2  # 140+ characters
BIG = Decimal("99999999.99")


def every_screen():
    names = [LONG + str(n) for n in range(4)]
    rank_rows = [{"name": LONG, "rank": 10_000, "participants": 10_000} for _ in range(3)]
    deposit_rows = [("30 Sep", Decimal("250000.00"))] * 5
    invalid = screens.invalid_prefix()
    yield "main", screens.main_menu(org_name=LONG)
    yield "main invalid", screens.main_menu(org_name=LONG, prefix=invalid)
    yield "more", screens.more_menu()
    yield "more invalid", screens.more_menu(prefix=invalid)
    yield "savings", screens.savings(total_saved=BIG, points=999_999_999, deposits=99_999)
    yield "savings with a goal", screens.savings(total_saved=BIG, points=999_999_999, deposits=99_999,
                                                 goal={"name": LONG, "percent": 100})  # issue 18
    yield "ranks", screens.ranks(rows=rank_rows)
    yield "ranks none", screens.ranks(rows=[])
    yield "join", screens.join_list(names=names)
    yield "join invalid", screens.join_list(names=names, prefix=invalid)
    yield "nothing to join", screens.nothing_to_join()
    yield "joined", screens.joined(name=LONG, created=True)
    yield "already", screens.joined(name=LONG, created=False)
    yield "join refused", screens.join_refused(name=LONG)
    yield "amount", screens.amount_prompt()
    yield "amount invalid", screens.amount_invalid()
    yield "towards", screens.save_towards(amount=250_000, names=names[:3])
    yield "towards invalid", screens.save_towards(amount=250_000, names=names[:3], prefix=invalid)
    yield "prompt", screens.mpesa_prompt(amount=250_000)
    yield "mpesa not ready", screens.mpesa_not_ready()
    yield "deposits", screens.deposits(rows=deposit_rows)
    yield "deposits invalid", screens.deposits(rows=deposit_rows, prefix=invalid)
    yield "no deposits", screens.deposits(rows=[])
    yield "sent", screens.deposits_sent()
    yield "language", screens.language_menu()
    yield "language invalid", screens.language_menu(prefix=invalid)
    yield "language set", screens.language_set()
    yield "unknown phone", screens.unknown_phone(org_name=LONG)
    yield "ended", screens.session_ended()
    yield "busy", screens.busy()
    yield "too many", screens.too_many()
    yield "bad request", screens.bad_request()
    yield "no service", screens.no_such_service()


@pytest.mark.parametrize("language", ["en", "sw"])
def test_every_screen_is_under_160_characters_with_at_most_5_options(language):
    with translation.override(language):
        seen = list(every_screen())
    assert len(seen) == 33
    for name, screen in seen:
        body = screen.body
        assert body.startswith("END " if screen.end else "CON "), name
        assert len(body) < 160, (name, len(body), body)
        options = [line for line in body.splitlines() if re.match(r"^\d\. ", line)]
        assert len(options) <= 5, (name, body)
        if not screen.end:
            assert options, f"{name}: a CON screen must offer something to type or choose"


def test_long_names_are_shortened_not_cut_mid_screen():
    screen = screens.join_list(names=[LONG + "A", LONG + "B"])
    lines = screen.body.splitlines()
    assert lines[1].startswith("1. Wanachama") and lines[1].endswith("…")
    assert lines[-1] == "0. Back"


def test_my_savings_shows_the_first_running_goal(tenant):
    """Issue 18: "my savings" adds the member's first running personal goal, in their language."""
    from accounts.factories import UserFactory
    from challenges.goals import goal_create
    from ussd.selectors import member_summary

    member = UserFactory()
    assert member_summary(member=member)["goal"] is None
    goal_create(user=member, name="Karo ya shule ya mtoto wangu wa kwanza", target_amount="4000")
    summary = member_summary(member=member)
    assert summary["goal"] == {"name": "Karo ya shule ya mtoto wangu wa kwanza", "percent": 0}
    with translation.override("sw"):
        body = screens.savings(**summary).body
    assert body.splitlines()[-1] == "Lengo Karo ya shule ya mt…: 0%" and len(body) < 160
