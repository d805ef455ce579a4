"""What a participation's score and progress should be, from its deposits alone (no award rows read):
the reference the recompute, the reversal claw-back, settlement and the lifecycle sweep compare with.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.db.models import Sum

from challenges import scoring
from challenges.models import Contribution, Participant
from challenges.services.rules import spec_of


def participant_expected(*, participant: Participant, rules: scoring.Rules, today: date) -> dict:
    """What a participation's score should be, from its deposits alone (no award rows read)."""
    challenge = participant.challenge
    spec = spec_of(challenge)
    rules = scoring.rules_for_spec(spec, rules)  # issue 18: goals may not count for points
    deposits = list(participant.contributions.order_by("local_date", "pk").values_list("local_date", "amount"))
    deposit_points = sum(points for points, _ in scoring.deposit_points(spec, rules, deposits))
    team_total = team_members = None
    if participant.team_id:
        team = participant.team
        team_total = Contribution.objects.filter(participant__team=team).aggregate(t=Sum("amount"))["t"] or Decimal("0")
        team_members = team.members_count
    outcome = scoring.progress_compute(spec, deposits, today=today, baseline=participant.baseline or Decimal("0"),
                                       team_total=team_total, team_members=team_members or 0)
    completed = outcome.completed or participant.status == Participant.Status.COMPLETED
    points = deposit_points
    points += rules.early_bird_bonus if scoring.early_bird_earned(spec, rules, deposits) else 0
    points += rules.consistency_bonus if completed else 0
    return {"points": points, "total_contributed": sum((a for _, a in deposits), Decimal("0.00")),
            "progress": outcome.progress, "completed": completed}


def can_no_longer_complete(participant: Participant, today: date) -> bool:
    """Whether this participation can no longer reach its target (too few windows left) and has not."""
    deposits = list(participant.contributions.values_list("local_date", "amount"))
    outcome = scoring.progress_compute(spec_of(participant.challenge), deposits, today=today,
                                       baseline=participant.baseline or Decimal("0"))
    return outcome.failed and not outcome.completed
