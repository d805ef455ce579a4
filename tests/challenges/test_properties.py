"""Property-based tests (hypothesis) for the scoring invariants, through deposit_score and PostgreSQL."""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from challenges import scoring
from challenges.models import Challenge, Participant, PointAward
from challenges.services import deposit_reversal_apply
from challenges.services import participant_expected, participant_join, rules_for, team_create
from payments.services import transaction_reverse

START = date(2026, 3, 2)
TARGETS = {
    "fixed_amount": {"amount": "300", "frequency": "weekly"},
    "percentage": {"increase": "10", "baseline": "last_month", "min_amount": "1000"},
    "streak": {"consecutive_days": 5, "min_amount": "50"},
    "group": {"team_amount": "2000", "min_members": 1},
}

deposits_strategy = st.lists(
    st.tuples(st.integers(min_value=0, max_value=27),
              st.decimals(min_value=Decimal("0.01"), max_value=Decimal("5000"), places=2)),
    min_size=1, max_size=8,
)


class Rollback(Exception):
    pass


def _amounts(progress: dict) -> dict:
    """Progress with amounts as numbers: "0" (a recompute with no deposits left) is "0.00" (a join)."""
    def value(v):
        try:
            return Decimal(v) if isinstance(v, str) else v
        except ArithmeticError:
            return v

    return {k: value(v) for k, v in progress.items()}


def _play_events(make_challenge, make_member, record_deposit, type_, deposits, events):
    """Play `events` ("deposit", i) / ("reverse", i) in a rolled-back savepoint; return the stored state."""
    result = {}
    try:
        with transaction.atomic():
            challenge = make_challenge(type=type_, target=TARGETS[type_], start=START, days=28)
            user = make_member()
            participant, _ = participant_join(challenge=challenge, user=user)
            if type_ == "group":
                team_create(challenge=challenge, user=user, name="Solo")
            ledger = {}
            for kind, index in events:
                if kind == "deposit":
                    offset, amount = deposits[index]
                    ledger[index] = record_deposit(user, amount, START + timedelta(days=offset))
                else:
                    transaction_reverse(transaction_id=ledger[index].pk, reason="property test")
                    deposit_reversal_apply(transaction_id=ledger[index].pk)  # what on-commit runs
            participant = Participant.objects.select_related("challenge", "team").get(pk=participant.pk)
            awards = list(PointAward.objects.filter(participant=participant).values_list("points", flat=True))
            result = {"metrics": _metrics_stored(user.pk), "metrics_expected": _metrics_expected(user.pk),
                      "points": participant.points, "total": participant.total_contributed,
                      "status": participant.status, "progress": participant.progress, "awards": awards,
                      "challenge_total": Challenge.objects.get(pk=challenge.pk).total_saved,
                      "team_total": participant.team.total_saved if participant.team_id else None,
                      "expected": participant_expected(participant=participant, rules=rules_for(), today=START)}
            raise Rollback
    except Rollback:
        pass
    return result


def _metrics_stored(user_id: int) -> dict | None:
    """The member's metrics row as the scoring batch (and reversals) left it."""
    from challenges.models import MemberMetrics
    from challenges.services.member_metrics import FIGURES

    row = MemberMetrics.objects.filter(user_id=user_id).first()
    return None if row is None else {name: getattr(row, name) for name in FIGURES}


def _metrics_expected(user_id: int) -> dict:
    """The same row rebuilt from the ledger, as recompute_scores rebuilds it."""
    from challenges.services.member_metrics import FIGURES, member_metrics_expected

    row = member_metrics_expected(user_ids=[user_id])[user_id]
    return {name: getattr(row, name) for name in FIGURES}


def _play(make_challenge, make_member, record_deposit, type_, deposits, order):
    """Score `deposits` in `order` in a savepoint that is rolled back; return what the engine stored."""
    return _play_events(make_challenge, make_member, record_deposit, type_, deposits,
                        [("deposit", index) for index in order])


