"""Streaks that forgive (issue 18): the pure rules of challenges/streaks.py, with the worked examples of
docs/GAMIFICATION.md, and hypothesis properties (order never matters; the ledger is a function of the set)."""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from challenges import scoring, streaks

MON = date(2026, 3, 2)  # a Monday


def weekly(every=4, weeks=12, min_amount="100"):
    return scoring.ChallengeSpec("streak", {"consecutive_weeks": 8, "min_amount": min_amount}, MON,
                                 MON + timedelta(weeks=weeks) - timedelta(days=1), freeze_every=every)


def week(n, day=2):
    """A day in week n (0-based) of the challenge: Wednesday by default."""
    return MON + timedelta(weeks=n, days=day)


def test_four_weeks_in_a_row_earn_a_freeze_and_a_missed_week_spends_it():
    spec = weekly()
    deposits = [(week(n), Decimal("150")) for n in (0, 1, 2, 3, 5)]  # week 4 missed
    book = streaks.ledger(spec, deposits, until=week(5, 3))
    assert book.events == [(week(3, 0), "earned"), (week(4, 0), "used")]
    assert book.held == 0 and book.bridged == {week(4, 0)}
    fields = streaks.progress_fields(spec, deposits, week(5, 3))
    assert fields["current_streak"] == 5  # 4 + 1: the frozen week keeps the streak and adds nothing
    assert fields["freezes_held"] == 0 and fields["freezes_used"] == 1


def test_without_a_freeze_a_missed_week_resets_the_streak():
    spec = weekly()
    deposits = [(week(n), Decimal("150")) for n in (0, 1, 2, 4)]  # 3 weeks only: no freeze yet
    fields = streaks.progress_fields(spec, deposits, week(4, 3))
    assert fields["current_streak"] == 1 and fields["freezes_held"] == 0
    assert "earn_back" not in fields  # its 48 hours ended on Tuesday


def test_at_most_two_freezes_are_held():
    spec = weekly(every=1)
    deposits = [(week(n), Decimal("150")) for n in range(6)]
    book = streaks.ledger(spec, deposits, until=week(6))
    assert book.held == 2 and book.count("earned") == 2


def test_a_missed_week_is_earned_back_by_a_double_deposit_within_48_hours_once():
    spec = weekly(every=0)  # freezes off: only earning back
    # week 1 missed; Monday of week 2 (within 48 h of Sunday midnight) a deposit of 2 x 100
    deposits = [(week(0), Decimal("100")), (week(2, 0), Decimal("200")), (week(4), Decimal("100"))]
    # week 3 missed too: earn-back was used already, so the streak resets
    deposits.append((week(4, 0), Decimal("500")))
    book = streaks.ledger(spec, deposits, until=week(4, 3))
    assert book.events == [(week(1, 0), "earned_back")]
    assert book.earn_back_used
    assert streaks.progress_fields(spec, deposits, week(4, 3))["current_streak"] == 1


def test_a_deposit_too_small_or_too_late_does_not_earn_back():
    spec = weekly(every=0)
    small = [(week(0), Decimal("100")), (week(2, 0), Decimal("199.99"))]
    late = [(week(0), Decimal("100")), (week(2, 2), Decimal("1000"))]  # Wednesday: after the 48 hours
    for deposits in (small, late):
        assert streaks.ledger(spec, deposits, until=week(2, 3)).events == []


def test_a_broken_streak_offers_earning_back_until_the_deadline():
    spec = weekly(every=0)
    deposits = [(week(0), Decimal("100"))]
    fields = streaks.progress_fields(spec, deposits, week(2, 0))
    assert fields["earn_back"] == {"window": "2026-W11", "by": week(2, 1).isoformat(), "amount": "200.00"}
    assert "earn_back" not in streaks.progress_fields(spec, deposits, week(2, 2))


