"""Taking a reversed deposit back out of the game (points, progress, totals, leaderboards).

payments.services.transaction_reverse marks the original deposit `reversed` and writes a mirroring
negative ledger entry; on commit it calls `deposit_reversal_apply(transaction_id=<original>)`.
The rule (docs/GAMIFICATION.md "Reversed deposits"):

- the deposit's Contribution rows are removed from every participation it counted toward;
- each affected participation (and, in a group challenge, every member of the team, whose team
  total fell) is recomputed from its remaining deposits with `participant_expected`;
- the difference is ONE `reversal` PointAward row per participation (stored points - expected
  points, negative), so award rows, stored points and a recompute always agree;
- a completion is taken back only while the challenge is still running and the remaining deposits
  no longer complete it; once a challenge is settled its results stand (the points still come off);
- badges already awarded are kept;
- the member is told (`deposit_reversed`), and so is every teammate whose points fell because the team
  dropped below its goal (`team_goal_lost`; the message does not say whose deposit it was).

Idempotent: a `ReversedDeposit` row is written in the same transaction, on the locked ledger row,
so a reversal handled twice (the on-commit call, the sweep, a retry) claws back once.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from challenges import effects, leaderboard, ledger, readcache, scoring
from challenges.models import Challenge, Contribution, Participant, PointAward, ReversedDeposit, ScoredDeposit, Team
from challenges.services.member_metrics import member_metrics_rebuild
from challenges.services.expected import can_no_longer_complete, participant_expected
from challenges.services.rules import rules_for, spec_of
from tenants.calendar import local_today

logger = logging.getLogger(__name__)


def deposit_reversal_apply(*, transaction_id: int) -> int:
    """Claw back what a reversed deposit earned. Returns how many participations were recomputed.

    Does nothing unless the ledger row is `reversed`, and nothing the second time. A deposit that
    was reversed before it was ever scored needs nothing: deposit_score skips reversed rows.
    """
    with transaction.atomic():
        tx = ledger.reader().deposit_locked_if_reversed(transaction_id=transaction_id)
        if tx is None:
            return 0
        # The ledger row is locked, so this check-then-insert cannot race (and the column is unique).
        _guard, created = ReversedDeposit.objects.get_or_create(transaction_id=tx.pk)
        if not created:
            return 0
        was_scored = ScoredDeposit.objects.filter(transaction_id=tx.pk).exists()
        contributions = list(Contribution.objects.filter(transaction=tx).select_related("participant"))
        participants = _participants_locked(contributions)
        rules, today = rules_for(), local_today()
        removed = {c.participant_id: c.amount for c in contributions}
        _totals_lower(contributions, participants)
        Contribution.objects.filter(pk__in=[c.pk for c in contributions]).delete()
        updates: list[leaderboard.BoardUpdate] = []
        changes = {p.pk: _participant_recompute(p, tx, removed.get(p.pk), rules, today, updates) for p in participants}
        team_totals = _teams_after(participants)
        if was_scored:
            owned = [p for p in participants if p.pk in removed]
            taken = -sum(changes[p.pk] for p in owned)  # the member's own points (teammates keep their rows)
            effects.notify(tx.user, "deposit_reversed", _reversal_message(tx, owned, taken))
            effects.event("deposit_reversed", tx.user, {
                "transaction_id": tx.pk, "challenge_id": tx.challenge_id, "amount": f"{tx.amount:.2f}",
                "challenges": [p.challenge_id for p in owned], "points": -taken})
            effects.notify_batch([(p.user, "team_goal_lost", _teammate_message(tx, p, -changes[p.pk]))
                           for p in participants if p.pk not in removed and changes[p.pk] < 0])
        if was_scored:
            member_metrics_rebuild(user_ids=[tx.user_id])  # the deposit no longer counts toward badges
        effects.after_commit_board(updates)
        for challenge_id, totals in team_totals.items():
            effects.after_commit_teams(challenge_id, totals)
    return len(updates)


def _participants_locked(contributions: list[Contribution]) -> list[Participant]:
    """The participations the deposit counted toward plus their teammates (a team total is shared),
    locked in challenge order like deposit_score, so the two never deadlock on one member's rows."""
    ids = {c.participant_id for c in contributions}
    teams = {c.participant.team_id for c in contributions if c.participant.team_id}
    if not ids:
        return []
    return list(Participant.objects.select_for_update(of=("self",)).select_related("challenge", "team", "user")
                .filter(Q(pk__in=ids) | Q(team_id__in=teams)).order_by("challenge_id", "pk"))


def _totals_lower(contributions: list[Contribution], participants: list[Participant]) -> None:
    teams = {p.pk: p.team_id for p in participants}
    for c in contributions:
        Challenge.objects.filter(pk=c.participant.challenge_id).update(total_saved=F("total_saved") - c.amount)
        readcache.challenges_forget()
        if teams.get(c.participant_id):
            Team.objects.filter(pk=teams[c.participant_id]).update(total_saved=F("total_saved") - c.amount)


def _running(challenge: Challenge) -> bool:
    return challenge.status == Challenge.Status.ACTIVE and challenge.settled_at is None


