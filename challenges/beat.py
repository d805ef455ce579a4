"""Periodic gamification tasks, run in every organization's schema (collected by savegame/celery.py)."""

from celery.schedules import crontab

SCHEDULE = {
    "challenges-leaderboards-snapshot": {"task": "challenges.leaderboards_snapshot", "schedule": 30.0},
    # Activation notices, mid-challenge failures and settling at end_date (completion bonus, final ranks).
    "challenges-lifecycle": {"task": "challenges.lifecycle_run", "schedule": crontab(minute="*/15")},
    # Deposits never scored are swept by payments' inbox sweep (payments/beat.py), the one sweep.
    # A reversed deposit whose on-commit claw-back was lost (challenges/services/reversals.py).
    "challenges-deposits-reversed-sweep": {"task": "challenges.deposits_reversed_sweep",
                                           "schedule": crontab(minute="2-59/5")},
    # Streak windows close at midnight (days) or Sunday midnight (weeks), Nairobi time: warn in the last hours.
    "challenges-streaks-at-risk": {"task": "challenges.streaks_at_risk_warn", "schedule": crontab(minute=5)},
    # Issue 18: just after windows close (midnight), spend streak freezes and tell the member.
    "challenges-streak-freezes-sync": {"task": "challenges.streak_freezes_sync", "schedule": crontab(minute="1-59/15")},
}
