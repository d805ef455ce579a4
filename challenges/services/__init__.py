"""Writes for the gamification engine, one module per thing that changes together:

    rules.py          the organization's scoring rules, a challenge's spec for the engine
    definitions.py    challenges: validate, create, edit, publish, delete
    participation.py  joining challenges and teams, a team reaching its goal
    scoring_batch.py  THE SCORING BATCH: payments hands verified deposits over here (deposits_score)
    expected.py       what a participation's score should be, from its deposits alone
    member_metrics.py the per-member deposit figures badges read, kept by the scoring batch
    reversals.py      a reversed deposit taken back out of the game
    recompute.py      manage.py recompute_scores
    awards.py         badges earned now, judged for a batch of members at once
    lifecycle.py      beat: leaderboard snapshots, started / settled challenges, streak at risk

The pure rules are in challenges/scoring.py; reads are in challenges/selectors.py. Other apps import
these functions from `challenges.services` (this package), never from the modules inside it.
"""

from challenges.services.awards import badges_evaluate, badges_evaluate_many
from challenges.services.definitions import (
    CHALLENGE_EDITABLE_FIELDS,
    MAX_DURATION_DAYS,
    RESTORE_HOURS,
    TRANSITIONS,
    challenge_create,
    challenge_delete,
    challenge_restore,
    challenge_restore_refusal,
    challenge_target_validate,
    challenge_update,
)
from challenges.services.expected import can_no_longer_complete, participant_expected
from challenges.services.member_metrics import member_metrics_rebuild
from challenges.services.lifecycle import (
    STREAK_AT_RISK_TEMPLATES,
    challenge_settle,
    challenges_lifecycle,
    leaderboard_snapshot,
    leaderboards_snapshot,
    streaks_at_risk,
)
from challenges.services.participation import (
    member_deposits_between,
    participant_join,
    team_auto_assign,
    team_create,
    team_join,
)
from challenges.services.reversals import deposit_reversal_apply, deposits_reversed_sweep, reversed_still_counted
from challenges.services.recompute import scores_recompute
from challenges.services.rules import (
    SCORING_FLAGS,
    SCORING_LIMITS,
    organization_current,
    rules_for,
    scoring_rules_validate,
    spec_of,
)
from challenges.services.scoring_batch import SCORING_BATCH, deposit_score, deposits_score

# Callers that predate the split import the organization's calendar from here; its owner is tenants.calendar.
from tenants.calendar import local_today, organization_zone  # noqa: E402,F401  isort: skip

__all__ = [
    "CHALLENGE_EDITABLE_FIELDS", "MAX_DURATION_DAYS", "SCORING_BATCH", "SCORING_FLAGS", "SCORING_LIMITS", "STREAK_AT_RISK_TEMPLATES",
    "RESTORE_HOURS", "TRANSITIONS", "badges_evaluate", "badges_evaluate_many", "can_no_longer_complete", "challenge_create",
    "challenge_delete", "challenge_restore", "challenge_restore_refusal", "challenge_settle", "challenge_target_validate", "challenge_update", "challenges_lifecycle",
    "deposit_reversal_apply", "deposit_score", "deposits_reversed_sweep", "deposits_score", "leaderboard_snapshot", "leaderboards_snapshot",
    "local_today", "member_deposits_between", "member_metrics_rebuild", "organization_current", "organization_zone", "participant_expected",
    "participant_join", "reversed_still_counted", "rules_for", "scores_recompute", "scoring_rules_validate", "spec_of", "streaks_at_risk",
    "team_auto_assign", "team_create", "team_join",
]
