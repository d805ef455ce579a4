"""In-app notices on the member's open `/live/notifications` streams (the `live` process's hub).

The outbox writer (`services.notify_batch`) hands every new message of NOTICE_TEMPLATES here; after
the writing transaction commits, one pipelined PUBLISH per batch on each member's channel
(`sg:<schema>:live:user:<id>`) reaches every live process's one pattern subscription, which writes
it to that member's streams (and refreshes their home tiles). A member with no open stream costs
Redis one publish. Never raises: a notice is a courtesy, the page also polls (`GET /notifications`).
"""

from __future__ import annotations

import json
import logging
import uuid

from django.db import connection, transaction
from redis.exceptions import RedisError

from savegame.redis import redis_client

logger = logging.getLogger(__name__)

# What a member sees arrive on their page: a confirmed deposit, a new badge, a leader's announcement.
NOTICE_TEMPLATES = frozenset({"deposit_confirmed", "badge_earned", "broadcast"})


def user_channel(schema: str, user_id: int) -> str:
    return f"sg:{schema}:live:user:{user_id}"


def _payload(event: str, data: dict) -> str:
    return json.dumps({"event": event, "data": data, "id": uuid.uuid4().hex[:12]})


def notice_publish(*, user_id: int, event: str, data: dict, schema: str | None = None) -> bool:
    """Publish one notice now (call it after the writing transaction commits)."""
    return _publish_many([(user_id, event, data)], schema=schema or connection.schema_name)


def _publish_many(items: list[tuple[int, str, dict]], *, schema: str) -> bool:
    try:
        pipe = redis_client().pipeline(transaction=False)
        for user_id, event, data in items:
            pipe.publish(user_channel(schema, user_id), _payload(event, data))
        pipe.execute()
        return True
    except RedisError:
        logger.warning("live notices not published", extra={"count": len(items)})
        return False


def notices_after_commit(rows) -> None:
    """The new outbox rows of NOTICE_TEMPLATES, as `notice` events once the transaction commits."""
    items = [(row.user_id, "notice", {"id": row.pk, "template": row.template, "title": row.title,
                                      "message": row.message,
                                      "created_at": row.created_at.isoformat() if row.created_at else None})
             for row in rows if row.template in NOTICE_TEMPLATES]
    if not items:
        return
    schema = connection.schema_name
    transaction.on_commit(lambda: _publish_many(items, schema=schema))
