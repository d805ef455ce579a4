"""Push a notice to a member's open `/live/notifications` streams (from web or worker code).

    notice_publish(user_id=..., event="badge", data={...})   # after the writing transaction commits

One PUBLISH on the member's channel (`sg:<schema>:live:user:<id>`); every live process's one pattern
subscription receives it and writes it to that member's streams. A member with no open stream costs
Redis one publish and nothing else. Never raises: a notice is a courtesy, the page also polls.
"""

from __future__ import annotations

import json
import logging
import uuid

from django.db import connection
from redis.exceptions import RedisError

from live.hub import user_topic
from savegame.redis import redis_client

logger = logging.getLogger(__name__)


def notice_publish(*, user_id: int, event: str, data: dict, schema: str | None = None) -> bool:
    schema = schema or connection.schema_name
    payload = json.dumps({"event": event, "data": data, "id": uuid.uuid4().hex[:12]})
    try:
        redis_client().publish(user_topic(schema, user_id), payload)
        return True
    except RedisError:
        logger.warning("live notice not published", extra={"user": user_id, "event": event})
        return False
