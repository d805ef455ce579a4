"""Writes for the feature-phone channel: session and SMS records, and the member's actions, each
through its owner's service and each audited (accounts' audit log) with the channel, the session
and Africa's Talking's networkCode."""

from __future__ import annotations

import logging
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from redis.exceptions import RedisError

from accounts.services import audit_record, member_update
from challenges.selectors import access_challenge, joined_challenge_ids
from challenges.services import participant_join
from notifications.services import notification_preferences_update, notify, preference_opt_out
from savegame.redis import redis_client, tenant_key
from ussd.models import InboundSms

logger = logging.getLogger(__name__)

REPLY_TEMPLATE = "sms_reply"
PUSH_CLAIM_SECONDS = 24 * 3600


def _audit(*, member, action: str, target, channel: dict, after: dict | None = None, before: dict | None = None):
    audit_record(actor=member, action=action, target=target, before=before,
                 after={**(after or {}), **channel})


def ussd_session_touch(*, session_id: str, user_id: int | None, phone_number: str, service_code: str,
                       network_code: str, outcome: str = "") -> None:
    """Record the session (first step) or count one more step, in one statement: who dialled, which
    code, from which network, and what it ended with."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO ussd_ussdsession (session_id, user_id, phone_number, service_code, network_code, steps,"
            " outcome, started_at, updated_at) VALUES (%s, %s, %s, %s, %s, 1, %s, now(), now())"
            " ON CONFLICT (session_id) DO UPDATE SET steps = ussd_ussdsession.steps + 1, updated_at = now(),"
            " outcome = COALESCE(NULLIF(EXCLUDED.outcome, ''), ussd_ussdsession.outcome)",
            [session_id[:100], user_id, phone_number, service_code[:40], network_code[:10], outcome[:40]],
        )


def inbound_sms_record(*, provider_id: str, user_id: int | None, phone_number: str, to: str, text: str,
                       link_id: str, network_code: str, sent_at: str, command: str) -> InboundSms | None:
    """Store an incoming SMS; None when this provider id was stored before (a replay: act on it once)."""
    try:
        with transaction.atomic():
            return InboundSms.objects.create(
                provider_id=provider_id, user_id=user_id, phone_number=phone_number, to=to, text=text[:480],
                link_id=link_id, network_code=network_code, sent_at=sent_at, command=command)
    except IntegrityError:
        return None


def inbound_sms_outcome(*, inbound: InboundSms, outcome: str) -> None:
    InboundSms.objects.filter(pk=inbound.pk).update(outcome=outcome[:40])


def sms_reply_key(*, provider_id: str) -> str:
    return f"sms:{provider_id}"[:40]


def member_reply(*, member, message: str, key: str) -> None:
    """Queue a reply to something the member asked for by SMS or USSD (the notifications outbox;
    `key` makes a repeated request collapse into one message)."""
    notify(user=member, template=REPLY_TEMPLATE, context={"message": message, "idempotency_key": key[:40]})


def challenge_join(*, member, challenge_id: int, channel: dict) -> tuple[str, bool]:
    """Join through challenges' own service. Returns (challenge name, joined now). Raises
    ValidationError when the challenge is gone or not open."""
    challenge = access_challenge(user=member, challenge_id=challenge_id)
    if challenge is None:
        raise ValidationError({"challenge": "No such challenge."})
    with transaction.atomic():
        participant, created = participant_join(challenge=challenge, user=member)
        if created:
            _audit(member=member, action="ussd.challenge_joined", target=participant,
                   after={"challenge": challenge.pk}, channel=channel)
    return challenge.name, created


def language_change(*, member, language: str, channel: dict) -> None:
    with transaction.atomic():
        member_update(member=member, data={"language": language}, actor=member)
        _audit(member=member, action="ussd.language_changed", target=member, after={"language": language},
               channel=channel)
    member.language = language


def sms_opt_out(*, member, channel: dict) -> None:
    with transaction.atomic():
        preference_opt_out(user_id=member.pk, reason="STOP by SMS")
        _audit(member=member, action="sms.opted_out", target=member, after={"sms_enabled": False}, channel=channel)


def sms_opt_in(*, member, channel: dict) -> None:
    with transaction.atomic():
        notification_preferences_update(user=member, data={"sms_enabled": True})
        _audit(member=member, action="sms.opted_in", target=member, after={"sms_enabled": True}, channel=channel)


def save_now_request(*, member, amount: int, challenge_id: int | None, request_key: str, channel: dict) -> None:
    """Audit the request and hand the STK push to a Celery task (Daraja can take seconds; Africa's
    Talking waits about ten for the whole answer). Raises kombu/Redis errors if nothing can be queued."""
    from ussd.tasks import save_now_push_task

    with transaction.atomic():
        _audit(member=member, action="ussd.save_requested", target=member,
               after={"amount": amount, "challenge": challenge_id}, channel=channel)
        transaction.on_commit(lambda: save_now_push_task.delay(
            user_id=member.pk, amount=amount, challenge_id=challenge_id, request_key=request_key))


def save_now_push(*, user_id: int, amount: int, challenge_id: int | None, request_key: str) -> int | None:
    """The STK push behind a USSD / SMS "Save now", once per request key (a redelivered task pushes
    nothing more). Returns the pending transaction's id, or None when nothing was sent."""
    from accounts.selectors import member_list
    from payments.daraja import DarajaError, DarajaTransientError
    from payments.services import stk_push_start

    member = member_list().filter(pk=user_id).first()  # active members only
    if member is None:
        return None
    claim = tenant_key("ussd", "push", request_key)
    client = redis_client()
    if not client.set(claim, "1", nx=True, ex=PUSH_CLAIM_SECONDS):
        logger.info("save-now push already sent", extra={"request_key": request_key})
        return None
    challenge = access_challenge(user=member, challenge_id=challenge_id) if challenge_id else None
    if challenge is not None and challenge.pk not in joined_challenge_ids(user=member):
        challenge = None  # no longer in it: the deposit still counts toward their other challenges
    try:
        tx = stk_push_start(user=member, amount=Decimal(amount), challenge=challenge)
    except DarajaTransientError:
        try:
            client.delete(claim)  # let the retry push
        except RedisError:
            pass
        raise
    except DarajaError:
        from django.utils import translation

        from ussd import screens

        with translation.override(member.language or _org_language()):
            member_reply(member=member, message=screens.sms_push_failed(amount=amount), key=f"pushfail:{request_key}")
        return None
    return tx.pk


def _org_language() -> str:
    from notifications.selectors import current_organization

    return getattr(current_organization(), "language", "en") or "en"
