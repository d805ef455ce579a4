"""Product events, recorded by every app (logins, joins, deposits, messages opened).

The event sink is open to every app: it imports nothing but its own model, so recording an event
never makes an app depend on analytics' reports (the import-linter contract names it).
"""

from __future__ import annotations

import json
import logging

from django.db import connection, transaction

from analytics.models import Event
from savegame.bulk import insert_rows

logger = logging.getLogger(__name__)

EVENT_TYPES = set(Event.Type.values)


def event_record(*, type: str, user=None, properties: dict | None = None) -> None:
    """Record a product event. Never raises and never blocks the action that caused it.

    The insert runs in a savepoint: if it fails (bad data, a user from another schema, a DB
    hiccup) only the savepoint is rolled back, the error is logged, and the caller's transaction
    carries on.
    """
    events_record(items=[(type, user, properties)])


def events_record(*, items: list[tuple[str, object, dict | None]]) -> None:
    """Record several product events (type, user, properties) in one INSERT, with the same promise
    as `event_record`: never raises, and a failure rolls back only its own savepoint."""
    rows = []
    for type, user, properties in items:
        try:
            if type not in EVENT_TYPES:
                logger.warning("unknown analytics event type", extra={"event_type": type})
            properties = dict(properties or {})
            # Readers use properties.challenge_id (an int); callers may say "challenge".
            challenge = properties.get("challenge_id", properties.get("challenge"))
            if challenge is not None and str(challenge).isdigit():
                properties["challenge_id"] = int(challenge)
            json.dumps(properties)  # one event that is not JSON must not take the others down with it
            rows.append((str(type)[:40], getattr(user, "pk", None), properties))
        except Exception:
            logger.exception("analytics event not recorded", extra={"event_type": type, "schema": connection.schema_name})
    if not rows:
        return
    try:
        with transaction.atomic():
            insert_rows(Event, ["type", "user", "properties"], rows)
    except Exception:
        logger.exception("analytics event not recorded",
                         extra={"event_types": sorted({row[0] for row in rows}), "schema": connection.schema_name})