@pytest.mark.parametrize("type_", sorted(TARGETS))
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(deposits=deposits_strategy, seed=st.integers(min_value=0, max_value=10 ** 6))
def test_order_does_not_matter_and_recompute_equals_incremental(type_, deposits, seed, make_challenge, make_member,
                                                                 record_deposit, frozen_today):
    frozen_today(START)
    in_order = _play(make_challenge, make_member, record_deposit, type_, deposits, list(range(len(deposits))))
    shuffled = list(range(len(deposits)))
    random.Random(seed).shuffle(shuffled)
    replayed = _play(make_challenge, make_member, record_deposit, type_, deposits, shuffled)
    # points never negative, award rows included
    assert in_order["points"] >= 0 and all(points >= 0 for points in in_order["awards"])
    assert sum(in_order["awards"]) == in_order["points"]
    # replaying in any order gives the same totals and progress
    for key in ("points", "total", "status", "progress"):
        assert in_order[key] == replayed[key], key
    # a recompute from the deposits alone equals the incremental result
    # the member metrics row badges read: kept incrementally, equal to the row rebuilt from the ledger
    assert in_order["metrics"] == replayed["metrics"] == in_order["metrics_expected"]
    for run in (in_order, replayed):
        assert run["expected"]["points"] == run["points"]
        assert run["expected"]["total_contributed"] == run["total"]
        assert run["expected"]["progress"] == run["progress"]


@settings(max_examples=200, deadline=None)
@given(deposits=st.lists(st.tuples(st.integers(0, 60), st.decimals(min_value=Decimal("0.01"),
                                                                    max_value=Decimal("100000"), places=2)),
                         max_size=20),
       extra=st.tuples(st.integers(0, 60), st.decimals(min_value=Decimal("0.01"), max_value=Decimal("1000"), places=2)),
       unit=st.sampled_from(["consecutive_days", "consecutive_weeks"]), every=st.integers(0, 4))
def test_adding_a_deposit_never_lowers_any_deposits_points(deposits, extra, unit, every):
    """The engine's monotonicity, which makes top-ups the only correction needed, with one exception
    (issue 18): a deposit that changes which missed windows the freezes and the one earn-back keep (an
    earlier window earned back, a freeze earned and spent sooner) can break a later kept window; the
    scoring batch then takes back what keeping it had earned (streak_fix). Otherwise nothing is lower."""
    from challenges import streaks

    spec = scoring.ChallengeSpec("streak", {unit: 3, "min_amount": "100"}, START, START + timedelta(days=60),
                                 freeze_every=every)
    rules = scoring.Rules()
    deposits = [(START + timedelta(days=offset), amount) for offset, amount in deposits]
    extra = (START + timedelta(days=extra[0]), extra[1])
    before = scoring.deposit_points(spec, rules, deposits)
    after = scoring.deposit_points(spec, rules, [*deposits, extra])
    assert all(points >= 0 for points, _ in after)

    kept_before = streaks.bridged_windows(spec, deposits)
    everything = [*deposits, extra]
    kept_after = streaks.bridged_windows(spec, everything) | scoring.qualifying_windows(spec, everything)
    if kept_before <= kept_after:  # every window kept before is still kept (or now saved in)
        assert all(b[0] <= a[0] for b, a in zip(before, after[:len(before)], strict=True))


@settings(max_examples=300, deadline=None)
@given(days=st.lists(st.integers(0, 120), max_size=25), seed=st.integers(0, 10 ** 6))
def test_day_runs_kept_one_day_at_a_time_equal_the_runs_of_all_days(days, seed):
    """The member metrics row's runs: adding days in any order (a late deposit filling a gap joins two
    runs) gives the runs of the whole set, and the best streaks equal a count over every day."""
    from challenges import metrics

    dates = [START + timedelta(days=offset) for offset in days]
    random.Random(seed).shuffle(dates)
    runs: list = []
    for day in dates:
        runs = metrics.runs_add(runs, day)
    assert runs == metrics.runs_from_days(dates)
    for unit in (scoring.DAY, scoring.WEEK):
        assert metrics.runs_best(runs, unit) == metrics.best_run(dates, unit)


