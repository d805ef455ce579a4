"""The callback inbox and its drain: store a callback, kick a drain, credit the inbox in batches, hand
each batch's verified deposits to gamification, and sweep whatever a lost kick or broker left behind.

Moved out of payments/services.py (which keeps the ledger: settings, matching, crediting, processors).
- Every callback is stored raw in the inbox before it is answered; a drain task (kicked once per
  burst) credits the inbox in batches; the beat sweep drains whatever the broker lost.
- A verified deposit is handed to gamification exactly once: `deposits_hand_over` is the one hand-over,
  and the game's guard (a `challenges.ScoredDeposit` row, written in the same database transaction as
  the scoring) makes a task that runs twice score once.
"""

from __future__ import annotations

import logging
from contextlib import nullcontext
from datetime import timedelta

from django.conf import settings
from django.db import InterfaceError, OperationalError, connection, transaction
from django.utils import timezone

from payments import payloads
from payments.models import CallbackInbox
from payments.services import RetryLater, callback_apply, score_collector
from payments.watch.services import watch_soon
from savegame.metrics import CALLBACK_TO_CREDITED, PIPELINE_FAILURES, org_label, safe
from savegame.prepared import fetchone_prepared

logger = logging.getLogger(__name__)


_INSERT_INBOX = """
WITH auth AS (SELECT 1 FROM payments_mpesasettings WHERE callback_token = %s LIMIT 1),
ins AS (
    INSERT INTO payments_callbackinbox (kind, natural_key, payload, state, attempts, last_error, remote_ip, received_at)
    SELECT %s, %s, %s::jsonb, 'received', 0, '', %s::inet, now() FROM auth
    ON CONFLICT (kind, natural_key) DO NOTHING
    RETURNING id
)
SELECT EXISTS (SELECT 1 FROM auth), (SELECT id FROM ins)
"""


def callback_store(*, kind: str, body: dict, token: str, remote_ip: str | None = None,
                   raw_body: bytes | None = None) -> tuple[bool, int | None]:
    """Authenticate the path token and store a validated callback body in the inbox, in one statement
    (one round trip, one transaction).

    `raw_body`: the request body `body` was parsed from, stored as received when it is UTF-8 (else
    `body` is encoded again). Returns (token_ok, new_row_id); new_row_id is None for a wrong token
    (nothing stored) and for a replay of a natural key already stored. Raises payloads.PayloadError
    for a body we do not accept.
    """
    import json

    key = payloads.natural_key(kind, body)
    try:
        text = raw_body.decode("utf-8") if raw_body is not None else json.dumps(body)
    except UnicodeDecodeError:
        text = json.dumps(body)
    # prepared: PostgreSQL planned this CTE on every callback, which cost it more than the insert.
    # In autocommit (a request) the statement is its own transaction; inside a caller's transaction a
    # savepoint keeps a refused insert (a constraint, bad JSON) from aborting the caller's work.
    with transaction.atomic() if connection.in_atomic_block else nullcontext():
        authorized, inbox_id = fetchone_prepared(_INSERT_INBOX, [token, kind, key, text, remote_ip or None])
    return bool(authorized), inbox_id


def callback_enqueue(*, inbox_id: int, patient: bool = False, countdown: float | None = None) -> bool:
    """Hand one inbox row to Celery (`callback_process`): for rows the drain must retry later.
    A dead broker is logged, never raised: the sweep re-queues it."""
    from payments.tasks import callback_process_task

    try:
        if patient:
            callback_process_task.apply_async(args=[inbox_id], countdown=countdown, retry=True, retry_policy={
                "max_retries": 2, "interval_start": 0.2, "interval_step": 0.5, "interval_max": 1})
        else:
            callback_process_task.apply_async(args=[inbox_id], countdown=countdown, retry=False)
        return True
    except Exception:
        logger.warning("broker unavailable; inbox row left for the sweep",
                       extra={"inbox_id": inbox_id, "schema": connection.schema_name})
        return False


