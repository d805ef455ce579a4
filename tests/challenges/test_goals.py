"""Personal goals and streak freezes through the engine and PostgreSQL (issue 18)."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db.models import Sum

from challenges import goals
from challenges.freezes import freezes_recompute, freezes_sync_all
from challenges.models import Challenge, Participant, PointAward, StreakFreeze
from challenges.selectors import access_challenge, challenge_list_for, member_active_challenges
from challenges.services import participant_join, scores_recompute

MON = date(2026, 3, 2)


@contextmanager
def scoring_rules(org, **rules):
    org.scoring = {**(org.scoring or {}), **rules}
    org.save(update_fields=["scoring"])
    try:
        yield
    finally:
        org.scoring = {k: v for k, v in org.scoring.items() if k not in rules}
        org.save(update_fields=["scoring"])


def _participant(goal):
    return Participant.objects.get(challenge_id=goal.challenge_id)


def test_a_goal_is_a_one_member_challenge_scored_by_the_engine(tenant, member, record_deposit, frozen_today):
    frozen_today(MON)
    goal = goals.goal_create(user=member, name="School fees", target_amount="12000", target_date=MON + timedelta(days=83),
                             frequency="weekly")
    challenge = goal.challenge
    assert challenge.type == "goal" and challenge.name == goals.GOAL_CHALLENGE_NAME  # never the member's words
    assert challenge.target == {"amount": "12000.00", "frequency": "weekly", "min_amount": "1000.00"}
    record_deposit(member, "3000", MON)  # untagged: counts toward the goal like any joined challenge
    p = _participant(goal)
    assert p.total_contributed == Decimal("3000.00") and p.points == 3000 + 50  # 1 point per KES + early bird
    assert p.progress["type"] == "goal" and p.progress["ratio"] == "0.2500"
    summary = goals.member_goals(member=member)[0]
    assert summary["name"] == "School fees" and summary["percent"] == 25
    assert summary["per_week"] == "750.00" and summary["weeks_left"] == 12  # 9,000 left over 12 weeks
    record_deposit(member, "9000", MON + timedelta(days=1))
    p = _participant(goal)
    assert p.status == "completed" and p.points == 3050 + 9000 + 100  # completion bonus


def test_a_goal_has_no_public_board_and_nobody_else_joins_it(tenant, member, make_member, record_deposit,
                                                            frozen_today, client_for, org):
    frozen_today(MON)
    goal = goals.goal_create(user=member, name="Boda boda", target_amount="50000")
    other = make_member()
    assert not challenge_list_for(user=other).filter(pk=goal.challenge_id).exists()
    assert access_challenge(user=member, challenge_id=goal.challenge_id) is None  # no challenge page either
    assert member_active_challenges(member=member) == []  # its own card on home, not a challenge card
    with pytest.raises(ValidationError):
        participant_join(challenge=goal.challenge, user=other)
    # a payment tagged with someone else's goal code counts nowhere (and never fails scoring)
    record_deposit(other, "500", MON, challenge=goal.challenge)
    assert not Participant.objects.filter(challenge=goal.challenge, user=other).exists()
    assert _participant(goal).total_contributed == 0


def test_the_org_decides_whether_goals_earn_points_and_badges(tenant, org, member, record_deposit, frozen_today):
    frozen_today(MON)
    with scoring_rules(org, goals_count=False):
        goal = goals.goal_create(user=member, name="Rent", target_amount="1000")
        record_deposit(member, "1500", MON)  # completes the goal, and would earn "saved-1k"
        p = _participant(goal)
        assert p.status == "completed" and p.points == 0
        assert PointAward.objects.filter(participant=p).aggregate(s=Sum("points"))["s"] in (0, None)
        assert scores_recompute() == []  # the recompute applies the same rule


@pytest.mark.parametrize("bad, field", [
    ({"name": ""}, "name"), ({"target_amount": "-5"}, "target_amount"), ({"target_amount": "abc"}, "target_amount"),
    ({"target_date": "2020-01-01"}, "target_date"), ({"target_date": "soon"}, "target_date"),
    ({"frequency": "hourly"}, "frequency"),
])
def test_junk_goal_input_names_the_field(tenant, member, frozen_today, bad, field):
    frozen_today(MON)
    data = {"name": "Fees", "target_amount": "1000", "target_date": None, "frequency": "weekly", **bad}
    with pytest.raises(ValidationError) as error:
        goals.goal_create(user=member, **data)
    assert field in error.value.message_dict


def test_leaders_see_uptake_never_a_name_unless_shared(tenant, member, make_member, frozen_today):
    frozen_today(MON)
    goals.goal_create(user=member, name="Secret plan", target_amount="1000")
    goals.goal_create(user=make_member(name="Wanjiru"), name="New shop", target_amount="9000", shared=True)
    uptake = goals.goal_uptake()
    assert uptake["goals"] == 2 and uptake["members"] == 2 and uptake["shared"] == 1
    assert "Secret plan" not in repr(uptake)
    assert [g["name"] for g in uptake["shared_goals"]] == ["New shop"]


def _weekly_streak(make_challenge):
    return make_challenge(type="streak", target={"consecutive_weeks": 8, "min_amount": "100"}, start=MON, days=84)


def test_a_missed_week_spends_a_freeze_and_tells_the_member(tenant, make_challenge, member, record_deposit,
                                                          frozen_today, notifications):
    frozen_today(MON)
    challenge = _weekly_streak(make_challenge)
    p, _ = participant_join(challenge=challenge, user=member)
    for n in range(4):
        record_deposit(member, "150", MON + timedelta(weeks=n))
    assert list(StreakFreeze.objects.filter(participant=p).values_list("reason", "count")) == [("earned", 1)]
    frozen_today(MON + timedelta(weeks=5, days=1))  # week 5 (index 4) closed with no deposit
    assert freezes_sync_all() == 1
    assert freezes_sync_all() == 0  # idempotent
    used = StreakFreeze.objects.get(participant=p, reason="used")
    assert used.window == MON + timedelta(weeks=4) and used.count == 1
    sent = [c for _u, t, c in notifications if t == "streak_freeze_used"]
    assert sent and sent[-1]["used"] == 1 and sent[-1]["left"] == 0
    assert freezes_recompute() == []


def test_a_late_deposit_in_the_frozen_week_gives_the_freeze_back(tenant, make_challenge, member, record_deposit,
                                                               frozen_today, notifications):
    frozen_today(MON)
    challenge = _weekly_streak(make_challenge)
    p, _ = participant_join(challenge=challenge, user=member)
    for n in range(4):
        record_deposit(member, "150", MON + timedelta(weeks=n))
    frozen_today(MON + timedelta(weeks=5, days=1))
    freezes_sync_all()
    record_deposit(member, "150", MON + timedelta(weeks=4, days=3))  # a callback that arrived late
    rows = list(StreakFreeze.objects.filter(participant=p, reason="used").values_list("count", flat=True))
    assert sorted(rows) == [-1, 1]  # history kept, the rows add up to what the rules say now
    p.refresh_from_db()
    assert p.progress["freezes_held"] == 1 and p.progress["current_streak"] == 5


def test_recompute_reports_and_fixes_missing_freeze_rows(tenant, make_challenge, member, record_deposit, frozen_today):
    frozen_today(MON)
    challenge = _weekly_streak(make_challenge)
    p, _ = participant_join(challenge=challenge, user=member)
    for n in range(4):
        record_deposit(member, "150", MON + timedelta(weeks=n))
    StreakFreeze.objects.filter(participant=p).delete()  # a lost write
    drifts = scores_recompute()
    assert [d["freezes"] for d in drifts if "freezes" in d] == [[("earned", (MON + timedelta(weeks=3)).isoformat(), 1)]]
    scores_recompute(fix=True)
    assert scores_recompute() == []
    assert StreakFreeze.objects.filter(participant=p).aggregate(s=Sum("count"))["s"] == 1


def test_goal_streaks_forgive_too(tenant, member, record_deposit, frozen_today):
    frozen_today(MON)
    goal = goals.goal_create(user=member, name="Fees", target_amount="100000", frequency="weekly")
    for n in range(4):
        frozen_today(MON + timedelta(weeks=n))
        record_deposit(member, "500", MON + timedelta(weeks=n))
    frozen_today(MON + timedelta(weeks=5, days=2))
    freezes_sync_all()
    summary = goals.member_goals(member=member)[0]
    assert summary["streak"]["current"] == 4 and summary["streak"]["freezes_held"] == 0
    assert Challenge.objects.filter(type="goal").count() == 1


def test_the_analytics_page_shows_goal_uptake_without_names(tenant, client_for, org, org_admin, member, make_member,
                                                            frozen_today):
    frozen_today(MON)
    goals.goal_create(user=member, name="Secret plan", target_amount="1000")
    goals.goal_create(user=make_member(name="Wanjiru"), name="New shop", target_amount="9000", shared=True)
    client = client_for(org)
    client.force_login(org_admin)
    html = client.get("/manage/analytics/").content.decode()
    section = html[html.index("data-goal-uptake"):]
    section = section[:section.index("</section>")]
    assert "2 of" in section and "New shop" in section and "Wanjiru" in section
    assert "Secret plan" not in html


def _points_by_reason(p) -> dict:
    rows = PointAward.objects.filter(participant=p).values_list("reason").annotate(total=Sum("points"))
    return dict(rows.values_list("reason", "total"))


def test_a_frozen_week_counts_toward_the_streak_challenge_as_on_home(tenant, make_challenge, member, record_deposit,
                                                                    frozen_today):
    """Issue 18's mismatch, through scoring: the member is shown "6 weeks" after a freeze kept week 5, so the
    6-in-a-row challenge is complete, and week 6's deposit gets the multiplier the shown streak promises."""
    frozen_today(MON)
    challenge = make_challenge(type="streak", target={"consecutive_weeks": 6, "min_amount": "100"}, start=MON, days=84)
    p, _ = participant_join(challenge=challenge, user=member)
    txs = {}
    for n in (0, 1, 2, 3, 5, 6):  # week 4 (index) missed: the freeze earned by weeks 0-3 is spent
        frozen_today(MON + timedelta(weeks=n, days=2))
        freezes_sync_all()
        txs[n] = record_deposit(member, "100", MON + timedelta(weeks=n, days=2))
    p.refresh_from_db()
    assert p.progress["freezes_used"] == 1 and p.progress["current_streak"] == 6
    assert (p.progress["best_streak"], p.progress["ratio"], p.status) == (6, "1.0000", "completed")
    after_the_freeze = PointAward.objects.get(participant=p, reason="deposit", transaction=txs[5])
    assert (after_the_freeze.multiplier, after_the_freeze.points) == (Decimal("1.5"), 150)
    assert scores_recompute() == []


