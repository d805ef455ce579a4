"""Reversed deposits are taken back out of the game (challenges/services/reversals.py, docs/GAMIFICATION.md
"Reversed deposits"): hand-worked cases per rule, idempotency, the drift check and the history."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from challenges.models import Challenge, Contribution, Participant, PointAward, ReversedDeposit, Team
from challenges.services import deposit_reversal_apply, deposits_reversed_sweep
from challenges.selectors import leaderboard_read, member_achievements
from challenges.services import (
    challenges_lifecycle,
    local_today,
    participant_expected,
    participant_join,
    rules_for,
    scores_recompute,
    team_create,
    team_join,
)

START = date(2026, 3, 2)  # a Monday: ISO week 2026-W10


@pytest.fixture
def reverse(django_capture_on_commit_callbacks, org_admin):
    """Reverse a deposit as an org admin would (payments.transaction_reverse); on-commit work runs."""
    from payments.services import transaction_reverse

    def run(tx, reason="refunded to the customer"):
        with django_capture_on_commit_callbacks(execute=True):
            return transaction_reverse(transaction_id=tx.pk, reason=reason, actor=org_admin)

    return run


@pytest.fixture
def record_deposit(record_deposit, django_capture_on_commit_callbacks):
    """Score deposits with their after-commit board write-through, as in production (the board
    must not keep scores from before a deposit when a test reads it)."""
    def record(*args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return record_deposit(*args, **kwargs)

    return record


@pytest.fixture
def board_built():
    """Read a board once so it exists in Redis: later reads see the write-through, not a rebuild."""
    def read(challenge, user):
        return leaderboard_read(challenge_id=challenge.pk, user=user)["me"]

    return read


def _p(participant) -> Participant:
    return Participant.objects.select_related("challenge", "team").get(pk=participant.pk)


def _rows(participant) -> list[tuple[str, int]]:
    return list(PointAward.objects.filter(participant=participant).order_by("pk").values_list("reason", "points"))


def assert_consistent(*participants):
    """Award rows add up to the stored points, which equal a recompute from the remaining deposits,
    and the drift check reports nothing."""
    rules, today = rules_for(), local_today()
    for participant in participants:
        p = _p(participant)
        expected = participant_expected(participant=p, rules=rules, today=today)
        assert sum(points for _, points in _rows(p)) == p.points == expected["points"] >= 0
        assert p.total_contributed == expected["total_contributed"]
        assert p.progress == expected["progress"]
        assert scores_recompute(challenge_id=p.challenge_id) == []


def test_reversal_takes_the_deposit_out_of_points_progress_totals_and_board(
        make_challenge, make_member, record_deposit, reverse, frozen_today, notifications, board_built):
    frozen_today(date(2026, 3, 10))
    challenge = make_challenge(type="fixed_amount", target={"amount": "500", "frequency": "weekly"}, start=START,
                               days=28, name="Weekly 500")
    saver, rival = make_member(name="Saver"), make_member(name="Rival")
    p, r = (participant_join(challenge=challenge, user=u)[0] for u in (saver, rival))
    record_deposit(saver, "300", date(2026, 3, 3))  # 300 points + 50 early bird (first 3 days)
    kept_version = _p(p).version
    refund = record_deposit(saver, "300", date(2026, 3, 5))  # week 10 reaches 600: met
    record_deposit(rival, "400", date(2026, 3, 3))  # 400 + 50
    assert (_p(p).points, _p(r).points) == (650, 450)
    assert board_built(challenge, saver)["rank"] == 1

    entry = reverse(refund)

    p = _p(p)
    assert entry.amount == Decimal("-300.00")
    assert _rows(p)[-1] == ("reversal", -300)
    assert (p.points, p.total_contributed) == (350, Decimal("300.00"))
    assert p.version > kept_version
    # Week 10 (2-8 March) is over and now holds 300 of 500: completing is impossible.
    assert p.status == "failed" and p.progress["periods_met"] == 0
    assert not Contribution.objects.filter(transaction=refund).exists()
    challenge.refresh_from_db()
    assert challenge.total_saved == Decimal("700.00")
    me = board_built(challenge, saver)  # the Redis board was written through after commit
    assert (me["rank"], me["score"], me["total_saved"], me["gap_to_next"]) == (2, 350, "300.00", 100)
    assert_consistent(p, r)
    ((user_id, context),) = [(u, c) for u, t, c in notifications if t == "deposit_reversed"]
    assert user_id == saver.pk
    assert (context["amount"], context["points"], context["challenge"]) == ("300.00", 300, "Weekly 500")
    award = PointAward.objects.get(participant=p, reason="reversal")
    assert (award.transaction_id, award.amount) == (refund.pk, Decimal("-300.00"))
    assert str(award) == "-300 reversal"


def test_a_reversal_is_clawed_back_once(make_challenge, member, record_deposit, reverse, frozen_today,
                                        notifications):
    from analytics.models import Event

    frozen_today(date(2026, 3, 4))
    challenge = make_challenge(type="streak", target={"consecutive_weeks": 2}, start=START, days=28)
    participant_join(challenge=challenge, user=member)
    tx = record_deposit(member, "200", date(2026, 3, 3))
    reverse(tx)
    state = (_p(Participant.objects.get(user=member)).points, PointAward.objects.count(),
             Challenge.objects.get(pk=challenge.pk).total_saved)
    # the on-commit call already ran: the task, the sweep and the drift fix change nothing
    assert deposit_reversal_apply(transaction_id=tx.pk) == 0
    frozen_today(date(2026, 3, 4), hour=13)  # old enough for the sweep to pick it up, were it not handled
    assert deposits_reversed_sweep() == 0
    assert scores_recompute(fix=True) == []
    assert (_p(Participant.objects.get(user=member)).points, PointAward.objects.count(),
            Challenge.objects.get(pk=challenge.pk).total_saved) == state == (0, 3, Decimal("0.00"))
    assert ReversedDeposit.objects.filter(transaction=tx).count() == 1
    assert [t for _, t, _ in notifications].count("deposit_reversed") == 1
    event = Event.objects.get(type="deposit_reversed")
    assert event.properties["transaction_id"] == tx.pk and event.properties["points"] == -250
    assert event.properties["challenges"] == [challenge.pk]


def test_the_early_bird_bonus_goes_with_its_deposit_and_can_be_earned_again(make_challenge, member, record_deposit,
                                                                             reverse, frozen_today):
    frozen_today(date(2026, 3, 3))
    challenge = make_challenge(type="streak", target={"consecutive_weeks": 2}, start=START, days=28)
    p, _ = participant_join(challenge=challenge, user=member)
    early = record_deposit(member, "100", date(2026, 3, 2))
    assert _p(p).points == 150
    reverse(early)
    assert _rows(p)[-1] == ("reversal", -150) and _p(p).points == 0
    record_deposit(member, "100", date(2026, 3, 3))  # still inside the first 3 days: the bonus is paid again
    assert _p(p).points == 150
    assert [reason for reason, _ in _rows(p)].count("early_bird") == 2
    assert_consistent(p)


def test_later_multipliers_fall_and_a_late_deposit_tops_them_up_again(make_challenge, member, record_deposit,
                                                                       reverse, frozen_today):
    """Weekly streak, defaults (x1.5 once one week is carried): W10 100, W11 100, W12 100 =
    100 + 50 early + 150 + 150 = 450. Reversing W10: W11 starts the streak (100), W12 carries one
    week (150), no early bird: 250, one row of -200. A late W10 deposit restores 450 (top-up +50)."""
    frozen_today(date(2026, 3, 18))
    challenge = make_challenge(type="streak", target={"consecutive_weeks": 4}, start=START, days=42)
    p, _ = participant_join(challenge=challenge, user=member)
    first = record_deposit(member, "100", date(2026, 3, 2))
    w11 = record_deposit(member, "100", date(2026, 3, 9))
    record_deposit(member, "100", date(2026, 3, 16))
    assert _p(p).points == 450
    reverse(first)
    assert _rows(p)[-1] == ("reversal", -200) and _p(p).points == 250
    assert Contribution.objects.get(participant=p, transaction=w11).points_awarded == 100
    assert _p(p).progress["best_streak"] == 2
    assert_consistent(p)
    record_deposit(member, "100", date(2026, 3, 4))  # verified late, dated in W10 and in the first 3 days
    assert _p(p).points == 450
    assert ("streak_topup", 50) in _rows(p)
    assert Contribution.objects.get(participant=p, transaction=w11).points_awarded == 150
    assert_consistent(p)


def test_a_running_challenge_is_uncompleted_and_can_be_completed_again(make_challenge, member, record_deposit,
                                                                       reverse, frozen_today):
    """Percentage with no baseline: the goal is min_amount 1,000. 600 + 500 completes (+100)."""
    frozen_today(date(2026, 3, 10))
    challenge = make_challenge(type="percentage", target={"increase": "10", "baseline": "last_month",
                                                          "min_amount": "1000"}, start=START, days=28)
    p, _ = participant_join(challenge=challenge, user=member)
    record_deposit(member, "600", date(2026, 3, 5))
    refund = record_deposit(member, "500", date(2026, 3, 6))
    p = _p(p)
    assert (p.status, p.points) == ("completed", 1200) and p.completed_at
    reverse(refund)
    p = _p(p)
    assert (p.status, p.completed_at, p.points) == ("active", None, 600)
    assert _rows(p)[-1] == ("reversal", -600)  # 500 for the deposit and the 100 completion bonus
    assert p.progress["ratio"] == "0.6000"
    assert_consistent(p)
    record_deposit(member, "450", date(2026, 3, 10))  # W11 carries W10: x1.5 = 675, and completes again
    p = _p(p)
    assert (p.status, p.points) == ("completed", 600 + 675 + 100) and p.completed_at
    assert [reason for reason, _ in _rows(p)].count("completion") == 2
    assert_consistent(p)


def test_a_settled_challenge_keeps_its_result_but_not_the_points(make_challenge, make_member, record_deposit,
                                                                 reverse, frozen_today):
    frozen_today(date(2026, 3, 4))
    challenge = make_challenge(type="fixed_amount", target={"amount": "100", "frequency": "weekly"}, start=START,
                               days=7)
    winner, second = make_member(name="W"), make_member(name="S")
    w, s = (participant_join(challenge=challenge, user=u)[0] for u in (winner, second))
    refund = record_deposit(winner, "150", date(2026, 3, 3))
    record_deposit(winner, "50", date(2026, 3, 4))
    record_deposit(second, "120", date(2026, 3, 4))
    frozen_today(date(2026, 3, 9))
    challenges_lifecycle()  # settles: final ranks frozen, both completed
    assert (_p(w).final_rank, _p(w).status, _p(w).points) == (1, "completed", 150 + 50 + 50 + 100)
    reverse(refund)
    w = _p(w)
    assert (w.status, w.final_rank, w.completed_at is not None) == ("completed", 1, True)
    assert (w.points, w.total_contributed) == (50 + 50 + 100, Decimal("50.00"))
    assert _rows(w)[-1] == ("reversal", -150)
    assert leaderboard_read(challenge_id=challenge.pk, user=winner)["me"]["rank"] == 2  # the live board moves
    assert_consistent(w, s)


def test_a_team_below_its_amount_again_uncompletes_every_member(make_challenge, make_member, record_deposit, reverse,
                                                                frozen_today, notifications):
    from challenges import leaderboard

    frozen_today(date(2026, 3, 10))
    challenge = make_challenge(type="group", target={"team_amount": "1000", "min_members": 2}, start=START, days=28)
    a, b = make_member(name="A"), make_member(name="B")
    team = team_create(challenge=challenge, user=a, name="Simba")
    team_join(team=team, user=b)
    pa, pb = (Participant.objects.get(challenge=challenge, user=u) for u in (a, b))
    record_deposit(a, "600", date(2026, 3, 5))
    refund = record_deposit(b, "500", date(2026, 3, 6))
    team.refresh_from_db()
    assert team.total_saved == Decimal("1100.00") and team.goal_reached_at
    assert (_p(pa).status, _p(pb).status) == ("completed", "completed")
    reverse(refund)
    team.refresh_from_db()
    assert team.total_saved == Decimal("600.00") and team.goal_reached_at is None
    pa, pb = _p(pa), _p(pb)
    assert (pa.status, pb.status) == ("active", "active")
    assert _rows(pa)[-1] == ("reversal", -100) and _rows(pb)[-1] == ("reversal", -600)
    assert (pa.points, pb.points) == (600, 0)
    assert Decimal(pa.progress["team_total"]) == 600 and Decimal(pb.progress["saved"]) == 0
    teammate_row = PointAward.objects.get(participant=pa, reason="reversal")
    assert teammate_row.amount is None and "teammate" in teammate_row.detail
    assert leaderboard.team_standings(challenge.pk) == [(team.pk, Decimal("600.00"))]
    assert_consistent(pa, pb)
    # B is told about B's own deposit; A, whose points fell with the team, is told why (not whose deposit)
    told = [(user_id, template) for user_id, template, _ in notifications if "reversed" in template or "lost" in template]
    assert sorted(told) == sorted([(b.pk, "deposit_reversed"), (a.pk, "team_goal_lost")])
    (lost,) = [c for _, t, c in notifications if t == "team_goal_lost"]
    assert (lost["team"], lost["challenge"], lost["points"]) == ("Simba", challenge.name, 100)
    assert deposit_reversal_apply(transaction_id=refund.pk) == 0  # handled again: nobody is told twice
    assert sum(1 for _, t, _ in notifications if t in ("deposit_reversed", "team_goal_lost")) == 2
    record_deposit(b, "400", date(2026, 3, 10))  # back to 1,000: both complete again, +100 each
    assert (_p(pa).points, _p(pb).points) == (700, 500)  # B has no W10 deposit left: no streak multiplier
    assert Team.objects.get(pk=team.pk).goal_reached_at is not None
    assert_consistent(pa, pb)


def test_an_untagged_deposit_comes_out_of_every_challenge_it_counted_toward(make_challenge, make_member, member,
                                                                            record_deposit, reverse, frozen_today,
                                                                            notifications):
    frozen_today(date(2026, 3, 10))
    weekly = make_challenge(type="fixed_amount", target={"amount": "100", "frequency": "weekly"}, start=START,
                            days=28, name="Weekly")
    streak = make_challenge(type="streak", target={"consecutive_weeks": 3}, start=START, days=28, name="Streak")
    other = make_challenge(type="streak", target={"consecutive_weeks": 3}, start=START, days=28, name="Other")
    mine = [participant_join(challenge=c, user=member)[0] for c in (weekly, streak)]
    bystander, _ = participant_join(challenge=other, user=make_member(name="Bystander"))
    refund = record_deposit(member, "100", date(2026, 3, 9))
    reverse(refund)
    assert [(_rows(p)[-1], _p(p).points) for p in mine] == [(("reversal", -100), 0), (("reversal", -100), 0)]
    assert _rows(bystander) == []
    (context,) = [c for _, t, c in notifications if t == "deposit_reversed"]
    assert (context["points"], context["challenge"]) == (200, "Weekly, Streak")
    assert_consistent(*mine)


def test_a_deposit_reversed_before_it_was_scored_is_never_scored(make_challenge, member, record_deposit, reverse,
                                                                 frozen_today, notifications):
    from challenges.services import deposit_score

    frozen_today(date(2026, 3, 10))
    challenge = make_challenge(start=START)
    p, _ = participant_join(challenge=challenge, user=member)
    tx = record_deposit(member, "500", date(2026, 3, 9), score=False)
    reverse(tx)
    deposit_score(transaction_id=tx.pk)
    assert (_p(p).points, PointAward.objects.count()) == (0, 0)
    assert ReversedDeposit.objects.filter(transaction=tx).exists()
    assert "deposit_reversed" not in [t for _, t, _ in notifications]


def test_a_deposit_that_counted_nowhere_still_tells_the_member(member, record_deposit, reverse, frozen_today,
                                                               notifications):
    frozen_today(date(2026, 3, 10))
    tx = record_deposit(member, "80", date(2026, 3, 9))  # no challenge joined
    reverse(tx)
    (context,) = [c for _, t, c in notifications if t == "deposit_reversed"]
    assert (context["amount"], context["points"], context["challenge"]) == ("80.00", "", "")


def test_only_take_back_rows_may_be_negative(member, tenant):
    for reason in ("deposit", "streak_topup", "early_bird", "completion", "referral"):
        with pytest.raises(IntegrityError), transaction.atomic():
            PointAward.objects.create(user=member, reason=reason, points=-1)
    PointAward.objects.create(user=member, reason="reversal", points=-1)
    PointAward.objects.create(user=member, reason="streak_fix", points=-1)  # issue 18: a late deposit moved the earn-back


def test_a_lost_claw_back_is_reported_by_the_drift_check_and_fixed(make_challenge, member, record_deposit,
                                                                   frozen_today, org_admin):
    from payments.services import transaction_reverse

    frozen_today(date(2026, 3, 10))
    challenge = make_challenge(start=START)
    p, _ = participant_join(challenge=challenge, user=member)
    record_deposit(member, "200", date(2026, 3, 9))
    refund = record_deposit(member, "300", date(2026, 3, 10))
    transaction_reverse(transaction_id=refund.pk, reason="lost hand-over", actor=org_admin)  # on-commit never runs
    drift, metrics = scores_recompute()
    assert drift["participant"] == p.pk and drift["reversed_still_counted"] == [refund.pk]
    # the badges' figures still hold the reversed 300 too
    assert metrics["member_metrics"] == member.pk
    assert (metrics["stored"]["total_saved"], metrics["expected"]["total_saved"]) == (Decimal("500"), Decimal("200"))
    assert scores_recompute(fix=True)[0]["reversed_still_counted"] == [refund.pk]
    assert _rows(p)[-1] == ("reversal", -300)
    assert_consistent(p)
    assert scores_recompute() == []


def test_the_sweep_claws_back_a_lost_hand_over(make_challenge, member, record_deposit, frozen_today, org_admin):
    from payments.services import transaction_reverse

    frozen_today(date(2026, 3, 10))
    challenge = make_challenge(start=START)
    p, _ = participant_join(challenge=challenge, user=member)
    refund = record_deposit(member, "300", date(2026, 3, 10))
    transaction_reverse(transaction_id=refund.pk, reason="lost hand-over", actor=org_admin)
    assert deposits_reversed_sweep() == 0  # too recent: the on-commit call may still be running
    frozen_today(date(2026, 3, 10), hour=13)
    assert deposits_reversed_sweep() == 1
    assert _p(p).points == 0
    assert deposits_reversed_sweep() == 0


def test_the_points_history_shows_the_reversal_with_a_label(make_challenge, make_member, record_deposit, reverse,
                                                            frozen_today, api_client_for, org, client_for):
    frozen_today(date(2026, 3, 10))
    challenge = make_challenge(start=START, name="Weekly 500")
    member = make_member(name="Wanjiru", language="sw")
    participant_join(challenge=challenge, user=member)
    reverse(record_deposit(member, "300", date(2026, 3, 9)))
    history = member_achievements(member=member)["history"]
    assert [(h["reason"], h["points"]) for h in history] == [("reversal", -300), ("deposit", 300)]
    assert history[0]["reason_label"] == "Amana imerejeshwa"  # the member's language
    assert history[0]["challenge"] == {"id": challenge.pk, "name": "Weekly 500"}
    api = api_client_for(org)
    api.force_authenticate(member)
    body = api.get(f"/api/v1/members/{member.pk}/achievements").json()
    assert body["points"] == 0 and body["history"][0]["reason_label"] == "Amana imerejeshwa"
    web = client_for(org)
    web.force_login(member)
    page = web.get("/badges/").content.decode()
    assert "Historia ya pointi" in page and "Amana imerejeshwa" in page and "-300" in page


def test_team_rows_stay_within_the_team(make_challenge, make_member, record_deposit, reverse, frozen_today):
    """Teams of other challenges and other teams of the same challenge are left alone."""
    frozen_today(date(2026, 3, 10))
    challenge = make_challenge(type="group", target={"team_amount": "300", "min_members": 1}, start=START, days=28)
    a, b = make_member(name="A"), make_member(name="B")
    simba, chui = team_create(challenge=challenge, user=a, name="Simba"), team_create(challenge=challenge, user=b,
                                                                                       name="Chui")
    refund = record_deposit(a, "300", date(2026, 3, 9))
    record_deposit(b, "300", date(2026, 3, 9))
    reverse(refund)
    assert Team.objects.get(pk=simba.pk).total_saved == Decimal("0.00")
    assert Team.objects.get(pk=chui.pk).total_saved == Decimal("300.00")
    pb = Participant.objects.get(challenge=challenge, user=b)
    assert pb.status == "completed" and not PointAward.objects.filter(participant=pb, reason="reversal").exists()
    assert_consistent(Participant.objects.get(challenge=challenge, user=a), pb)


def test_badge_metrics_and_baselines_count_a_reversed_deposit_once(member, record_deposit, reverse, frozen_today):
    """The original is `reversed` and its mirror entry is a verified negative row: leaving out the
    first but adding the second would take the money off twice."""
    from challenges.metrics import MetricsLoader
    from challenges.services import member_deposits_between, organization_zone

    frozen_today(date(2026, 3, 10))
    record_deposit(member, "5000", date(2026, 2, 10))
    reverse(record_deposit(member, "2000", date(2026, 2, 12)))
    metrics = MetricsLoader([member.pk], organization_zone()).metric(member.pk)
    assert (metrics("total_saved"), metrics("deposits_count"), metrics("largest_deposit")) == (5000, 1, 5000)
    assert member_deposits_between(user_id=member.pk, first=date(2026, 2, 1), last=date(2026, 3, 31),
                                   zone=organization_zone()) == Decimal("5000.00")