def _drain_key(slot: int) -> str:
    """Slot 0 is the kick callbacks set; slots 1.. are helper drains a busy drain starts."""
    from savegame.redis import tenant_key

    return tenant_key("payments", "drain-kick") if slot == 0 else tenant_key("payments", "drain-helper", slot)


def _drain_claim(slot: int) -> bool:
    """SET NX PX: True for the one caller that may publish this slot's drain. Raises if Redis is down."""
    from savegame.redis import redis_client

    return bool(redis_client().set(_drain_key(slot), "1", nx=True, px=settings.PAYMENTS_DRAIN_KICK_TTL_MS))


def _drain_publish(slot: int) -> bool:
    from payments.tasks import inbox_drain_task

    try:
        inbox_drain_task.apply_async(kwargs={"slot": slot} if slot else {}, retry=False)
        return True
    except Exception:
        logger.warning("broker unavailable; inbox rows left for the sweep", extra={"schema": connection.schema_name})
        return False


def _drain_release(slot: int) -> None:
    from savegame.redis import redis_client

    try:
        redis_client().delete(_drain_key(slot))
    except Exception:  # the key expires on its own (PAYMENTS_DRAIN_KICK_TTL_MS)
        logger.warning("redis unavailable; drain key left to expire", extra={"schema": connection.schema_name})


class KickLost(Exception):
    """Redis or the broker did not take a kick (raised by inbox_kick(strict=True))."""


def inbox_kick(*, strict: bool = False) -> bool:
    """Ask for a drain of this tenant's inbox, at most one publish per drain (call after the row commits).

    `SET key NX PX ttl` costs one Redis round trip; only the caller that sets the key publishes
    `payments.inbox_drain`. The drain deletes the key once the inbox is empty and then looks once
    more, so a row committed while the key was still set is never stranded (see inbox_drain).
    Returns whether a drain was published. Redis or the broker being down is logged, never raised
    (the row is stored and the beat sweep drains it) -- unless `strict`: then it raises KickLost, so
    the caller can keep the kick and send it when Redis answers again (payments.kicks).
    """
    try:
        if not _drain_claim(0):
            return False  # a drain is queued or running; it will see our row
    except Exception as exc:
        logger.warning("redis unavailable; inbox row left for the sweep", extra={"schema": connection.schema_name})
        if strict:
            raise KickLost(str(exc)) from exc
        return False
    if not _drain_publish(0):
        _drain_release(0)  # let the next callback try the broker again
        if strict:
            raise KickLost("broker unavailable")
        return False
    return True


def _drain_helpers_start() -> int:
    """A burst: start up to PAYMENTS_DRAIN_HELPERS more drains beside this one (each its own slot,
    so repeated bursts never pile up more). Returns how many were published."""
    started = 0
    for slot in range(1, settings.PAYMENTS_DRAIN_HELPERS + 1):
        try:
            if not _drain_claim(slot):
                continue
        except Exception:
            return started
        if _drain_publish(slot):
            started += 1
        else:
            _drain_release(slot)
    return started