def _participant_recompute(participant: Participant, tx, amount: Decimal | None, rules: scoring.Rules, today,
                           updates: list) -> int:
    """Bring one participation down to what its remaining deposits earn; returns the point change."""
    if participant.team_id:
        participant.team.refresh_from_db()  # its total just fell
    status, completed_at = participant.status, participant.completed_at
    running = _running(participant.challenge)
    if status == Participant.Status.COMPLETED and running:
        participant.status = Participant.Status.ACTIVE  # judge completion on the remaining deposits alone
    expected = participant_expected(participant=participant, rules=rules, today=today)
    if status == Participant.Status.COMPLETED and not expected["completed"]:
        status, completed_at = (Participant.Status.FAILED if can_no_longer_complete(participant, today)
                                else Participant.Status.ACTIVE), None
    elif status == Participant.Status.ACTIVE and running and can_no_longer_complete(participant, today):
        status = Participant.Status.FAILED  # e.g. a past week of a fixed-amount challenge is now unmet
    change = expected["points"] - participant.points
    if change:
        PointAward.objects.create(
            user_id=participant.user_id, participant=participant, transaction=tx, reason=PointAward.Reason.REVERSAL,
            points=change, amount=-amount if amount is not None else None, detail=_detail(tx, participant, amount),
        )
        readcache.points_forget(user_ids=[participant.user_id])
    _contributions_reset(participant, rules)
    participant.status, participant.completed_at = status, completed_at
    participant.points = expected["points"]
    participant.total_contributed = expected["total_contributed"]
    participant.progress = expected["progress"]
    participant.version += 1
    participant.save(update_fields=["status", "completed_at", "points", "total_contributed", "progress", "version"])
    updates.append(effects.board_update(participant))
    return change


def _detail(tx, participant: Participant, amount: Decimal | None) -> str:
    receipt = tx.mpesa_receipt or f"#{tx.pk}"
    if amount is None:
        return f"a teammate's deposit {receipt} was reversed; the team total fell"[:200]
    return f"deposit {receipt} of {amount} KES reversed"[:200]


def _contributions_reset(participant: Participant, rules: scoring.Rules) -> None:
    """Set each remaining deposit's points_awarded to what it deserves now, so later top-ups
    (deposit_score only ever tops up) start from the right place."""
    remaining = list(participant.contributions.order_by("local_date", "pk"))
    deserved = scoring.deposit_points(spec_of(participant.challenge), rules,
                                      [(c.local_date, c.amount) for c in remaining])
    changed = []
    for c, (points, _multiplier) in zip(remaining, deserved, strict=True):
        if c.points_awarded != points:
            c.points_awarded = points
            changed.append(c)
    if changed:
        Contribution.objects.bulk_update(changed, ["points_awarded"])


def _teams_after(participants: list[Participant]) -> dict[int, dict[int, Decimal]]:
    """New team totals for the team boards; a running team that fell below its amount can reach it
    (and be told) again."""
    totals: dict[int, dict[int, Decimal]] = {}
    for team in {p.team_id: p.team for p in participants if p.team_id}.values():
        challenge = next(p.challenge for p in participants if p.team_id == team.pk)
        goal = Decimal(str(challenge.target.get("team_amount", "0")))
        if _running(challenge) and team.goal_reached_at and team.total_saved < goal:
            Team.objects.filter(pk=team.pk).update(goal_reached_at=None)
        totals.setdefault(challenge.pk, {})[team.pk] = team.total_saved
    return totals


def _reversal_message(tx, owned: list[Participant], taken: int) -> dict:
    """Context of deposit_reversed. A deposit that counted toward no challenge (or took no points
    back) gets the first sentence only (the renderer drops the one whose fields are empty)."""
    return {"amount": f"{tx.amount:,.2f}", "points": taken or "",
            "challenge": ", ".join(p.challenge.name for p in owned) if taken else "",
            "transaction_id": tx.pk, "idempotency_key": f"reversal:{tx.pk}"}


def _teammate_message(tx, participant: Participant, taken: int) -> dict:
    """Context of team_goal_lost for a teammate of the reversed deposit's owner."""
    return {"team": participant.team.name, "challenge": participant.challenge.name, "points": taken,
            "idempotency_key": f"reversal:{tx.pk}:team:{participant.pk}"}


def deposits_reversed_sweep(*, older_than: timedelta = timedelta(minutes=2), limit: int = 500) -> int:
    """Beat: claw back reversed deposits whose on-commit hand-over was lost (idempotent, oldest first)."""
    cutoff = timezone.now() - older_than
    handled = ReversedDeposit.objects.values("transaction_id")
    pending = ledger.reader().reversed_ids_before(cutoff=cutoff, exclude=handled, limit=limit)
    for transaction_id in pending:
        deposit_reversal_apply(transaction_id=transaction_id)
    return len(pending)


def reversed_still_counted(*, challenge_id: int | None = None) -> dict[int, list[int]]:
    """participant id -> reversed deposits still counted toward it (a claw-back that never ran).
    For scores_recompute: such a score matches its deposits, so only this check sees it."""
    qs = Contribution.objects.filter(transaction__status=ledger.reader().REVERSED)
    if challenge_id:
        qs = qs.filter(participant__challenge_id=challenge_id)
    out: dict[int, list[int]] = {}
    for participant_id, transaction_id in qs.order_by("participant_id", "transaction_id").values_list(
            "participant_id", "transaction_id"):
        out.setdefault(participant_id, []).append(transaction_id)
    return out