def _play_members(make_challenge, make_member, record_deposit, deposits, *, batched: bool):
    """Two members in two overlapping challenges (one a streak, one a weekly target); `deposits` are
    (member, day offset, amount). Scored one by one, or all together in one deposits_score batch."""
    from challenges.services import deposits_score

    result = {}
    try:
        with transaction.atomic():
            challenges = [make_challenge(type="streak", target=TARGETS["streak"], start=START, days=28),
                          make_challenge(type="fixed_amount", target=TARGETS["fixed_amount"], start=START, days=28)]
            members = [make_member(), make_member()]
            for challenge in challenges:
                for member in members:
                    participant_join(challenge=challenge, user=member)
            txs = [record_deposit(members[who], amount, START + timedelta(days=offset), score=not batched)
                   for who, offset, amount in deposits]
            if batched:
                assert deposits_score(transaction_ids=[tx.pk for tx in txs]) == sorted(tx.pk for tx in txs)
                assert deposits_score(transaction_ids=[tx.pk for tx in txs]) == []  # idempotent
            rules = rules_for()
            for p in Participant.objects.filter(challenge__in=challenges).select_related("challenge", "team"):
                key = (challenges.index(p.challenge), members.index(p.user))
                expected = participant_expected(participant=p, rules=rules, today=START)
                awards = sum(PointAward.objects.filter(participant=p).values_list("points", flat=True))
                result[key] = {"points": p.points, "total": p.total_contributed, "status": p.status,
                               "progress": p.progress, "awards": awards, "expected_points": expected["points"],
                               "challenge_total": p.challenge.total_saved}
            for index, member in enumerate(members):
                result[("metrics", index)] = _metrics_stored(member.pk)
                result[("metrics_expected", index)] = _metrics_expected(member.pk)
            raise Rollback
    except Rollback:
        pass
    return result


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(deposits=st.lists(st.tuples(st.integers(0, 1), st.integers(min_value=0, max_value=27),
                                   st.decimals(min_value=Decimal("0.01"), max_value=Decimal("2000"), places=2)),
                         min_size=1, max_size=10))
def test_a_batch_scores_exactly_like_one_deposit_at_a_time(deposits, make_challenge, make_member, record_deposit,
                                                            frozen_today):
    frozen_today(START + timedelta(days=27))
    one_by_one = _play_members(make_challenge, make_member, record_deposit, deposits, batched=False)
    batched = _play_members(make_challenge, make_member, record_deposit, deposits, batched=True)
    assert batched == one_by_one
    for index in (0, 1):  # members without a deposit have no row; the rebuilt one is all zeros then
        if batched[("metrics", index)] is not None:
            assert batched[("metrics", index)] == batched[("metrics_expected", index)]
    for run in (v for k, v in batched.items() if k[0] not in ("metrics", "metrics_expected")):
        assert run["points"] == run["awards"] == run["expected_points"] >= 0
@pytest.mark.parametrize("type_", sorted(TARGETS))
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(deposits=deposits_strategy, data=st.data())
def test_reversals_leave_the_score_of_the_deposits_that_stayed(type_, deposits, data, make_challenge, make_member,
                                                               record_deposit, frozen_today):
    """Random deposits, some reversed at random moments after they arrived: points never go negative,
    award rows (reversal rows included) add up to the points, a recompute equals the stored score, and
    the result is the same as if only the deposits that stayed had ever been made, in any order."""
    frozen_today(START)
    reversed_ = data.draw(st.sets(st.sampled_from(range(len(deposits)))), label="reversed")
    events = [("deposit", i) for i in data.draw(st.permutations(range(len(deposits))), label="order")]
    for index in sorted(reversed_):
        after = events.index(("deposit", index))
        position = data.draw(st.integers(min_value=after + 1, max_value=len(events)), label=f"reverse {index}")
        events.insert(position, ("reverse", index))
    played = _play_events(make_challenge, make_member, record_deposit, type_, deposits, events)
    stayed = [("deposit", i) for i in range(len(deposits)) if i not in reversed_]
    clean = _play_events(make_challenge, make_member, record_deposit, type_, deposits, stayed)
    assert played["points"] >= 0
    assert sum(played["awards"]) == played["points"] == played["expected"]["points"]
    assert played["expected"]["total_contributed"] == played["total"]
    assert played["expected"]["progress"] == played["progress"]
    # the member metrics row: rebuilt on each reversal, it holds exactly the deposits that stayed
    assert played["metrics"] == played["metrics_expected"] == clean["metrics_expected"]
    for key in ("points", "total", "status", "challenge_total", "team_total"):
        assert played[key] == clean[key], key
    assert _amounts(played["progress"]) == _amounts(clean["progress"])
    assert all(points >= 0 for points in clean["awards"])


