"""One weekly streak (issue 15): home's "N weeks streak" is the game's number (challenges.selectors
.member_weekly_streak), not a second count over the ledger."""

from __future__ import annotations

from datetime import date

from challenges.models import BadgeAward, Participant
from challenges.services import participant_join
from web.selectors import member_home_summary

WEDNESDAY = date(2026, 3, 4)  # a challenge that starts mid-week (ISO week 10)


def test_home_and_the_streak_challenge_say_the_same(make_challenge, member, record_deposit, frozen_today, org):
    """The member's case: home said "4 weeks streak" (weeks 10-13 each hold a deposit) while the 4-week
    streak challenge said 3 of 4 (its week 10 deposit was made on Monday, before the challenge began)."""
    frozen_today(date(2026, 3, 25))
    challenge = make_challenge(type="streak", target={"consecutive_weeks": 4, "min_amount": "100"}, start=WEDNESDAY,
                               days=28)
    participant_join(challenge=challenge, user=member)
    for day in (date(2026, 3, 2), date(2026, 3, 9), date(2026, 3, 16), date(2026, 3, 23)):
        record_deposit(member, "200", day)
    progress = Participant.objects.get(challenge=challenge, user=member).progress
    assert (progress["current_streak"], progress["needed"]) == (3, 4)
    summary = member_home_summary(user=member, organization=org)
    assert summary["streak_weeks"] == 3 == [c["streak"]["current"] for c in summary["streaks"]][0]
    # The badge is the member's own record, over every week with a deposit (its words say "best run").
    assert BadgeAward.objects.filter(user=member, badge_key="system:streak-4-weeks").exists()


def test_without_a_weekly_streak_challenge_home_counts_weeks_with_a_deposit(member, record_deposit, frozen_today,
                                                                           org):
    frozen_today(date(2026, 3, 25))
    for day in (date(2026, 2, 16), date(2026, 3, 2), date(2026, 3, 9), date(2026, 3, 18)):  # weeks 8, 10, 11, 12
        record_deposit(member, "200", day)
    assert member_home_summary(user=member, organization=org)["streak_weeks"] == 3  # alive: week 13 is not over
    frozen_today(date(2026, 3, 30))  # week 14 began and week 13 had no deposit: the streak is over
    assert member_home_summary(user=member, organization=org)["streak_weeks"] == 0