def _inbox_apply(inbox: CallbackInbox, *, verified: list[int] | None = None) -> Exception | None:
    """Apply one locked inbox row and record its new state, both in the row's own savepoint.

    A row that fails -- its processor or its own state change (a constraint, a bug) -- is rolled back
    to its savepoint alone and its failure recorded in a savepoint of its own, so the rows beside it
    in the batch commit whatever it does. After PAYMENTS_INBOX_QUARANTINE_AFTER failures (RetryLater
    does not count: it is waiting, not failing) the row is quarantined: left for an admin to retry
    by hand (`callback_quarantine_release`), shown on the unmatched and M-Pesa pages and to the
    platform owner. Returns the exception for a row to try again later, else None. With
    `verified`, the ids of deposits this row verified are appended to it instead of being scored
    on commit.
    """
    inbox.attempts += 1
    mine: list[int] = []
    token = score_collector.set(mine if verified is not None else None)
    try:
        with transaction.atomic():
            tx = callback_apply(inbox)
            processed_at = timezone.now()
            CallbackInbox.objects.filter(pk=inbox.pk).update(
                attempts=inbox.attempts, state=CallbackInbox.State.PROCESSED, processed_at=processed_at,
                transaction=tx, last_error="")
    except payloads.PayloadError as exc:  # stored bodies were validated; this is a bug, not a retry
        _inbox_failure_record(inbox, exc, state=CallbackInbox.State.FAILED)
        logger.error("stored callback cannot be parsed", extra={"inbox_id": inbox.pk, "schema": connection.schema_name})
        return None
    except (OperationalError, InterfaceError):
        raise  # the connection or the whole transaction is gone: the task retries
    except Exception as exc:
        if not isinstance(exc, RetryLater):
            logger.exception("inbox row failed; retried on its own", extra={"inbox_id": inbox.pk,
                                                                           "schema": connection.schema_name})
            safe(PIPELINE_FAILURES.labels(org=org_label(), stage="credit").inc)
        if _inbox_failure_record(inbox, exc):
            return None  # quarantined: no more automatic tries
        return exc
    finally:
        score_collector.reset(token)
    if tx is not None and inbox.received_at is not None:
        safe(CALLBACK_TO_CREDITED.observe, max(0.0, (processed_at - inbox.received_at).total_seconds()))
    if verified is not None:
        verified.extend(mine)
    return None


def _inbox_failure_record(inbox: CallbackInbox, exc: Exception, *, state: str | None = None) -> bool:
    """Note a failed try on the row (its own savepoint; a row whose very update fails is only logged,
    and the drain skips it for the rest of its run). Returns whether the row left `received`."""
    fields: dict = {"attempts": inbox.attempts, "last_error": str(exc)[:500]}
    quarantine = (state is None and not isinstance(exc, RetryLater)
                  and inbox.attempts >= settings.PAYMENTS_INBOX_QUARANTINE_AFTER)
    if quarantine:
        state = CallbackInbox.State.QUARANTINED
    if state:
        fields["state"] = state
    try:
        with transaction.atomic():
            CallbackInbox.objects.filter(pk=inbox.pk).update(**fields)
    except (OperationalError, InterfaceError):
        raise
    except Exception:
        logger.exception("inbox row failure could not be recorded", extra={"inbox_id": inbox.pk,
                                                                          "schema": connection.schema_name})
        return False
    if quarantine:
        logger.error("inbox row quarantined", extra={"inbox_id": inbox.pk, "attempts": inbox.attempts,
                                                     "schema": connection.schema_name})
        _quarantine_report(inbox, reason=fields["last_error"])
    return bool(state)


def _quarantine_report(inbox: CallbackInbox, *, reason: str) -> None:
    """Tell the platform owner (the refused-callbacks list, public schema) once the row's state commits."""
    import json

    from payments.platform.models import RefusedCallback
    from payments.platform.services import callback_refusal_record

    organization = connection.tenant
    body = json.dumps(inbox.payload).encode()
    transaction.on_commit(lambda: callback_refusal_record(
        organization=organization, kind=inbox.kind, reason=RefusedCallback.Reason.QUARANTINED, status_code=200,
        remote_ip=inbox.remote_ip, body=body, detail=f"inbox #{inbox.pk}: {reason}", sender_proven=True))


def callback_quarantine_release(*, inbox_ids: list[int] | None = None, actor=None, actor_label: str = "",
                                ip_address: str | None = None) -> int:
    """Retry quarantined rows by hand (all of them without `inbox_ids`): each goes back to the drain's
    queue as if new, and the drain is kicked. Audited. Returns how many were released."""
    from accounts.services import audit_record
    from payments.kicks import inbox_kick_soon

    with transaction.atomic():
        rows = CallbackInbox.objects.select_for_update().filter(state=CallbackInbox.State.QUARANTINED)
        if inbox_ids is not None:
            rows = rows.filter(pk__in=inbox_ids)
        released = list(rows.values_list("pk", flat=True))
        if not released:
            return 0
        CallbackInbox.objects.filter(pk__in=released).update(state=CallbackInbox.State.RECEIVED, attempts=0)
        audit_record(actor=actor, action="callback_inbox.released", target=None, ip_address=ip_address,
                     actor_label=actor_label, after={"inbox_ids": released})
        transaction.on_commit(inbox_kick_soon)
    return len(released)