def _play_moved_earn_back(make_challenge, make_member, record_deposit, frozen_today, org, *, late_first: bool):
    """Weekly, 4 in a row, freezes off: week 1 missed, week 4 missed and earned back on Monday of week 5, so
    weeks 2, 3, (4), 5, 6 complete the challenge. A 250 paid on Monday of week 2 (within 48 hours of week 1)
    earns week 1 back instead, and week 4 then breaks the streak. Scored in date order with the late
    deposit last (its callback arrived in week 6), or in date order with it in its place."""
    with scoring_rules(org, freeze_every=0):
        frozen_today(MON)
        challenge = make_challenge(type="streak", target={"consecutive_weeks": 4, "min_amount": "100"}, start=MON,
                                   days=56)
        user = make_member()
        p, _ = participant_join(challenge=challenge, user=user)
        late = (MON + timedelta(weeks=2), "250")
        plan = [(MON + timedelta(days=2), "100"), (MON + timedelta(weeks=2, days=2), "100"),
                (MON + timedelta(weeks=3, days=2), "100"), (MON + timedelta(weeks=5), "250"),
                (MON + timedelta(weeks=6, days=2), "100")]
        end = MON + timedelta(weeks=6, days=3)
        plan = [(day, amount, day) for day, amount in sorted([*plan, late])] if late_first else [
            *((day, amount, day) for day, amount in plan), (*late, end)]
        for day, amount, scored_on in plan:
            frozen_today(scored_on)
            record_deposit(user, amount, day)
        frozen_today(end)
        p.refresh_from_db()
        return p


def test_a_late_deposit_that_moves_the_earn_back_takes_back_what_the_later_repair_earned(
        tenant, make_challenge, make_member, record_deposit, frozen_today, org):
    arrived_late = _play_moved_earn_back(make_challenge, make_member, record_deposit, frozen_today, org,
                                         late_first=False)
    reasons = _points_by_reason(arrived_late)
    assert reasons["streak_fix"] < 0  # week 5's multiplier and the completion bonus came back off
    # W0, (W1), W2, W3 and then W5, W6: 3 at best, and W7 alone cannot make 4 any more
    assert arrived_late.status == "failed" and arrived_late.progress["best_streak"] == 3
    assert sum(reasons.values()) == arrived_late.points
    in_order = _play_moved_earn_back(make_challenge, make_member, record_deposit, frozen_today, org, late_first=True)
    assert "streak_fix" not in _points_by_reason(in_order)
    assert (in_order.points, in_order.status, in_order.progress) == (
        arrived_late.points, arrived_late.status, arrived_late.progress)
    with scoring_rules(org, freeze_every=0):
        assert scores_recompute() == []
