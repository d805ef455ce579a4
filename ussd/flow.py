"""One USSD callback and one incoming SMS, from validated fields to the answer.

The entry points (ussd/views.py) parse and render; this decides. Everything here is fast: a few
indexed queries, a few Redis round trips; the STK push and every SMS go to Celery.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import connection
from django.utils import translation
from redis.exceptions import RedisError

from savegame.ratelimit import Bucket, buckets_hit, rates_parse
from savegame.redis import tenant_key
from ussd import menu, screens, selectors, services
from ussd.screens import Screen
from ussd.state import SessionState, state_load, state_save

logger = logging.getLogger(__name__)


def member_language(member, organization) -> str:
    """The member's own language, else the organization's."""
    return getattr(member, "language", "") or organization.language or "en"


def phone_allowed(*, phone_number: str, scope: str) -> bool:
    """The per-phone limit (USSD_RATE_PER_PHONE) in the organization's schema. Redis away: allowed."""
    buckets = [Bucket(tenant_key("rl", scope, "phone", phone_number, index), rate)
               for index, rate in enumerate(rates_parse(settings.USSD_RATE_PER_PHONE))]
    try:
        return buckets_hit(buckets).allowed
    except Exception:
        logger.warning("per-phone limiter unavailable; letting the request through", exc_info=True)
        return True


def inputs_of(text: str) -> list[str]:
    return text.split("*") if text else []


def ussd_answer(*, organization, session_id: str, service_code: str, phone_number: str, text: str,
                network_code: str) -> tuple[Screen | str, str]:
    """The answer to one USSD step (a Screen, or the stored answer of a replayed step) and its outcome."""
    if not phone_allowed(phone_number=phone_number, scope="ussd"):
        with translation.override(organization.language or "en"):
            return screens.too_many(), "rate_limited"
    member = selectors.member_by_phone(phone_number=phone_number)
    with translation.override(member_language(member, organization)):
        if member is None:
            return screens.unknown_phone(org_name=organization.name), "unknown_phone"
        try:
            state = state_load(session_id=session_id)
        except RedisError:
            logger.warning("ussd session state unavailable", exc_info=True)
            return screens.busy(), "busy"
        inputs = inputs_of(text)
        if state is not None and state.phone != phone_number:
            return screens.session_ended(), "mismatch"
        if state is not None and len(inputs) == state.consumed and text == state.text:
            return state.last, "replay"  # the same request again: the same answer, nothing done twice
        if state is None and inputs:
            return screens.session_ended(), "expired"
        channel = {"channel": "ussd", "session": session_id, "network_code": network_code,
                   "service_code": service_code}
        ctx = menu.Context(member=member, org_name=organization.name, session_id=session_id, channel=channel)
        if state is None:
            state = SessionState(phone=phone_number)
            step = menu.start(ctx=ctx, state=state)
        elif (state.done or len(inputs) != state.consumed + 1
              or (state.consumed and not text.startswith(state.text + "*"))):
            return screens.session_ended(), "out_of_order"
        else:
            step = menu.advance(ctx=ctx, state=state, value=inputs[-1])
            state.consumed += 1
        state.text, state.last, state.done = text, step.screen.body, step.screen.end
        try:
            state_save(session_id=session_id, state=state)
        except RedisError:
            logger.warning("ussd session state not saved", exc_info=True)
        services.ussd_session_touch(session_id=session_id, user_id=member.pk, phone_number=phone_number,
                                    service_code=service_code, network_code=network_code, outcome=step.outcome)
        return step.screen, step.outcome


# --- SMS commands ----------------------------------------------------------------------------------

# keyword -> (command, language of the keyword: the reply follows it; None = the member's own)
KEYWORDS = {
    "BAL": ("balance", "en"), "BALANCE": ("balance", "en"), "SALIO": ("balance", "sw"), "AKIBA": ("balance", "sw"),
    "RANK": ("rank", "en"), "NAFASI": ("rank", "sw"),
    "SAVE": ("save", "en"), "WEKA": ("save", "sw"),
    "STOP": ("stop", None), "ACHA": ("stop", "sw"), "SITISHA": ("stop", "sw"),
    "START": ("start", None), "ANZA": ("start", "sw"),
    "HELP": ("help", "en"), "MSAADA": ("help", "sw"),
}


def command_parse(text: str) -> tuple[str, str | None, str]:
    """(command, keyword language, the rest) for an SMS body; ("help", None, "") for anything else."""
    words = (text or "").strip().split(maxsplit=1)
    if not words:
        return "help", None, ""
    command, language = KEYWORDS.get(words[0].upper().strip(".!"), ("help", None))
    return command, language, words[1].strip() if len(words) > 1 else ""


def sms_answer(*, organization, provider_id: str, sender: str, to: str, text: str, link_id: str,
               network_code: str, sent_at: str) -> str:
    """Act on one incoming SMS once and queue the reply. Returns the outcome (for the log)."""
    command, keyword_language, rest = command_parse(text)
    if not phone_allowed(phone_number=sender, scope="sms"):
        return "rate_limited"
    member = selectors.member_by_phone(phone_number=sender)
    inbound = services.inbound_sms_record(
        provider_id=provider_id, user_id=member.pk if member else None, phone_number=sender, to=to, text=text,
        link_id=link_id, network_code=network_code, sent_at=sent_at, command=command)
    if inbound is None:
        return "replay"
    if member is None:
        # No member to address and a sender anyone can claim: nothing is sent (docs/USSD.md).
        services.inbound_sms_outcome(inbound=inbound, outcome="unknown_phone")
        return "unknown_phone"
    channel = {"channel": "sms", "sms": provider_id, "network_code": network_code}
    with translation.override(keyword_language or member_language(member, organization)):
        reply, outcome = _sms_command(member=member, command=command, rest=rest, provider_id=provider_id,
                                      channel=channel)
        services.member_reply(member=member, message=reply, key=services.sms_reply_key(provider_id=provider_id))
    services.inbound_sms_outcome(inbound=inbound, outcome=outcome)
    return outcome


def _sms_command(*, member, command: str, rest: str, provider_id: str, channel: dict) -> tuple[str, str]:
    if command == "balance":
        summary = selectors.member_summary(member=member)
        return screens.sms_balance(total_saved=summary["total_saved"], points=summary["points"]), "balance"
    if command == "rank":
        return screens.sms_ranks(rows=selectors.member_ranks(member=member)), "rank"
    if command == "save":
        amount_text = rest.replace(",", "").strip()
        amount = int(amount_text) if amount_text.isdigit() and amount_text.isascii() and len(amount_text) <= 7 else 0
        if not screens.MIN_AMOUNT <= amount <= screens.MAX_AMOUNT:
            return screens.sms_save_usage(), "save_invalid"
        if not selectors.mpesa_ready():
            return screens.mpesa_not_ready().text, "save_unavailable"
        services.save_now_request(member=member, amount=amount, challenge_id=None, request_key=f"sms:{provider_id}",
                                  channel=channel)
        return screens.mpesa_prompt(amount=amount).text, "save"
    if command == "stop":
        services.sms_opt_out(member=member, channel=channel)
        return screens.sms_stopped(), "stop"
    if command == "start":
        services.sms_opt_in(member=member, channel=channel)
        return screens.sms_started(), "start"
    return screens.sms_help(), "help"
