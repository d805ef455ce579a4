"""Joining challenges and teams: `participant_join`, `team_create`, `team_join`, `team_auto_assign`,
and what a team reaching its goal does (`team_goal_record_and_notify`), which the scoring batch calls too.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from challenges import effects, ledger, readcache, scoring
from challenges.models import Challenge, Participant, PointAward, Team
from challenges.services.awards import badges_evaluate
from challenges.services.rules import rules_for, spec_of
from tenants.calendar import day_bounds, local_today, organization_zone


def member_deposits_between(*, user_id: int, first: date, last: date, zone: ZoneInfo) -> Decimal:
    """A member's deposits that still count on the local days first..last (payments' rule)."""
    start, end = day_bounds(first, last, zone)
    return ledger.reader().deposits_total_between(user_id=user_id, start=start, end=end)


def participant_baseline(challenge: Challenge, user_id: int, zone: ZoneInfo) -> Decimal:
    first, last = scoring.previous_month(challenge.start_date)
    return member_deposits_between(user_id=user_id, first=first, last=last, zone=zone)


def participant_join(*, challenge: Challenge, user) -> tuple[Participant, bool]:
    """Join a challenge (idempotent). Returns (participant, created)."""
    with transaction.atomic():
        challenge = Challenge.objects.select_for_update().get(pk=challenge.pk)
        existing = Participant.objects.filter(challenge=challenge, user=user).first()
        if existing:
            return existing, False
        if challenge.status != Challenge.Status.ACTIVE:
            raise ValidationError({"challenge": "This challenge is not open for joining."})
        if challenge.type == Challenge.Type.GOAL and challenge.created_by_id != user.pk:  # issue 18
            raise ValidationError({"challenge": "This challenge is not open for joining."})
        zone = organization_zone()
        today = local_today(zone)
        if challenge.end_date < today:
            raise ValidationError({"challenge": "This challenge has ended."})
        participant = Participant(challenge=challenge, user=user, version=1)
        if challenge.type == Challenge.Type.PERCENTAGE:
            participant.baseline = participant_baseline(challenge, user.pk, zone)
        outcome = scoring.progress_compute(spec_of(challenge), [], today=today,
                                           baseline=participant.baseline or Decimal("0"))
        participant.progress = outcome.progress
        participant.save()
        Challenge.objects.filter(pk=challenge.pk).update(participants_count=F("participants_count") + 1)
        readcache.challenges_forget()
        readcache.joined_forget(user_id=user.pk)
        effects.event("challenge_joined", user, {"challenge": challenge.pk, "type": challenge.type})
        effects.after_commit_board([effects.board_update(participant, user.display_name)])
    return participant, True


def team_goal_record_and_notify(team: Team, challenge: Challenge, rules: scoring.Rules, today: date,
                                 updates: list) -> None:
    """When a team reaches its amount: record it (goal_reached_at) and notify once; complete its
    members once it also has enough of them."""
    goal = Decimal(str(challenge.target["team_amount"]))
    min_members = int(challenge.target["min_members"])
    if team.total_saved < goal:
        return
    if team.goal_reached_at is None:
        if Team.objects.filter(pk=team.pk, goal_reached_at__isnull=True).update(goal_reached_at=timezone.now()):
            team.goal_reached_at = timezone.now()
            for member in Participant.objects.filter(team=team).select_related("user"):
                effects.notify(member.user, "team_goal_reached",
                        {"challenge": challenge.name, "team": team.name, "team_total": str(team.total_saved),
                         "members": team.members_count, "min_members": min_members})
    if team.members_count < min_members:
        return
    for member in Participant.objects.select_for_update().filter(team=team).exclude(
            status=Participant.Status.COMPLETED).select_related("user").order_by("pk"):
        participant_complete(member, challenge, rules, updates)
        outcome = scoring.progress_group(spec_of(challenge), [], today, team.total_saved, team.members_count)
        member.progress = {**outcome.progress, "saved": str(member.total_contributed)}
        member.save(update_fields=["progress"])


def participant_complete(participant: Participant, challenge: Challenge, rules: scoring.Rules, updates: list) -> None:
    """Mark completed and pay the completion bonus (once per completion: the status check below, on a
    locked row). A reversal that un-completes a running challenge takes the bonus back
    (challenges/services/reversals.py), so completing again pays it again."""
    if participant.status == Participant.Status.COMPLETED:
        return
    participant.status = Participant.Status.COMPLETED
    participant.completed_at = timezone.now()
    bonus = scoring.rules_for_spec(spec_of(challenge), rules).consistency_bonus  # issue 18: goals may not count
    if bonus:
        PointAward.objects.create(user_id=participant.user_id, participant=participant,
                                  reason=PointAward.Reason.COMPLETION, points=bonus,
                                  detail=f"Completed {challenge.name}")
        readcache.points_forget(user_ids=[participant.user_id])
        participant.points += bonus
    participant.version += 1
    participant.save(update_fields=["status", "completed_at", "points", "version"])
    updates.append(effects.board_update(participant))


def _team_members_changed(team: Team, delta: int) -> Team:
    Team.objects.filter(pk=team.pk).update(members_count=F("members_count") + delta)
    team.refresh_from_db()
    return team


def team_create(*, challenge: Challenge, user, name: str, join: bool = True) -> Team:
    if challenge.type != Challenge.Type.GROUP:
        raise ValidationError({"challenge": "Teams exist only in group challenges."})
    if challenge.status != Challenge.Status.ACTIVE:
        raise ValidationError({"challenge": "This challenge is not open."})
    name = (name or "").strip()
    if not name or len(name) > 80:
        raise ValidationError({"name": "Give the team a name of 1-80 characters."})
    with transaction.atomic():
        if Team.objects.filter(challenge=challenge, name__iexact=name).exists():
            raise ValidationError({"name": "A team with this name already exists in this challenge."})
        participant = None
        if join:
            participant = Participant.objects.filter(challenge=challenge, user=user).first()
            if participant is None:
                participant, _ = participant_join(challenge=challenge, user=user)
            if participant.team_id:
                raise ValidationError({"team": "You are already in a team in this challenge."})
        team = Team.objects.create(challenge=challenge, name=name, created_by=user)
        if participant is not None:
            team_join(team=team, user=user)
            team.refresh_from_db()
    return team


def team_join(*, team: Team, user) -> Participant:
    """Put a member in a team (joining the challenge first if needed). A team is kept for the whole challenge;
    the member's deposits so far come along into the team total."""
    with transaction.atomic():
        team = Team.objects.select_for_update().select_related("challenge").get(pk=team.pk)
        challenge = team.challenge
        participant = Participant.objects.filter(challenge=challenge, user=user).first()
        if participant is None:
            participant, _ = participant_join(challenge=challenge, user=user)
        participant = Participant.objects.select_for_update().get(pk=participant.pk)
        if participant.team_id == team.pk:
            return participant
        if participant.team_id:
            raise ValidationError({"team": "You are already in a team in this challenge."})
        participant.team = team
        participant.version += 1
        participant.save(update_fields=["team", "version"])
        Team.objects.filter(pk=team.pk).update(total_saved=F("total_saved") + participant.total_contributed)
        team = _team_members_changed(team, +1)
        updates = [effects.board_update(participant, user.display_name)]
        rules, today = rules_for(), local_today()
        team_goal_record_and_notify(team, challenge, rules, today, updates)
        participant.refresh_from_db()
        outcome = scoring.progress_group(spec_of(challenge), [], today, team.total_saved, team.members_count)
        participant.progress = {**outcome.progress, "saved": str(participant.total_contributed)}
        participant.save(update_fields=["progress"])
        effects.after_commit_board(updates)
        effects.after_commit_teams(challenge.pk, {team.pk: team.total_saved})
        badges_evaluate(user=user, participants=[participant])  # e.g. "team player" without waiting for a deposit
    return participant


def team_auto_assign(*, challenge: Challenge, user=None) -> list[Participant]:
    """Put `user` (or, for an admin, every participant without a team) into the smallest teams.
    A team is created when there is none yet."""
    if challenge.type != Challenge.Type.GROUP:
        raise ValidationError({"challenge": "Teams exist only in group challenges."})
    with transaction.atomic():
        if user is not None:
            waiting = [user]
        else:
            waiting = [p.user for p in Participant.objects.filter(challenge=challenge, team__isnull=True)
                       .select_related("user").order_by("joined_at", "pk")]
        assigned = []
        for member in waiting:
            team = Team.objects.filter(challenge=challenge).order_by("members_count", "created_at", "pk").first()
            if team is None:
                team = Team.objects.create(challenge=challenge, name="Team 1")
            assigned.append(team_join(team=team, user=member))
    return assigned
