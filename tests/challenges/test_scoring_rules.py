"""Hand-worked cases per challenge type (DESIGN.md "Gamification rules"), through deposit_score."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from challenges import scoring
from challenges.models import Contribution, Participant, PointAward
from challenges.services import participant_join


def _join(challenge, user):
    participant, _ = participant_join(challenge=challenge, user=user)
    return participant


def _refresh(participant) -> Participant:
    return Participant.objects.get(pk=participant.pk)


def test_nairobi_week_boundary_decides_the_period(make_challenge, member, record_deposit, frozen_today):
    """21:30 UTC on Sunday 8 March is 00:30 Monday 9 March in Nairobi: it belongs to the second ISO week."""
    frozen_today(date(2026, 3, 12))
    challenge = make_challenge(type="fixed_amount", target={"amount": "500", "frequency": "weekly"},
                               start=date(2026, 3, 2), days=14)
    p = _join(challenge, member)
    record_deposit(member, "500", datetime(2026, 3, 8, 20, 29, tzinfo=UTC))  # 23:29 Sunday Nairobi: week 1
    record_deposit(member, "500", datetime(2026, 3, 8, 21, 30, tzinfo=UTC))  # 00:30 Monday Nairobi: week 2
    p = _refresh(p)
    periods = p.progress["periods"]
    assert [x["label"] for x in periods] == ["2026-W10", "2026-W11"]
    assert [x["met"] for x in periods] == [True, True]
    assert p.progress["periods_met"] == 2 and p.status == "completed"
    assert list(Contribution.objects.filter(participant=p).values_list("local_date", flat=True)) == [
        date(2026, 3, 8), date(2026, 3, 9)]


def test_iso_weeks_clip_partial_weeks_and_cross_the_year():
    spec = scoring.ChallengeSpec("fixed_amount", {"amount": "100", "frequency": "weekly"},
                                 date(2026, 3, 4), date(2026, 3, 17))  # Wednesday to Tuesday
    out = scoring.progress_compute(spec, [], today=date(2026, 3, 1))
    assert [(p["label"], p["start"], p["end"]) for p in out.progress["periods"]] == [
        ("2026-W10", "2026-03-04", "2026-03-08"), ("2026-W11", "2026-03-09", "2026-03-15"),
        ("2026-W12", "2026-03-16", "2026-03-17")]
    # 1 January 2027 is a Friday: ISO week 53 of 2026.
    assert scoring.window_label(scoring.window_start(date(2027, 1, 1), scoring.WEEK), scoring.WEEK) == "2026-W53"


def test_fixed_amount_missed_week_fails_and_deposits_sum_within_a_week(make_challenge, member, record_deposit,
                                                                       frozen_today):
    frozen_today(date(2026, 3, 17))
    challenge = make_challenge(type="fixed_amount", target={"amount": "500", "frequency": "weekly"},
                               start=date(2026, 3, 2), days=21)
    p = _join(challenge, member)
    record_deposit(member, "300", date(2026, 3, 2))
    record_deposit(member, "200", date(2026, 3, 8))  # 300 + 200 meets week 1
    record_deposit(member, "100", date(2026, 3, 16))  # week 3 partly; week 2 (9-15 March) missed
    p = _refresh(p)
    assert [x["met"] for x in p.progress["periods"]] == [True, False, False]
    assert p.progress["ratio"] == "0.3333"
    assert p.status == "failed"  # the missed week makes completion impossible


def test_percentage_with_and_without_a_baseline(make_challenge, make_member, record_deposit, frozen_today):
    frozen_today(date(2026, 3, 10))
    challenge = make_challenge(type="percentage", target={"increase": "20", "baseline": "last_month",
                                                          "min_amount": "800"}, start=date(2026, 3, 1), days=31)
    saver, newcomer = make_member(name="Saver"), make_member(name="Newcomer")
    # February in Nairobi: 1000 counts; 28 Feb 21:30 UTC is 1 March in Nairobi, so it does not.
    record_deposit(saver, "1000", date(2026, 2, 14))
    record_deposit(saver, "999", datetime(2026, 2, 28, 21, 30, tzinfo=UTC))
    p_saver, p_new = _join(challenge, saver), _join(challenge, newcomer)
    assert p_saver.baseline == Decimal("1000.00")
    assert p_new.baseline == Decimal("0.00")
    record_deposit(saver, "600", date(2026, 3, 5))
    record_deposit(newcomer, "600", date(2026, 3, 5))
    p_saver, p_new = _refresh(p_saver), _refresh(p_new)
    assert p_saver.progress["goal"] == "1200.00" and p_saver.progress["ratio"] == "0.5000"
    assert p_new.progress["goal"] == "800.00" and p_new.progress["ratio"] == "0.7500"  # no baseline: min_amount
    record_deposit(newcomer, "200", date(2026, 3, 6))
    assert _refresh(p_new).status == "completed"


def test_missed_week_resets_the_streak_and_the_multiplier(make_challenge, member, record_deposit, frozen_today):
    frozen_today(date(2026, 3, 25))
    challenge = make_challenge(type="streak", target={"consecutive_weeks": 3, "min_amount": "100"},
                               start=date(2026, 3, 2), days=42)
    p = _join(challenge, member)
    record_deposit(member, "100", date(2026, 3, 3))   # W10: streak 1, x1 -> 100 (+50 early bird)
    record_deposit(member, "100", date(2026, 3, 10))  # W11: carried 1 week >= threshold -> x1.5 = 150
    record_deposit(member, "50", date(2026, 3, 17))   # W12: below min_amount, does not count
    record_deposit(member, "100", date(2026, 3, 24))  # W13: streak restarted -> x1
    p = _refresh(p)
    assert p.progress["best_streak"] == 2 and p.progress["current_streak"] == 1
    assert p.status == "active"
    deposit_points = list(PointAward.objects.filter(participant=p, reason="deposit")
                          .order_by("created_at", "pk").values_list("points", flat=True))
    # The 50 KES deposit in W12 earns x1.5 too: W11 qualified before it.
    assert deposit_points == [100, 150, 75, 100]
    assert p.points == 100 + 150 + 75 + 100 + 50


def test_streak_fails_when_too_few_windows_remain(make_challenge, member, record_deposit, frozen_today):
    frozen_today(date(2026, 3, 23))
    challenge = make_challenge(type="streak", target={"consecutive_weeks": 3}, start=date(2026, 3, 2), days=28)
    p = _join(challenge, member)
    record_deposit(member, "100", date(2026, 3, 2))
    record_deposit(member, "100", date(2026, 3, 23))  # W13: only W13 and W14 left, 2 < 3
    assert _refresh(p).status == "failed"


def test_team_reaching_its_amount_below_min_members_completes_only_with_enough_members(
        make_challenge, make_member, record_deposit, frozen_today, notifications):
    from challenges.models import Team
    from challenges.services import team_create, team_join

    frozen_today(date(2026, 3, 10))
    challenge = make_challenge(type="group", target={"team_amount": "1000", "min_members": 3},
                               start=date(2026, 3, 2), days=28)
    a, b, c = make_member(name="A"), make_member(name="B"), make_member(name="C")
    team = team_create(challenge=challenge, user=a, name="Simba")
    team_join(team=team, user=b)
    from challenges.models import BadgeAward

    assert BadgeAward.objects.filter(user=b, badge_key="system:team-player").exists()  # on joining, before saving
    record_deposit(a, "600", date(2026, 3, 9))
    record_deposit(b, "600", date(2026, 3, 9))
    team.refresh_from_db()
    assert team.total_saved == Decimal("1200.00") and team.goal_reached_at is not None
    assert set(Participant.objects.filter(challenge=challenge).values_list("status", flat=True)) == {"active"}
    assert [t for _, t, _ in notifications].count("team_goal_reached") == 2
    team_join(team=team, user=c)  # the third member makes the team complete
    statuses = dict(Participant.objects.filter(challenge=challenge).values_list("user_id", "status"))
    assert statuses == {a.pk: "completed", b.pk: "completed", c.pk: "completed"}
    assert PointAward.objects.filter(participant__challenge=challenge, reason="completion").count() == 3
    assert Team.objects.get(pk=team.pk).members_count == 3


def test_deposit_score_is_idempotent(make_challenge, member, record_deposit, frozen_today):
    from challenges.services import deposit_score

    frozen_today(date(2026, 3, 10))
    challenge = make_challenge()
    p = _join(challenge, member)
    tx = record_deposit(member, "750.50", date(2026, 3, 9))
    before = (_refresh(p).points, PointAward.objects.count(), Contribution.objects.count())
    deposit_score(transaction_id=tx.pk)
    deposit_score(transaction_id=tx.pk)
    p = _refresh(p)
    assert (p.points, PointAward.objects.count(), Contribution.objects.count()) == before
    assert p.total_contributed == Decimal("750.50")
    challenge.refresh_from_db()
    assert challenge.total_saved == Decimal("750.50")


def test_tagged_deposit_counts_only_there_untagged_counts_everywhere(make_challenge, member, record_deposit,
                                                                     frozen_today):
    frozen_today(date(2026, 3, 10))
    first, second = make_challenge(name="First"), make_challenge(name="Second")
    p1, p2 = _join(first, member), _join(second, member)
    record_deposit(member, "100", date(2026, 3, 9), challenge=first)
    record_deposit(member, "40", date(2026, 3, 9))
    assert _refresh(p1).total_contributed == Decimal("140.00")
    assert _refresh(p2).total_contributed == Decimal("40.00")


def test_unverified_or_out_of_window_deposits_score_nothing(make_challenge, member, record_deposit, frozen_today):
    frozen_today(date(2026, 3, 5))
    challenge = make_challenge(start=date(2026, 3, 2), days=7)
    p = _join(challenge, member)
    record_deposit(member, "100", date(2026, 3, 9))  # after end_date (8 March)
    record_deposit(member, "100", date(2026, 3, 3), status="pending")
    assert _refresh(p).total_contributed == 0 and PointAward.objects.count() == 0


def test_badges_are_awarded_exactly_once(make_challenge, member, record_deposit, frozen_today, notifications):
    from challenges.models import BadgeAward

    frozen_today(date(2026, 3, 10))
    _join(make_challenge(), member)
    record_deposit(member, "6000", date(2026, 3, 2))
    record_deposit(member, "5000", date(2026, 3, 9))
    keys = list(BadgeAward.objects.filter(user=member).values_list("badge_key", flat=True))
    assert len(keys) == len(set(keys))
    assert {"system:first-deposit", "system:saved-10k", "system:big-saver", "system:early-bird"} <= set(keys)
    assert "system:saved-100k" not in keys
    assert [t for _, t, _ in notifications].count("badge_earned") == len(keys)


def test_referral_bonus_goes_to_the_referrer_once(make_member, record_deposit, frozen_today):
    frozen_today(date(2026, 3, 10))
    referrer = make_member(name="Referrer")
    friend = make_member(name="Friend", referred_by=referrer)
    record_deposit(friend, "100", date(2026, 3, 2))
    record_deposit(friend, "100", date(2026, 3, 3))
    awards = PointAward.objects.filter(user=referrer, reason="referral")
    assert list(awards.values_list("points", flat=True)) == [500]
    from challenges.models import BadgeAward

    assert BadgeAward.objects.filter(user=referrer, badge_key="system:connector").count() == 1


def test_scoring_rules_validation_names_the_rule():
    from django.core.exceptions import ValidationError

    from challenges.services import scoring_rules_validate

    assert scoring_rules_validate(data={"points_per_kes": "2", "early_bird_days": 5}) == {
        "points_per_kes": 2.0, "early_bird_days": 5}
    with pytest.raises(ValidationError) as error:
        scoring_rules_validate(data={"streak_multiplier": 0.5, "bonus": 1, "early_bird_days": "x"})
    messages = error.value.message_dict["scoring"]
    assert any(m.startswith("streak_multiplier:") for m in messages)
    assert any(m.startswith("bonus:") for m in messages) and any(m.startswith("early_bird_days:") for m in messages)


def test_org_scoring_rules_change_the_points(tenant, org, make_challenge, member, record_deposit, frozen_today):
    frozen_today(date(2026, 3, 10))
    org.scoring = {**(org.scoring or {}), "points_per_kes": 2, "early_bird_bonus": 0}
    org.save(update_fields=["scoring"])
    try:
        challenge = make_challenge()
        p = _join(challenge, member)
        record_deposit(member, "100.75", date(2026, 3, 9))
        assert _refresh(p).points == 201  # floor(100.75 x 2)
    finally:
        org.scoring = {k: v for k, v in org.scoring.items() if k not in ("points_per_kes", "early_bird_bonus")}
        org.save(update_fields=["scoring"])