# --- issue 18: personal goals and streaks that forgive ------------------------------------------------
def _play_forgiving(make_challenge, make_member, record_deposit, frozen_today, org, kind, deposits, order):
    """Score weekly deposits in `order` (a goal or a weekly streak challenge, freezes every 2 weeks), let
    the beat close the windows, and return the stored score and the freeze rows (rolled back)."""
    from challenges.freezes import freezes_recompute, freezes_sync_all
    from challenges.goals import goal_create
    from challenges.models import StreakFreeze

    result = {}
    try:
        with transaction.atomic():
            org.scoring = {**(org.scoring or {}), "freeze_every": 2}
            org.save(update_fields=["scoring"])
            frozen_today(START)
            user = make_member()
            if kind == "goal":
                challenge = goal_create(user=user, name="Fees", target_amount="20000", frequency="weekly",
                                        target_date=START + timedelta(days=69)).challenge
            else:
                challenge = make_challenge(type="streak", target={"consecutive_weeks": 6, "min_amount": "100"},
                                           start=START, days=70)
                participant_join(challenge=challenge, user=user)
            # every window has closed when the deposits are scored (late callbacks, in any order), so each
            # one rewrites the freeze rows incrementally, undoing what an earlier one implied if need be
            frozen_today(START + timedelta(days=70))
            for index in order:
                offset, amount = deposits[index]
                record_deposit(user, amount, START + timedelta(days=offset))
            assert freezes_sync_all() == 0  # the scoring batches left nothing for the beat to write
            participant = Participant.objects.select_related("challenge", "team").get(challenge=challenge, user=user)
            rows = {}
            for reason, window, count in StreakFreeze.objects.filter(participant=participant).values_list(
                    "reason", "window", "count"):
                rows[(reason, window)] = rows.get((reason, window), 0) + count
            from challenges.services import scores_recompute

            result = {"points": participant.points, "status": participant.status,
                      "progress": participant.progress, "freezes": {k: v for k, v in rows.items() if v},
                      "drift": freezes_recompute(), "recompute": scores_recompute(challenge_id=challenge.pk),
                      "awards": sum(PointAward.objects.filter(participant=participant).values_list("points",
                                                                                                    flat=True)),
                      "expected": participant_expected(
                          participant=participant, rules=rules_for(), today=START + timedelta(days=70))}
            raise Rollback
    except Rollback:
        pass
    return result


@pytest.mark.parametrize("kind", ["goal", "streak"])
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(deposits=st.lists(st.tuples(st.integers(min_value=0, max_value=69),
                                   st.sampled_from([Decimal("50"), Decimal("150"), Decimal("400"), Decimal("2500")])),
                         min_size=1, max_size=10),
       seed=st.integers(min_value=0, max_value=10 ** 6))
def test_freezes_and_goals_any_order_same_rows_and_recompute_equals_incremental(
        kind, deposits, seed, make_challenge, make_member, record_deposit, frozen_today, org):
    in_order = _play_forgiving(make_challenge, make_member, record_deposit, frozen_today, org, kind, deposits,
                               list(range(len(deposits))))
    shuffled = list(range(len(deposits)))
    random.Random(seed).shuffle(shuffled)
    replayed = _play_forgiving(make_challenge, make_member, record_deposit, frozen_today, org, kind, deposits,
                               shuffled)
    for key in ("points", "status", "freezes", "progress"):
        assert in_order[key] == replayed[key], key
    for run in (in_order, replayed):
        assert run["drift"] == []  # recompute_scores finds the freeze rows it would write
        assert run["recompute"] == []  # ... and the points, award rows and totals it would compute
        assert all(count == 1 for count in run["freezes"].values())
        assert run["expected"]["points"] == run["points"] == run["awards"] >= 0
        # a frozen or earned-back window counts toward the run exactly as the streak the member sees
        assert run["progress"]["best_streak"] >= run["progress"]["current_streak"]
        if kind == "streak":
            assert (run["status"] == "completed") == (run["progress"]["best_streak"] >= 6)
        held = sum(1 for (reason, _w) in run["freezes"] if reason == "earned") - sum(
            1 for (reason, _w) in run["freezes"] if reason == "used")
        assert 0 <= held <= 2 and run["progress"]["freezes_held"] == held
