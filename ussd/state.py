"""A USSD session's working state in Redis, for Africa's Talking's session lifetime.

One JSON value per session under the organization's schema (`sg:{schema}:ussd:session:{sessionId}`):
the step the member is on, what the step needs (the challenge ids a numbered list showed, the amount
typed), how many inputs were consumed and the last answer (so a replayed request gets the same
screen and does nothing twice). Actions that change something also claim
`sg:{schema}:ussd:done:{sessionId}:{step}` first (SET NX), so two copies of one request racing each
other act once.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

from django.conf import settings

from savegame.redis import redis_client, tenant_key

# A claimed action is remembered a day, well past the session: a replay after expiry acts no more.
DONE_SECONDS = 24 * 3600


@dataclass
class SessionState:
    phone: str
    step: str = "main"
    data: dict = field(default_factory=dict)
    consumed: int = 0  # inputs consumed so far (AT's `text` split on `*`)
    text: str = ""  # the `text` that produced `last`
    last: str = ""  # the last answer, `CON ...` / `END ...`
    done: bool = False  # an END was sent


def _key(session_id: str) -> str:
    return tenant_key("ussd", "session", session_id)


def state_load(*, session_id: str) -> SessionState | None:
    raw = redis_client().get(_key(session_id))
    if not raw:
        return None
    try:
        return SessionState(**json.loads(raw))
    except (TypeError, ValueError):
        return None  # a value this code did not write: treated as no session


def state_save(*, session_id: str, state: SessionState) -> None:
    redis_client().set(_key(session_id), json.dumps(asdict(state)), ex=settings.USSD_SESSION_SECONDS)


def action_claim(*, session_id: str, step: int) -> bool:
    """True for the first caller to act at this step of this session."""
    return bool(redis_client().set(tenant_key("ussd", "done", session_id, step), "1", nx=True, ex=DONE_SECONDS))


def action_release(*, session_id: str, step: int) -> None:
    """Give a claim back when the action failed, so the member's retry can act."""
    try:
        redis_client().delete(tenant_key("ussd", "done", session_id, step))
    except Exception:  # the claim expires on its own
        pass
