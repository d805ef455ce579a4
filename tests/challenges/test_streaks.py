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


def test_a_frozen_week_keeps_the_run_the_challenge_counts_as_the_streak_the_member_sees():
    """The mismatch of issue 18: home said "6 weeks" (the frozen week keeps the current streak) while the
    6-in-a-row challenge said 4 of 6 and the week after the freeze earned no multiplier."""
    spec = scoring.ChallengeSpec("streak", {"consecutive_weeks": 6, "min_amount": "100"}, MON,
                                 MON + timedelta(weeks=12) - timedelta(days=1), freeze_every=4)
    deposits = [(week(n), Decimal("150")) for n in (0, 1, 2, 3, 5, 6)]  # week 4 missed: the freeze is spent
    outcome = scoring.progress_compute(spec, deposits, today=week(6, 3))
    assert outcome.progress["current_streak"] == 6 and outcome.progress["freezes_used"] == 1
    assert outcome.progress["best_streak"] == 6 and outcome.completed  # was 4: "4 of 6"
    assert outcome.progress["windows_met"] == 6  # the frozen week adds no saved window
    points = scoring.deposit_points(spec, scoring.Rules(), deposits)
    assert [m for _p, m in points] == [Decimal("1")] + [Decimal("1.5")] * 5  # week 5: the streak going in is 4


def test_an_earned_back_week_keeps_the_run_and_its_deposit_gets_the_multiplier():
    spec = scoring.ChallengeSpec("streak", {"consecutive_weeks": 4, "min_amount": "100"}, MON,
                                 MON + timedelta(weeks=8) - timedelta(days=1), freeze_every=0)
    deposits = [(week(0), Decimal("100")), (week(1), Decimal("100")), (week(3, 0), Decimal("250")),
                (week(4), Decimal("100"))]  # week 2 missed, earned back on Monday of week 3
    outcome = scoring.progress_compute(spec, deposits, today=week(4, 3))
    assert outcome.progress["current_streak"] == outcome.progress["best_streak"] == 4 and outcome.completed
    assert [m for _p, m in scoring.deposit_points(spec, scoring.Rules(), deposits)] == [
        Decimal("1"), Decimal("1.5"), Decimal("1.5"), Decimal("1.5")]


def _moved_earn_back():
    """Weekly, 4 in a row, freezes off. W1 missed and not repaired (W2's deposit is small); W4 missed and
    earned back on Monday of W5. Then a late deposit of 250 on Monday of W2 earns W1 back instead: the one
    earn-back of the challenge is used there, so W4 breaks the streak."""
    spec = scoring.ChallengeSpec("streak", {"consecutive_weeks": 4, "min_amount": "100"}, MON,
                                 MON + timedelta(weeks=8) - timedelta(days=1), freeze_every=0)
    deposits = [(week(0), Decimal("100")), (week(2), Decimal("100")), (week(3), Decimal("100")),
                (week(5, 0), Decimal("250")), (week(6), Decimal("100"))]
    return spec, deposits, (week(2, 0), Decimal("250"))


def test_a_late_deposit_that_earns_an_earlier_week_back_can_lower_later_points():
    """The one non-monotone rule (docs/GAMIFICATION.md "Late deposits"): the scoring batch takes the
    difference back with a streak_fix award (tests/challenges/test_goals.py plays it through the database)."""
    spec, deposits, late = _moved_earn_back()
    today = week(6, 3)
    before = scoring.progress_compute(spec, deposits, today=today)
    assert before.progress["best_streak"] == 4 and before.completed  # W2, W3, (W4), W5, W6
    after = scoring.progress_compute(spec, [*deposits, late], today=today)
    assert after.progress["best_streak"] == 3 and not after.completed  # W0, (W1), W2, W3 | W5, W6
    rules = scoring.Rules()
    points_before = scoring.deposit_points(spec, rules, deposits)
    points_after = scoring.deposit_points(spec, rules, [*deposits, late])[:len(deposits)]
    assert points_after[3][0] < points_before[3][0]  # W5's 250: the streak going in is 0 now, not 2


@settings(max_examples=300, deadline=None)
@given(deposits=deposit_lists, every=st.integers(0, 5), until=st.integers(0, 90))
def test_a_streak_challenge_counts_the_streak_the_member_sees(deposits, every, until):
    """Whatever the deposits: the best run a streak challenge counts is never below the current streak
    the member is shown, completion is the best run reaching the target, and each deposit's multiplier
    follows the streak going into its window with frozen and earned-back windows kept."""
    spec = weekly(every=every)
    rows = [(MON + timedelta(days=d), Decimal(a)) for d, a in deposits]
    rules = scoring.Rules()
    outcome = scoring.progress_compute(spec, rows, today=MON + timedelta(days=until))
    assert outcome.progress["best_streak"] >= outcome.progress["current_streak"]
    assert outcome.completed == (outcome.progress["best_streak"] >= 8)
    qualifying = scoring.qualifying_windows(spec, rows)
    bridged = streaks.bridged_windows(spec, rows)
    for (day, _amount), (_points, multiplier) in zip(rows, scoring.deposit_points(spec, rules, rows), strict=True):
        carried = scoring.streak_carried_into(spec, qualifying, day, bridged)
        assert multiplier == (rules.streak_multiplier if carried >= rules.streak_threshold_weeks else 1)
        assert carried >= scoring.streak_carried_into(spec, qualifying, day)  # freezes and earn-back only add