def callback_process(*, inbox_id: int) -> None:
    """Apply one stored callback to the ledger. Idempotent: running it twice changes nothing more.

    The drain does this for batches; this single-row form serves rows the drain handed back to be
    retried with back-off (RetryLater, e.g. an STK result that beat its push row, or a row that
    failed). Raises the row's error after its failed try is committed, so the task retries it."""
    with transaction.atomic():
        inbox = CallbackInbox.objects.select_for_update().filter(pk=inbox_id).first()
        if inbox is None or inbox.state != CallbackInbox.State.RECEIVED:
            return
        retry = _inbox_apply(inbox)
    if retry is not None:
        raise retry


def _drainable():
    """Rows the drain takes: unprocessed, never tried (a row that failed once is retried by
    callback_process with back-off), and not validations (answered at once, never processed)."""
    return CallbackInbox.objects.filter(state=CallbackInbox.State.RECEIVED, attempts=0).exclude(
        kind=CallbackInbox.Kind.VALIDATION)


def _drain_batch(*, size: int, later: list[int]) -> tuple[int, list[int]]:
    """Credit up to `size` unprocessed rows nobody else holds, in one transaction, each in its own
    savepoint. Returns (rows taken, deposits verified)."""
    verified: list[int] = []
    with transaction.atomic():
        queue = _drainable().exclude(pk__in=later) if later else _drainable()  # later: failed in this run
        rows = list(queue.order_by("received_at", "id").select_for_update(skip_locked=True)[:size])
        for inbox in rows:
            if _inbox_apply(inbox, verified=verified) is not None:
                later.append(inbox.pk)
    return len(rows), verified


def inbox_drain(*, batch_size: int | None = None, time_budget: float | None = None, slot: int = 0) -> int:
    """Credit every unprocessed callback of this tenant, batch after batch, and hand each batch's
    verified deposits to scoring in one transaction. Returns rows credited.

    Safe in any number of copies at once (rows are claimed with FOR UPDATE SKIP LOCKED) and when
    run again for the same rows (acks_late redelivery): a processed row is never taken again and
    the scoring hand-over is guarded. When a batch comes back empty the drain deletes its key
    (slot 0: the kick), then tries once more: a callback that committed its row while the key was
    still set (and so published nothing) is processed here. The kicked drain that finds a full
    batch starts helper drains (slots 1..PAYMENTS_DRAIN_HELPERS) for the burst. Past `time_budget`
    seconds a drain re-queues itself and stops, leaving its key to its successor.
    """
    import time

    size = batch_size or settings.PAYMENTS_DRAIN_BATCH
    budget = settings.PAYMENTS_DRAIN_TIME_BUDGET if time_budget is None else time_budget
    started = time.monotonic()
    later: list[int] = []  # rows that failed: each goes to callback_process (its own retries and back-off)
    taken_total = 0
    released = helped = False
    try:
        while True:
            taken, verified = _drain_batch(size=size, later=later)
            taken_total += taken
            if taken == size and slot == 0 and not helped:
                helped = True
                _drain_helpers_start()
            if verified:
                deposits_hand_over(transaction_ids=verified)
            if taken:
                released = False
                if time.monotonic() - started > budget and _drain_publish(slot):
                    break
            elif released:
                break  # empty twice, the second time after the key was gone: nothing is stranded
            else:
                _drain_release(slot)
                released = True
    finally:
        for inbox_id in later:
            callback_enqueue(inbox_id=inbox_id, countdown=settings.PAYMENTS_RETRY_LATER_SECONDS)
    return taken_total - len(later)


