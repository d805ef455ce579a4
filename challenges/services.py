"""Writes for the gamification engine."""

from __future__ import annotations


def deposit_score(*, transaction_id: int) -> None:
    """Score one verified deposit: progress, points, streaks, teams, leaderboards, badges.

    The single entry point payments calls after a deposit is verified. Idempotent.
    The gamification engine fills this in.
    """
