"""Beat tasks: settling at end_date, streak-at-risk reminders, snapshots; the drift command; the demo."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import call_command

from challenges.models import BadgeAward, LeaderboardEntry, Participant, PointAward
from challenges.services import (
    challenge_settle,
    challenges_lifecycle,
    leaderboards_snapshot,
    participant_join,
    scores_recompute,
    streaks_at_risk,
)
from tests.challenges.conftest import NAIROBI


def test_settle_freezes_ranks_pays_completion_and_crowns_the_champion(make_challenge, make_member, record_deposit,
                                                                       frozen_today, notifications):
    frozen_today(date(2026, 3, 3))
    challenge = make_challenge(type="fixed_amount", target={"amount": "100", "frequency": "weekly"},
                               start=date(2026, 3, 2), days=7)
    winner, runner_up, idle = make_member(name="W"), make_member(name="R"), make_member(name="I")
    for user in (winner, runner_up, idle):
        participant_join(challenge=challenge, user=user)
    record_deposit(winner, "900", date(2026, 3, 3))
    record_deposit(runner_up, "100", date(2026, 3, 8))
    frozen_today(date(2026, 3, 9))
    result = challenges_lifecycle()
    assert result["settled"] == 1
    challenge.refresh_from_db()
    assert challenge.status == "completed" and challenge.settled_at
    rows = {p.user_id: p for p in Participant.objects.filter(challenge=challenge)}
    assert [rows[u.pk].status for u in (winner, runner_up, idle)] == ["completed", "completed", "failed"]
    assert [rows[u.pk].final_rank for u in (winner, runner_up, idle)] == [1, 2, 3]
    assert LeaderboardEntry.objects.filter(challenge=challenge, is_final=True).count() == 3
    assert BadgeAward.objects.filter(user=winner, badge_key="system:challenge-champion", challenge=challenge).exists()
    assert not BadgeAward.objects.filter(user=runner_up, badge_key="system:challenge-champion").exists()
    assert sorted(uid for uid, t, _ in notifications if t == "challenge_ended") == sorted(
        [winner.pk, runner_up.pk, idle.pk])
    challenge_settle(challenge=challenge)  # settling twice changes nothing
    assert PointAward.objects.filter(participant__challenge=challenge, reason="completion").count() == 2


def test_streak_at_risk_is_sent_once_per_window(make_challenge, member, record_deposit, frozen_today, notifications):
    frozen_today(date(2026, 3, 10))
    challenge = make_challenge(type="streak", target={"consecutive_weeks": 4}, start=date(2026, 3, 2), days=42)
    participant_join(challenge=challenge, user=member)
    record_deposit(member, "100", date(2026, 3, 3))  # week 10 qualifies; week 11 has nothing yet
    saturday = datetime(2026, 3, 14, 20, 0, tzinfo=NAIROBI)
    assert streaks_at_risk(now=saturday) == 0  # window closes in 28 hours
    sunday = datetime(2026, 3, 15, 19, 0, tzinfo=NAIROBI)
    assert streaks_at_risk(now=sunday) == 1
    assert streaks_at_risk(now=sunday) == 0
    (sent,) = [c for _, t, c in notifications if t == "streak_at_risk"]
    assert sent["current_streak"] == 1 and sent["closes_at"].startswith("2026-03-16T00:00:00+03:00")


def test_a_daily_streak_at_risk_says_today_not_this_week(make_challenge, member, record_deposit, frozen_today,
                                                          notifications):
    """One rule, worded per window: a daily streak's warning is the `streak_at_risk_day` wording."""
    from notifications.content import DEFAULTS

    frozen_today(date(2026, 3, 10))
    challenge = make_challenge(type="streak", target={"consecutive_days": 5}, start=date(2026, 3, 2), days=28)
    participant_join(challenge=challenge, user=member)
    record_deposit(member, "100", date(2026, 3, 9))  # yesterday qualifies; today has nothing yet
    assert streaks_at_risk(now=datetime(2026, 3, 10, 12, 0, tzinfo=NAIROBI)) == 0  # 12 hours left
    assert streaks_at_risk(now=datetime(2026, 3, 10, 19, 0, tzinfo=NAIROBI)) == 1
    assert [t for _, t, _c in notifications if t.startswith("streak_at_risk")] == ["streak_at_risk_day"]
    english, swahili = DEFAULTS["streak_at_risk_day"]["en"][1], DEFAULTS["streak_at_risk_day"]["sw"][1]
    assert "today" in english and "this week" not in english
    assert "leo" in swahili and "wiki hii" not in swahili