def test_nothing_is_spent_before_a_streak_exists_or_for_the_open_window():
    spec = weekly(every=1)
    assert streaks.ledger(spec, [], until=week(5)).events == []
    book = streaks.ledger(spec, [(week(0), Decimal("150"))], until=week(1, 3))  # week 1 still open
    assert book.events == [(week(0, 0), "earned")] and book.held == 1


def test_daily_streaks_forgive_a_day():
    spec = scoring.ChallengeSpec("streak", {"consecutive_days": 10, "min_amount": "50"}, MON,
                                 MON + timedelta(days=20), freeze_every=3)
    deposits = [(MON + timedelta(days=d), Decimal("60")) for d in (0, 1, 2, 4)]
    book = streaks.ledger(spec, deposits, until=MON + timedelta(days=4))
    assert book.events == [(MON + timedelta(days=2), "earned"), (MON + timedelta(days=3), "used")]


def test_other_challenge_types_keep_no_ledger():
    spec = scoring.ChallengeSpec("fixed_amount", {"amount": "100", "frequency": "weekly"}, MON,
                                 MON + timedelta(days=60), freeze_every=1)
    assert streaks.ledger(spec, [(week(0), Decimal("100"))], until=week(5)).events == []


deposit_lists = st.lists(st.tuples(st.integers(0, 83), st.sampled_from(["50", "100", "150", "200", "450"])),
                         max_size=25)


@settings(max_examples=300, deadline=None)
@given(deposits=deposit_lists, every=st.integers(0, 5), until=st.integers(0, 90), seed=st.integers(0, 10 ** 6))
def test_the_ledger_is_a_function_of_the_set_of_deposits(deposits, every, until, seed):
    """Any order gives the same ledger, duplicates of a day add up the same way, and the held count
    always equals earned - used, between 0 and 2."""
    spec = weekly(every=every)
    rows = [(MON + timedelta(days=d), Decimal(a)) for d, a in deposits]
    shuffled = list(rows)
    random.Random(seed).shuffle(shuffled)
    today = MON + timedelta(days=until)
    a = streaks.ledger(spec, rows, until=today)
    b = streaks.ledger(spec, shuffled, until=today)
    assert a == b
    assert 0 <= a.held <= streaks.FREEZE_CAP
    assert a.held == a.count("earned") - a.count("used")
    assert a.count("earned_back") <= 1
    assert streaks.progress_fields(spec, rows, today) == streaks.progress_fields(spec, shuffled, today)


@settings(max_examples=300, deadline=None)
@given(deposits=deposit_lists, every=st.integers(1, 5), until=st.integers(0, 90))
def test_a_later_day_only_adds_to_the_ledger(deposits, every, until):
    """Time only appends: the ledger as of an earlier day is a prefix of the ledger as of a later one
    (rows written by the beat are never contradicted by the passing of time, only by deposits)."""
    spec = weekly(every=every)
    rows = [(MON + timedelta(days=d), Decimal(a)) for d, a in deposits if d <= until]
    today = MON + timedelta(days=until)
    now, later = streaks.ledger(spec, rows, until=today), streaks.ledger(spec, rows, until=today + timedelta(days=7))
    assert later.events[:len(now.events)] == now.events


@settings(max_examples=200, deadline=None)
@given(deposits=deposit_lists, every=st.integers(0, 5))
def test_freezes_never_change_points_or_streak_completion(deposits, every):
    """Points and a streak challenge's N-in-a-row stay monotone: freezes only keep the current streak."""
    rows = [(MON + timedelta(days=d), Decimal(a)) for d, a in deposits]
    on, off = weekly(every=every), weekly(every=0)
    rules = scoring.Rules()
    assert scoring.deposit_points(on, rules, rows) == scoring.deposit_points(off, rules, rows)
    today = MON + timedelta(days=84)
    a, b = scoring.progress_compute(on, rows, today=today), scoring.progress_compute(off, rows, today=today)
    assert (a.completed, a.failed, a.progress["best_streak"]) == (b.completed, b.failed, b.progress["best_streak"])
    assert a.progress["current_streak"] >= b.progress["current_streak"]
