"""What the game tells the rest of the system when its state changes: member messages
(notifications), product events (analytics.events), the audit log (accounts), and the leaderboards'
write-through after commit (Redis). Shared by services.py and reversals.py.

Messages and events are called through their modules (not imported by name), so a test that
replaces `notifications.services.notify_batch` sees every message the game sends.
"""

from __future__ import annotations

import logging

from django.db import connection, transaction

from accounts.services import audit_record
from analytics import events as analytics_events
from challenges import leaderboard
from challenges.models import Participant
from notifications import services as notifications_services

logger = logging.getLogger(__name__)


def notify(user, template: str, context: dict, urgent: bool = False) -> None:
    notifications_services.notify(user=user, template=template, context=context, urgent=urgent)


def event(type: str, user=None, properties: dict | None = None) -> None:
    try:
        analytics_events.event_record(type=type, user=user, properties=properties or {})
    except Exception:  # analytics must never break scoring
        logger.warning("analytics event failed", extra={"event": type})


def audit(actor, action: str, target, before=None, after=None) -> None:
    audit_record(actor=actor, action=action, target=target, before=before, after=after)


def board_update(participant: Participant, name: str = "") -> leaderboard.BoardUpdate:
    return leaderboard.BoardUpdate(
        challenge_id=participant.challenge_id, team_id=participant.team_id, participant_id=participant.pk,
        user_id=participant.user_id, version=participant.version, points=participant.points,
        total_saved=participant.total_contributed, name=name,
    )


def after_commit_board(updates: list[leaderboard.BoardUpdate]) -> None:
    if not updates:
        return
    schema = connection.schema_name

    def apply():
        try:
            leaderboard.updates_apply(updates, schema=schema)
        except Exception:  # Redis down: the board is rebuilt from PostgreSQL later
            logger.warning("leaderboard write-through failed", extra={"schema": schema})

    transaction.on_commit(apply)


def after_commit_teams(challenge_id: int, totals: dict) -> None:
    schema = connection.schema_name

    def apply():
        try:
            leaderboard.team_totals_apply(challenge_id, totals, schema=schema)
        except Exception:
            logger.warning("team standings write-through failed", extra={"schema": schema})

    transaction.on_commit(apply)


def notify_batch(messages: list[tuple]) -> None:
    """Queue (user, template, context) messages in one go (urgency comes with the template)."""
    if messages:
        notifications_services.notify_batch(messages=messages)


def events(items: list) -> None:
    analytics_events.events_record(items=items)