def test_no_streak_reminder_after_saving_this_window(make_challenge, member, record_deposit, frozen_today,
                                                     notifications):
    frozen_today(date(2026, 3, 10))
    challenge = make_challenge(type="streak", target={"consecutive_weeks": 4}, start=date(2026, 3, 2), days=42)
    participant_join(challenge=challenge, user=member)
    record_deposit(member, "100", date(2026, 3, 3))
    record_deposit(member, "100", date(2026, 3, 11))
    assert streaks_at_risk(now=datetime(2026, 3, 15, 19, 0, tzinfo=NAIROBI)) == 0


def test_snapshot_copies_ranks(make_challenge, make_member, record_deposit, frozen_today):
    frozen_today(date(2026, 3, 4))
    challenge = make_challenge()
    a, b = make_member(name="A"), make_member(name="B")
    participant_join(challenge=challenge, user=a)
    participant_join(challenge=challenge, user=b)
    record_deposit(b, "300", date(2026, 3, 4))
    assert leaderboards_snapshot() == 1
    assert list(LeaderboardEntry.objects.order_by("rank").values_list("user_id", "rank")) == [(b.pk, 1), (a.pk, 2)]
    assert leaderboards_snapshot() == 0  # nothing changed since


def test_recompute_reports_and_fixes_drift(make_challenge, member, record_deposit, frozen_today):
    frozen_today(date(2026, 3, 4))
    challenge = make_challenge()
    participant_join(challenge=challenge, user=member)
    record_deposit(member, "300", date(2026, 3, 4))
    assert scores_recompute() == []
    Participant.objects.filter(challenge=challenge).update(points=1)
    out = StringIO()
    with pytest.raises(SystemExit) as exit_info:
        call_command("recompute_scores", "--org", "alpha", stdout=out)
    assert exit_info.value.code == 2 and '"points": [1, 350]' in out.getvalue()
    call_command("recompute_scores", "--org", "alpha", "--fix", stdout=StringIO())
    assert Participant.objects.get(challenge=challenge).points == 350


def test_demo_seed_is_idempotent(tenant, org, make_member):
    """The game's demo (challenges, joins, teams) then payments' (the deposits, scored through the
    hand-over), as seed_demo runs them."""
    from challenges import demo
    from challenges.models import Challenge
    from payments import demo as payments_demo

    members = [make_member(name=f"Demo {i}") for i in range(4)]

    def seed():
        demo.seed(org, members)
        payments_demo.seed(org, members)

    seed()
    first = (Challenge.objects.count(), PointAward.objects.count(), Participant.objects.count())
    seed()
    assert (Challenge.objects.count(), PointAward.objects.count(), Participant.objects.count()) == first
    assert first[0] == 4 and first[2] == 16 and first[1] > 0
    assert scores_recompute() == []


def test_snapshot_drops_a_board_that_lost_members(make_challenge, make_member, frozen_today,
                                                  django_capture_on_commit_callbacks):
    from challenges import leaderboard
    from savegame.redis import redis_client

    frozen_today(date(2026, 3, 4))
    challenge = make_challenge()
    with django_capture_on_commit_callbacks(execute=True):
        for name in ("A", "B"):
            participant_join(challenge=challenge, user=make_member(name=name))
    leaderboard.board_read(challenge_id=challenge.pk)
    redis_client().zremrangebyrank(leaderboard.board_key(challenge.pk), 0, 0)  # a lost write
    leaderboards_snapshot()
    assert leaderboard.board_read(challenge_id=challenge.pk).total == 2