def deposits_hand_over(*, transaction_ids: list[int]) -> list[int]:
    """Hand verified deposits to gamification exactly once, many in one transaction: the one hand-over
    from payments to the game (the drain's batches, a deposit verified outside a drain, the sweep).

    The game's guard rows (`challenges.ScoredDeposit`) and the scoring commit together in
    `deposits_score`; a deposit already handed over (another drain, a redelivered task, the sweep)
    is skipped by its ON CONFLICT. Hand-overs of one
    organization run one at a time (a transaction-scoped advisory lock): scoring updates shared
    rows (the challenge's totals, participants), so two batches side by side would only deadlock
    -- helper drains overlap crediting with scoring instead. If the batch fails anyway, each
    deposit is tried on its own so one bad deposit cannot hold back the others (the unscored
    sweep retries whatever still fails). Returns the ids scored now.
    """
    from challenges.services import deposits_score

    if not transaction_ids:
        return []
    try:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
                               [f"deposits-hand-over:{connection.schema_name}"])
            fresh = deposits_score(transaction_ids=transaction_ids)
        watch_soon(transaction_ids=fresh)  # suspicious patterns, in a task of their own
        return fresh
    except Exception:  # a deadlock with a single-deposit path, a bug in scoring, a lost connection
        safe(PIPELINE_FAILURES.labels(org=org_label(), stage="score").inc)
        logger.exception("batch scoring failed; scoring one by one", extra={"schema": connection.schema_name,
                                                                            "transactions": len(transaction_ids)})
    if len(transaction_ids) == 1:
        return []  # tried alone already; the sweep retries it
    return [tx_id for tx_id in transaction_ids if _score_alone(tx_id)]


def _score_alone(tx_id: int) -> bool:
    try:
        return bool(deposits_hand_over(transaction_ids=[tx_id]))
    except Exception:  # the sweep retries unscored deposits
        safe(PIPELINE_FAILURES.labels(org=org_label(), stage="score").inc)
        logger.exception("scoring failed; the sweep will retry", extra={"transaction_id": tx_id,
                                                                        "schema": connection.schema_name})
        return False


RETRIED_ROWS_AFTER_SECONDS = 60  # a row that failed has its own task retries; the sweep re-queues it only this late


def inbox_sweep(*, older_than_seconds: float | None = None, limit: int = 500) -> int:
    """Safety net (beat, every PAYMENTS_SWEEP_SECONDS): rows still unprocessed after
    `older_than_seconds` (PAYMENTS_SWEEP_CUTOFF_SECONDS) -- a lost kick or a dead drain gets a drain
    of its own -- and verified deposits never scored (a worker killed between crediting and its
    hand-over to scoring) are scored; a row whose retries were lost is re-queued after
    RETRIED_ROWS_AFTER_SECONDS. Returns the number of stale rows found."""
    seconds = settings.PAYMENTS_SWEEP_CUTOFF_SECONDS if older_than_seconds is None else older_than_seconds
    now = timezone.now()
    cutoff = now - timedelta(seconds=seconds)
    stale = (CallbackInbox.objects.filter(state=CallbackInbox.State.RECEIVED)
             .exclude(kind=CallbackInbox.Kind.VALIDATION))
    never_tried = stale.filter(attempts=0, received_at__lt=cutoff).count()
    if never_tried:
        _drain_publish_patiently()
    retried_cutoff = min(cutoff, now - timedelta(seconds=RETRIED_ROWS_AFTER_SECONDS)) if older_than_seconds is None \
        else cutoff
    retried = list(stale.filter(attempts__gt=0, received_at__lt=retried_cutoff).order_by("received_at")
                   .values_list("id", flat=True)[:limit])
    for inbox_id in retried:
        callback_enqueue(inbox_id=inbox_id, patient=True)
    from challenges.selectors import deposits_unscored

    deposits_hand_over(transaction_ids=deposits_unscored(before=cutoff, limit=limit))
    return never_tried + len(retried)


def _drain_publish_patiently() -> None:
    """A drain regardless of the kick key (the kicked drain may be lost); the broker gets a few tries."""
    from payments.tasks import inbox_drain_task

    try:
        inbox_drain_task.apply_async(retry=True, retry_policy={
            "max_retries": 2, "interval_start": 0.2, "interval_step": 0.5, "interval_max": 1})
    except Exception:
        logger.warning("broker unavailable; the next sweep tries again", extra={"schema": connection.schema_name})
