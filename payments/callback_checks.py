"""Checks on a callback whose secret is right, made before it is stored (docs/SECURITY.md).

The path secret proves the sender knows our URL, not that the payment is ours: a C2B body for
another business's shortcode, or a transaction-status result for a query we never sent, would
otherwise be credited. Both are refused at once (400, recorded as a refused callback), so nothing
is answered 200 and then left stuck in the inbox. Amount bounds live in payments.payloads.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.db import connection

from payments.models import MpesaSettings, StatusQuery

C2B_KINDS = ("validation", "confirmation")

# (schema, token) -> (shortcode, expires): kept per process like the /hooks/ host lookup
# (TENANT_HOST_LOCAL_CACHE_SECONDS), so a callback still costs one SQL statement in the steady state.
_shortcodes: dict[tuple[str, str], tuple[str, float]] = {}


def shortcodes_forget() -> None:
    _shortcodes.clear()


def _shortcode_for(token: str) -> str | None:
    key = (connection.schema_name, token)
    hit = _shortcodes.get(key)
    now = time.monotonic()
    if hit is not None and hit[1] > now:
        return hit[0]
    shortcode = MpesaSettings.objects.filter(callback_token=token).values_list("shortcode", flat=True).first()
    if shortcode is not None:  # a wrong token is never kept (it would fill the dict for a prober)
        if len(_shortcodes) > 10_000:
            _shortcodes.clear()
        _shortcodes[key] = (shortcode, now + settings.TENANT_HOST_LOCAL_CACHE_SECONDS)
    return shortcode


def callback_refusal(*, kind: str, body, token: str) -> str:
    """Why this well-formed body is refused ("" = take it). A wrong token is left to the store."""
    if not isinstance(body, dict) or kind not in (*C2B_KINDS, "result"):
        return ""
    shortcode = _shortcode_for(token)
    if shortcode is None:
        return ""  # wrong secret: callback_store answers the 404
    if kind in C2B_KINDS:
        sent = str(body.get("BusinessShortCode") or "").strip()
        if shortcode and sent and sent != shortcode:
            return f"BusinessShortCode {sent[:12]} is not this organization's"
        return ""
    result = body.get("Result")
    if not isinstance(result, dict):
        return ""  # malformed: the parser says why
    conversation = str(result.get("ConversationID") or "").strip()
    originator = str(result.get("OriginatorConversationID") or "").strip()
    asked = StatusQuery.objects.filter(conversation_id=conversation).exists() or (
        originator != "" and StatusQuery.objects.filter(originator_conversation_id=originator).exists())
    return "" if asked else "a transaction-status result for a query we never sent"