def test_sweep_scores_verified_deposits_whose_task_was_lost(make_challenge, member, record_deposit, frozen_today):
    from payments.models import Transaction

    frozen_today(date(2026, 3, 4))
    challenge = make_challenge()
    participant_join(challenge=challenge, user=member)
    lost = record_deposit(member, "300", date(2026, 3, 4), score=False)
    record_deposit(member, "50", date(2026, 3, 4), score=False, status="pending")
    Transaction.objects.filter(pk=lost.pk).update(verified_at=lost.verified_at - timedelta(hours=1))  # its hand-over lost
    from payments.inbox import inbox_sweep

    inbox_sweep()  # the one sweep: payments hands over what the game has not scored
    assert Participant.objects.get(challenge=challenge, user=member).total_contributed == 300
    inbox_sweep()
    assert Participant.objects.get(challenge=challenge, user=member).total_contributed == 300


def test_challenge_started_is_news_on_its_first_days_only(make_challenge, member, frozen_today, notifications):
    """Beat first running a week after a challenge began (make run on a seeded demo) marks it as
    announced without sending "X has started!" days late; a challenge starting today is announced."""
    frozen_today(date(2026, 3, 9))
    old = make_challenge(start=date(2026, 3, 2), days=28, name="Old")
    yesterday = make_challenge(start=date(2026, 3, 8), days=28, name="Yesterday")
    today = make_challenge(start=date(2026, 3, 9), days=28, name="Today")
    for challenge in (old, yesterday, today):
        participant_join(challenge=challenge, user=member)
    challenges_lifecycle()
    started = [c["challenge"] for _, t, c in notifications if t == "challenge_started"]
    assert sorted(started) == ["Today", "Yesterday"]
    old.refresh_from_db()
    assert old.started_notified_at is not None  # never considered again
    challenges_lifecycle()
    assert len([t for _, t, _c in notifications if t == "challenge_started"]) == 2


def test_rank_at_finish_badges_wait_for_the_finish(make_challenge, make_member, record_deposit, frozen_today,
                                                   notifications):
    """Issue 16.4: "Podium finish" ("Finished in the top 3") was awarded mid-challenge on a live rank."""
    frozen_today(date(2026, 3, 3))
    challenge = make_challenge(type="fixed_amount", target={"amount": "100", "frequency": "weekly"},
                               start=date(2026, 3, 2), days=7)
    leader, second = make_member(name="L"), make_member(name="S")
    for user in (leader, second):
        participant_join(challenge=challenge, user=user)
    record_deposit(leader, "900", date(2026, 3, 3))
    record_deposit(second, "100", date(2026, 3, 3))
    mid = set(BadgeAward.objects.filter(challenge=challenge).values_list("badge_key", flat=True))
    assert not {"system:podium", "system:challenge-champion"} & mid, mid
    frozen_today(date(2026, 3, 9))
    challenges_lifecycle()
    awarded = set(BadgeAward.objects.filter(challenge=challenge).values_list("user_id", "badge_key"))
    assert {(leader.pk, "system:challenge-champion"), (leader.pk, "system:podium"), (second.pk, "system:podium")} <= awarded


def test_system_badges_that_speak_of_a_finish_judge_the_final_rank(tenant):
    """The audit of the 18 system badges: a text about finishing never reads the live rank."""
    from django_tenants.utils import schema_context

    from challenges.badges import criteria_explain
    from tenants.models import SystemBadge

    def metrics(rule):
        if "all" in rule or "any" in rule:
            return {m for child in rule.get("all", rule.get("any")) for m in metrics(child)}
        return {rule["metric"]}

    with schema_context("public"):
        badges = list(SystemBadge.objects.all())
    assert len(badges) == 18
    for badge in badges:
        used = metrics(badge.criteria)
        if "finish" in badge.description.lower() or "finish" in badge.name.lower():
            if badge.slug != "challenge-finisher":  # completing, not a rank
                assert "challenge_rank" not in used and "challenge_final_rank" in used, badge.slug
        assert criteria_explain(badge.criteria)
