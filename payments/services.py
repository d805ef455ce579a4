"""Writes for payments: M-Pesa settings, the ledger, STK push, reconciliation.

The callback inbox and its drain live in payments/inbox.py; they apply each stored callback here
(`callback_apply`).

Money rules (DESIGN.md "Money and the ledger"):
- Every distinct M-Pesa receipt (== TransID) credits exactly once: unique constraints on the natural
  ids, row locks, and a transaction-scoped advisory lock per receipt shared by the STK and C2B paths.
- A verified deposit is handed to gamification exactly once, through payments/inbox.py
  `deposits_hand_over` (the game's ScoredDeposit guard commits with the score).
"""

from __future__ import annotations

import logging
import re
from contextvars import ContextVar
from datetime import timedelta
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from payments import payloads
from payments.selectors import organization_paybill_forget
from payments.watch.services import watch_soon
from savegame.metrics import DEPOSITS_CREDITED, RECONCILIATION, count_on_commit, org_label, safe
from payments.models import (
    CallbackInbox,
    ManualDeposit,
    MpesaSettings,
    ReconciliationReport,
    StatusQuery,
    Transaction,
    TransactionStatusChange,
    UnmatchedOutcome,
    new_callback_token,
)

logger = logging.getLogger(__name__)

SIMULATOR_PASSKEY = "bfb279f9aa9bdbcf158e97dd71a467cd2e0c893059b10f78e6b72ada1ed2c919"  # Daraja's public sandbox passkey
STK_ATTACH_WINDOW = timedelta(hours=2)
UNKNOWN_CHECKOUT_GRACE = timedelta(minutes=10)


class RetryLater(Exception):
    """A transient condition (e.g. an STK result that arrived before its push row was saved)."""


# --- M-Pesa settings ---------------------------------------------------------------------------

def _simulator_credentials(shortcode: str) -> dict:
    return {"consumer_key": f"sim-{shortcode}-key", "consumer_secret": f"sim-{shortcode}-secret",
            "passkey": SIMULATOR_PASSKEY, "initiator_name": "simapi", "security_credential": "sim-credential"}


def mpesa_settings_init(*, shortcode: str = "") -> MpesaSettings:
    """Create the organization's M-Pesa settings row (call inside its schema).

    In simulator mode the row gets working simulator credentials, so "Save now" works on a laptop.
    """
    settings_row = MpesaSettings.objects.first()
    if settings_row is None:
        settings_row = MpesaSettings(shortcode=shortcode or "", environment=settings.MPESA_ENV)
        if settings.MPESA_ENV == "simulator" and shortcode:
            for field, value in _simulator_credentials(shortcode).items():
                setattr(settings_row, field, value)
        settings_row.save()
    elif shortcode and settings_row.shortcode != shortcode:
        settings_row.shortcode = shortcode
        settings_row.save(update_fields=["shortcode", "updated_at"])
    organization_paybill_forget()
    return settings_row


MPESA_EDITABLE_FIELDS = ["shortcode", "shortcode_type", "environment", "initiator_name", "strict_validation",
                         "cash_second_approval_over", *MpesaSettings.SECRET_FIELDS]


def mpesa_settings_update(*, data: dict, actor=None, ip_address: str | None = None) -> MpesaSettings:
    """Apply an org admin's edit. A blank secret keeps the stored one (secrets are write-only)."""
    from accounts.services import audit_record
    from savegame.services import model_update

    data = {k: v for k, v in data.items() if k in MPESA_EDITABLE_FIELDS}
    for field in MpesaSettings.SECRET_FIELDS:
        if field in data and not (data[field] or "").strip():
            data.pop(field)
    with transaction.atomic():
        row = MpesaSettings.objects.select_for_update().first() or mpesa_settings_init()
        row, changed = model_update(instance=row, fields=MPESA_EDITABLE_FIELDS, data=data)
        if changed:
            organization_paybill_forget()
            audit_record(actor=actor, action="mpesa_settings.updated", target=row, ip_address=ip_address,
                         after={f: ("(secret changed)" if f in MpesaSettings.SECRET_FIELDS
                                    else str(getattr(row, f)) if isinstance(getattr(row, f), Decimal)
                                    else getattr(row, f)) for f in changed})
    return row


def mpesa_callback_token_rotate(*, actor=None, ip_address: str | None = None) -> MpesaSettings:
    """New secret path token: old callback URLs stop working (re-register the URLs with Daraja)."""
    from accounts.services import audit_record

    with transaction.atomic():
        row = MpesaSettings.objects.select_for_update().get()
        row.callback_token = new_callback_token()
        row.save(update_fields=["callback_token", "updated_at"])
        audit_record(actor=actor, action="mpesa_settings.token_rotated", target=row, ip_address=ip_address)
    return row


def mpesa_secrets_reencrypt() -> int:
    """Re-encrypt every secret with the newest FIELD_ENCRYPTION_KEYS key (after adding a key)."""
    count = 0
    with transaction.atomic():
        for row in MpesaSettings.objects.select_for_update():
            row.save(update_fields=list(MpesaSettings.SECRET_FIELDS))
            count += 1
    return count


def c2b_urls_register(*, actor=None, ip_address: str | None = None) -> dict:
    """Call Daraja's registerurl with this organization's validation/confirmation URLs."""
    from accounts.services import audit_record
    from payments.daraja import DarajaClient
    from payments.selectors import mpesa_callback_urls

    row = MpesaSettings.objects.get()
    urls = mpesa_callback_urls(organization=connection.tenant)
    body = DarajaClient.for_settings(row).register_urls(confirmation_url=urls["confirmation"],
                                                        validation_url=urls["validation"])
    MpesaSettings.objects.filter(pk=row.pk).update(urls_registered_at=timezone.now())
    audit_record(actor=actor, action="mpesa_settings.urls_registered", target=row, ip_address=ip_address,
                 after={"confirmation": urls["confirmation"], "validation": urls["validation"]})
    return body


# Set while the drain applies a row (payments.inbox): verified deposits are collected for one batched
# hand-over to scoring instead of one on-commit scoring transaction each (see _on_verified).
score_collector: ContextVar[list[int] | None] = ContextVar("payments_score_collector", default=None)


# --- matching ----------------------------------------------------------------------------------

def member_match(*, bill_ref: str = "", msisdn: str = ""):
    """(user, challenge) for a payment: account code [+ challenge code] in BillRefNumber
    (case/space-insensitive), else a known member phone (plain or Daraja's SHA-256 hash). None if unknown."""
    from accounts.models import User
    from accounts.phone import normalize_phone, phone_sha256
    from challenges.models import Challenge

    ref = re.sub(r"[^A-Z0-9]", "", (bill_ref or "").upper())
    if ref:
        from accounts.models import ACCOUNT_CODE_LENGTH

        user = User.objects.filter(account_code=ref[:ACCOUNT_CODE_LENGTH], is_active=True).first()
        if user is not None:
            rest = ref[ACCOUNT_CODE_LENGTH:]
            challenge = Challenge.objects.filter(code=rest).first() if rest else None
            return user, challenge
    msisdn = (msisdn or "").strip()
    if re.fullmatch(r"[0-9a-fA-F]{64}", msisdn):
        wanted = msisdn.lower()
        for user_id, phone in User.objects.filter(is_active=True).values_list("id", "phone_number"):
            if phone_sha256(phone) == wanted:
                return User.objects.get(pk=user_id), None
    elif msisdn:
        try:
            phone = normalize_phone(msisdn)
        except Exception:
            phone = None
        if phone:
            user = User.objects.filter(phone_number=phone, is_active=True).first()
            if user is not None:
                return user, None
    return None, None


# --- ledger helpers ----------------------------------------------------------------------------

def _lock_receipt(receipt: str) -> None:
    """Serialize every writer of one receipt (the STK and the C2B paths) until commit."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [f"mpesa-receipt:{receipt}"])


def _status_change(tx: Transaction, *, from_status: str, reason: str, actor=None, actor_label: str = "system") -> None:
    TransactionStatusChange.objects.create(transaction=tx, from_status=from_status, to_status=tx.status,
                                           reason=reason[:255], actor=actor, actor_label=actor_label[:120])


def _on_verified(tx: Transaction) -> None:
    """After the crediting transaction commits: hand the deposit to gamification.

    Gamification's scoring batch (`challenges.services.deposits_score`) owns what follows a verified deposit, in its own transaction:
    the one `deposit_confirmed` message (amount, challenge progress, points, rank change; keyed
    `deposit:<tx id>`) and the one `deposit_verified` analytics event. Payments sends neither,
    so a deposit is confirmed exactly once, also when it matches no challenge."""
    tx_id = tx.pk
    collected = score_collector.get()
    if collected is not None:  # in a drain: scored with the rest of its batch (deposits_hand_over)
        collected.append(tx_id)
        return
    transaction.on_commit(lambda: _after_verified(tx_id))


def _after_verified(tx_id: int) -> None:
    from payments.inbox import deposits_hand_over

    deposits_hand_over(transaction_ids=[tx_id])  # never raises: a failure is logged and the sweep retries


def _on_reversed(tx: Transaction) -> None:
    """After the reversal commits: gamification takes the deposit's points, progress and totals back
    (challenges/services/reversals.py; idempotent, and its beat sweep retries a lost hand-over)."""
    tx_id = tx.pk
    transaction.on_commit(lambda: _after_reversed(tx_id))


def _after_reversed(tx_id: int) -> None:
    from challenges.services import deposit_reversal_apply

    try:
        deposit_reversal_apply(transaction_id=tx_id)
    except Exception:  # the sweep retries reversals not yet taken back
        logger.exception("reversal claw-back failed; the sweep will retry", extra={"transaction_id": tx_id})


def _credit_new(*, source: str, amount: Decimal, receipt: str, user, challenge, phone: str, bill_ref: str,
                transacted_at, payer_name: str = "", reason: str, **extra) -> Transaction:
    status = Transaction.Status.VERIFIED if user is not None else Transaction.Status.UNMATCHED
    tx = Transaction.objects.create(
        source=source, amount=amount, transaction_id=receipt, mpesa_receipt=receipt, user=user, challenge=challenge,
        phone_number=phone[:80], bill_ref_number=bill_ref[:40], transacted_at=transacted_at, payer_name=payer_name,
        status=status, verified_at=timezone.now() if user is not None else None, **extra,
    )
    _status_change(tx, from_status="", reason=reason)
    count_on_commit(DEPOSITS_CREDITED, org=org_label(), status=status)
    if user is not None:
        _on_verified(tx)
    return tx


def _existing_by_receipt(receipt: str) -> Transaction | None:
    return Transaction.objects.select_for_update().filter(
        Q(transaction_id=receipt) | Q(mpesa_receipt=receipt)).first()


def _verify(tx: Transaction, *, receipt: str | None, transacted_at, reason: str, extra: dict | None = None) -> None:
    previous = tx.status
    fields = {"status": Transaction.Status.VERIFIED, "verified_at": timezone.now()}
    if receipt and not tx.mpesa_receipt:
        fields.update(mpesa_receipt=receipt, transaction_id=receipt)
    if transacted_at:
        fields["transacted_at"] = transacted_at
    fields.update(extra or {})
    for k, v in fields.items():
        setattr(tx, k, v)
    tx.save(update_fields=[*fields, "updated_at"])
    _status_change(tx, from_status=previous, reason=reason)
    count_on_commit(DEPOSITS_CREDITED, org=org_label(), status=Transaction.Status.VERIFIED)
    _on_verified(tx)


# --- processors (one per callback kind) ---------------------------------------------------------

def _process_validation(inbox: CallbackInbox) -> None:
    return None


def _process_confirmation(inbox: CallbackInbox) -> Transaction:
    payment = payloads.parse_c2b(inbox.payload)
    _lock_receipt(payment.trans_id)
    existing = _existing_by_receipt(payment.trans_id)
    if existing is not None:
        return existing  # the STK result (or a replay) already recorded this payment
    user, challenge = member_match(bill_ref=payment.bill_ref, msisdn=payment.msisdn)
    if user is not None:
        # The member's own STK push that this confirmation completes (same member and amount, recent,
        # not yet holding a receipt): exactly one candidate, or we record a separate C2B row.
        candidates = list(Transaction.objects.select_for_update().filter(
            source=Transaction.Source.STK, user=user, amount=payment.amount, mpesa_receipt__isnull=True,
            status__in=[Transaction.Status.PENDING, Transaction.Status.VERIFIED],
            created_at__gte=timezone.now() - STK_ATTACH_WINDOW)[:2])
        if len(candidates) == 1:
            stk = candidates[0]
            if stk.status == Transaction.Status.PENDING:
                _verify(stk, receipt=payment.trans_id, transacted_at=payment.trans_time,
                        reason="C2B confirmation of the member's STK push")
            else:  # verified by the reconciler without a receipt: attach it, no second credit
                Transaction.objects.filter(pk=stk.pk).update(mpesa_receipt=payment.trans_id,
                                                             transaction_id=payment.trans_id)
            return stk
    return _credit_new(source=Transaction.Source.C2B, amount=payment.amount, receipt=payment.trans_id, user=user,
                       challenge=challenge, phone=payment.msisdn, bill_ref=payment.bill_ref,
                       transacted_at=payment.trans_time, payer_name=payment.first_name,
                       reason="C2B confirmation" if user else "C2B confirmation: no member matched")


def _process_stk(inbox: CallbackInbox) -> Transaction | None:
    result = payloads.parse_stk(inbox.payload)
    if result.ok:
        _lock_receipt(result.receipt)
    tx = Transaction.objects.select_for_update().filter(checkout_request_id=result.checkout_request_id).first()
    if tx is None:
        if timezone.now() - inbox.received_at < UNKNOWN_CHECKOUT_GRACE:
            raise RetryLater(f"no STK push {result.checkout_request_id} yet")
        if not result.ok:
            return None
        existing = _existing_by_receipt(result.receipt)
        if existing is not None:
            return existing
        user, _ = member_match(msisdn=result.phone)
        return _credit_new(source=Transaction.Source.STK, amount=result.amount, receipt=result.receipt, user=user,
                           challenge=None, phone=result.phone, bill_ref="", transacted_at=result.transacted_at,
                           reason="STK result for a push we have no record of",
                           checkout_request_id=result.checkout_request_id, result_code="0",
                           result_desc=result.result_desc)
    if not result.ok:
        if tx.status == Transaction.Status.PENDING:
            previous = tx.status
            tx.status, tx.result_code, tx.result_desc = Transaction.Status.FAILED, str(result.result_code), result.result_desc
            tx.save(update_fields=["status", "result_code", "result_desc", "updated_at"])
            _status_change(tx, from_status=previous, reason=f"STK result {result.result_code}: {result.result_desc}")
        return tx
    if tx.mpesa_receipt == result.receipt:
        return tx  # a replay, or the C2B confirmation got here first
    existing = _existing_by_receipt(result.receipt)
    if existing is not None and existing.pk != tx.pk:
        # Credited already as a separate C2B row. Give it to this member if it was unmatched; close the push.
        if existing.status == Transaction.Status.UNMATCHED and not UnmatchedOutcome.objects.filter(
                transaction=existing, outcome=UnmatchedOutcome.Outcome.REFUNDED).exists():
            existing.user = tx.user
            existing.challenge = existing.challenge or tx.challenge
            _verify(existing, receipt=None, transacted_at=None, reason=f"matched to the member's STK push #{tx.pk}")
        if tx.status == Transaction.Status.VERIFIED and not tx.mpesa_receipt:
            # The reconciler credited this push without a receipt and the same money was also credited as a
            # separate row: an admin must reverse one. Surfaced in the daily report, never fixed silently.
            logger.error("possible double credit: STK push verified without receipt and receipt credited elsewhere",
                         extra={"transaction_id": tx.pk, "other_transaction_id": existing.pk,
                                "schema": connection.schema_name})
        if tx.status in (Transaction.Status.PENDING,):
            previous = tx.status
            tx.status, tx.result_code = Transaction.Status.FAILED, "0"
            tx.result_desc = f"Paid; credited as transaction #{existing.pk}"
            tx.save(update_fields=["status", "result_code", "result_desc", "updated_at"])
            _status_change(tx, from_status=previous, reason=tx.result_desc)
        return existing
    if tx.status in (Transaction.Status.PENDING, Transaction.Status.FAILED):
        _verify(tx, receipt=result.receipt, transacted_at=result.transacted_at, reason="STK push result 0",
                extra={"result_code": "0", "result_desc": result.result_desc, "merchant_request_id":
                       tx.merchant_request_id or result.merchant_request_id})
        return tx
    if tx.status == Transaction.Status.VERIFIED and not tx.mpesa_receipt:
        Transaction.objects.filter(pk=tx.pk).update(mpesa_receipt=result.receipt, transaction_id=result.receipt)
        return tx
    # The push row already holds a different receipt: this receipt is a payment of its own.
    return _credit_new(source=Transaction.Source.STK, amount=result.amount, receipt=result.receipt, user=tx.user,
                       challenge=tx.challenge, phone=result.phone, bill_ref="", transacted_at=result.transacted_at,
                       reason=f"second receipt for STK push #{tx.pk}")


def _process_status(inbox: CallbackInbox) -> Transaction | None:
    result = payloads.parse_status_result(inbox.payload)
    query = StatusQuery.objects.select_for_update().filter(
        Q(conversation_id=result.conversation_id) | Q(originator_conversation_id=result.originator_conversation_id)
        & ~Q(originator_conversation_id="")).first()
    tx = None
    if inbox.kind == CallbackInbox.Kind.RESULT and result.completed and query is not None:  # only what we asked
        receipt = str(result.params.get("ReceiptNo") or (query.trans_id if query else "")).strip()
        if receipt:
            _lock_receipt(receipt)
            tx = _existing_by_receipt(receipt)
            if tx is None:
                # A C2B payment whose confirmation never came: fill the gap from the status result,
                # matching with the validation request we stored for it, if any.
                validation = CallbackInbox.objects.filter(kind=CallbackInbox.Kind.VALIDATION, natural_key=receipt).first()
                c2b = payloads.parse_c2b(validation.payload) if validation else None
                debit = str(result.params.get("DebitPartyName") or "")
                user, challenge = member_match(bill_ref=c2b.bill_ref if c2b else "",
                                               msisdn=c2b.msisdn if c2b else debit.split(" - ")[0])
                amount = payloads.daraja_amount(result.params.get("Amount") or (c2b.amount if c2b else 0))
                when = result.params.get("FinalisedTime") or result.params.get("InitiatedTime")
                tx = _credit_new(source=Transaction.Source.C2B, amount=amount, receipt=receipt, user=user,
                                 challenge=challenge, phone=c2b.msisdn if c2b else debit[:80],
                                 bill_ref=c2b.bill_ref if c2b else "",
                                 transacted_at=payloads.daraja_time(when) if when else (c2b.trans_time if c2b else None),
                                 payer_name=c2b.first_name if c2b else "",
                                 reason="recovered by Transaction Status (confirmation never arrived)")
                count_on_commit(RECONCILIATION, check="transaction_status", outcome="confirmation_recovered")
    if query is not None:
        query.result = inbox.payload
        query.resolved_at = timezone.now()
        query.transaction = query.transaction or tx
        query.save(update_fields=["result", "resolved_at", "transaction"])
    return tx


_PROCESSORS = {
    CallbackInbox.Kind.VALIDATION: _process_validation,
    CallbackInbox.Kind.CONFIRMATION: _process_confirmation,
    CallbackInbox.Kind.STK: _process_stk,
    CallbackInbox.Kind.RESULT: _process_status,
    CallbackInbox.Kind.TIMEOUT: _process_status,
}


def callback_apply(inbox: CallbackInbox) -> Transaction | None:
    """Apply one stored callback to the ledger (call inside a transaction; payments.inbox owns the row's state)."""
    return _PROCESSORS[inbox.kind](inbox)


def c2b_validate(*, body: dict) -> tuple[bool, str]:
    """Accept or reject a C2B validation request (strict mode rejects unknown account numbers)."""
    row = MpesaSettings.objects.first()
    if row is None or not row.strict_validation:
        return True, ""
    payment = payloads.parse_c2b(body)
    user, _ = member_match(bill_ref=payment.bill_ref)
    return (user is not None), "C2B00012"


# --- admin actions -----------------------------------------------------------------------------

def transaction_assign(*, transaction_id: int, user, challenge=None, actor=None, ip_address: str | None = None) -> Transaction:
    """An org admin gives an unmatched payment to a member: it is credited (once) and audited."""
    from accounts.services import audit_record
    from django.core.exceptions import ValidationError

    with transaction.atomic():
        tx = Transaction.objects.select_for_update().get(pk=transaction_id)
        if tx.status != Transaction.Status.UNMATCHED:
            raise ValidationError({"transaction": "Only unmatched payments can be assigned."})
        outcome = UnmatchedOutcome.objects.filter(transaction=tx).first()
        if outcome is not None:
            raise ValidationError({"transaction": (
                "This payment was refunded to the payer: it can't be credited." if outcome.outcome == "refunded"
                else "This payment was ignored: reopen it before assigning it.")})
        if user is None or user.role not in ("member", "org_admin"):
            raise ValidationError({"user": "Choose a member of this organization."})
        tx.user = user
        if challenge is not None:
            tx.challenge = challenge
        tx.status, tx.verified_at = Transaction.Status.VERIFIED, timezone.now()
        tx.save(update_fields=["user", "challenge", "status", "verified_at", "updated_at"])
        _status_change(tx, from_status=Transaction.Status.UNMATCHED, reason="assigned by an admin", actor=actor,
                       actor_label=str(actor) if actor else "system")
        audit_record(actor=actor, action="transaction.assigned", target=tx, ip_address=ip_address,
                     before={"status": "unmatched"},
                     after={"status": "verified", "user": user.pk, "challenge": challenge.pk if challenge else None})
        _on_verified(tx)
    return tx


MANUAL_BACKDATE_DAYS = 31  # a cash deposit may be recorded up to a month after the meeting it was paid at


MANUAL_REPEAT_WINDOW = timedelta(minutes=15)


def manual_deposit_record(*, request_key: str, user, amount, paid_on, actor, method: str = "cash", note: str = "",
                          challenge=None, confirm_repeat: bool = False,
                          ip_address: str | None = None) -> tuple[ManualDeposit, bool]:
    """A leader records a cash or bank deposit for a member (issue 16.17). Returns (row, created).

    At or under the organization's `cash_second_approval_over` (or with none set) it is credited at once
    as a `manual`, verified ledger row that scores like any deposit and sends the member the usual receipt;
    above it the row waits for a second leader (`manual_deposit_approve`). The same `request_key` records
    once, however often or concurrently it is submitted. The same leader recording the same amount for the
    same member and day again within 15 minutes (a form filled in twice, Back and submit) is refused
    unless `confirm_repeat` says it is a second deposit."""
    from django.core.exceptions import ValidationError
    from django.db import IntegrityError

    from payments.payloads import _amount_bounds
    from tenants.calendar import local_today

    key = (request_key or "").strip()
    if not key or len(key) > 64:
        raise ValidationError({"request_key": "Missing or too long (64 characters at most)."})
    existing = ManualDeposit.objects.filter(request_key=key).first()
    if existing is not None:
        return existing, False
    low, high = _amount_bounds()
    try:
        amount = Decimal(str(amount)).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError):
        raise ValidationError({"amount": "Give the amount in KES, e.g. 500."}) from None
    if not low <= amount <= high:
        raise ValidationError({"amount": f"Between KES {low:,.0f} and KES {high:,.0f}."})
    today = local_today()
    if paid_on > today or paid_on < today - timedelta(days=MANUAL_BACKDATE_DAYS):
        raise ValidationError({"paid_on": f"The day it was paid: today or up to {MANUAL_BACKDATE_DAYS} days ago."})
    if method not in ("cash", "bank"):
        raise ValidationError({"method": "cash or bank."})
    if user is None or not user.is_active or user.role not in ("member", "org_admin"):
        raise ValidationError({"user": "Choose a member of this organization."})
    if not confirm_repeat and ManualDeposit.objects.filter(
            user=user, amount=amount, paid_on=paid_on, recorded_by=actor,
            created_at__gte=timezone.now() - MANUAL_REPEAT_WINDOW).exclude(status=ManualDeposit.Status.REJECTED).exists():
        from django.utils.translation import gettext

        existing = ManualDeposit.objects.filter(request_key=key).first()
        if existing is not None:  # the same form, recorded meanwhile by a concurrent submit
            return existing, False
        raise ValidationError({"confirm_repeat": gettext(
            "You recorded KES %(amount)s for %(name)s on this day a few minutes ago. "
            "If this is a second deposit, confirm it.") % {"amount": f"{amount:,.2f}", "name": user.display_name}})
    threshold = MpesaSettings.objects.values_list("cash_second_approval_over", flat=True).first()
    try:
        with transaction.atomic():
            row = ManualDeposit.objects.create(request_key=key, user=user, challenge=challenge, amount=amount,
                                               paid_on=paid_on, method=method, note=(note or "").strip()[:200],
                                               recorded_by=actor)
            _manual_audit(row, actor, "manual_deposit.recorded", ip_address)
            if threshold is None or amount <= threshold:
                _manual_credit(row, actor, ip_address)
    except IntegrityError:  # the same form submitted twice at once: the other request recorded it
        return ManualDeposit.objects.get(request_key=key), False
    return row, True


def manual_deposit_approve(*, deposit_id: int, actor, ip_address: str | None = None) -> ManualDeposit:
    """The second leader of a maker-checker pair credits a held cash deposit."""
    from django.core.exceptions import ValidationError

    with transaction.atomic():
        row = ManualDeposit.objects.select_for_update().get(pk=deposit_id)
        if row.status != ManualDeposit.Status.PENDING:
            raise ValidationError({"deposit": "This deposit is not waiting for approval."})
        if actor is None or actor.pk == row.recorded_by_id:
            raise ValidationError({"deposit": "Another leader must approve a deposit you recorded."})
        _manual_credit(row, actor, ip_address)
    return row


def manual_deposit_reject(*, deposit_id: int, actor, reason: str = "", ip_address: str | None = None) -> ManualDeposit:
    """A held cash deposit that should not be credited (wrong member, counted twice at the meeting)."""
    from django.core.exceptions import ValidationError

    with transaction.atomic():
        row = ManualDeposit.objects.select_for_update().get(pk=deposit_id)
        if row.status != ManualDeposit.Status.PENDING:
            raise ValidationError({"deposit": "This deposit is not waiting for approval."})
        row.status, row.decided_by, row.decided_at = ManualDeposit.Status.REJECTED, actor, timezone.now()
        row.note = (f"{row.note} · " if row.note else "") + f"rejected: {(reason or '').strip()}"[:150]
        row.save(update_fields=["status", "decided_by", "decided_at", "note"])
        _manual_audit(row, actor, "manual_deposit.rejected", ip_address)
    return row


def _manual_credit(row: ManualDeposit, actor, ip_address: str | None) -> None:
    """The ledger row of a recorded cash deposit: dated the day it was paid (now, when that is today)."""
    from tenants.calendar import day_start, local_today, organization_zone

    zone = organization_zone()
    paid_at = timezone.now() if row.paid_on == local_today(zone) else day_start(row.paid_on, zone) + timedelta(hours=12)
    tx = Transaction.objects.create(
        source=Transaction.Source.MANUAL, amount=row.amount, user=row.user, challenge=row.challenge,
        status=Transaction.Status.VERIFIED, transacted_at=paid_at, verified_at=timezone.now(),
        phone_number=row.user.phone_number, bill_ref_number=row.user.account_code,
        result_desc=f"{row.method} deposit recorded by {row.recorded_by.display_name}"[:255])
    _status_change(tx, from_status="", reason=f"{row.method} deposit #{row.pk}", actor=actor,
                   actor_label=str(actor) if actor else "system")
    row.status, row.transaction, row.decided_by, row.decided_at = (
        ManualDeposit.Status.CREDITED, tx, actor, timezone.now())
    row.save(update_fields=["status", "transaction", "decided_by", "decided_at"])
    _manual_audit(row, actor, "manual_deposit.credited", ip_address)
    _on_verified(tx)


def _manual_audit(row: ManualDeposit, actor, action: str, ip_address: str | None) -> None:
    from accounts.services import audit_record

    audit_record(actor=actor, action=action, target=row, ip_address=ip_address,
                 after={"member": row.user_id, "amount": str(row.amount), "paid_on": row.paid_on.isoformat(),
                        "method": row.method, "status": row.status, "transaction": row.transaction_id,
                        "note": row.note})


def unmatched_close(*, transaction_id: int, outcome: str, note: str = "", actor=None,
                    ip_address: str | None = None) -> UnmatchedOutcome:
    """An org admin takes an unmatched payment out of the queue without crediting anyone: `ignored`
    (reopenable) or `refunded` (final). The ledger row is untouched; the decision is audited."""
    from accounts.services import audit_record
    from django.core.exceptions import ValidationError

    if outcome not in UnmatchedOutcome.Outcome.values:
        raise ValidationError({"outcome": f"Choose one of: {', '.join(UnmatchedOutcome.Outcome.values)}."})
    with transaction.atomic():
        tx = Transaction.objects.select_for_update().get(pk=transaction_id)
        if tx.status != Transaction.Status.UNMATCHED or UnmatchedOutcome.objects.filter(transaction=tx).exists():
            raise ValidationError({"transaction": "Only payments waiting in the unmatched queue can be closed."})
        row = UnmatchedOutcome.objects.create(transaction=tx, outcome=outcome, note=(note or "").strip()[:200],
                                              decided_by=actor)
        audit_record(actor=actor, action=f"transaction.{outcome}", target=tx, ip_address=ip_address,
                     before={"queue": "unmatched"}, after={"outcome": outcome, "note": row.note})
    return row


def unmatched_reopen(*, transaction_id: int, actor=None, ip_address: str | None = None) -> Transaction:
    """Put an ignored payment back in the unmatched queue (a refund is final: the money left)."""
    from accounts.services import audit_record
    from django.core.exceptions import ValidationError

    with transaction.atomic():
        tx = Transaction.objects.select_for_update().get(pk=transaction_id)
        row = UnmatchedOutcome.objects.filter(transaction=tx, outcome=UnmatchedOutcome.Outcome.IGNORED).first()
        if row is None:
            raise ValidationError({"transaction": "Only an ignored payment can be reopened."})
        row.delete()
        audit_record(actor=actor, action="transaction.reopened", target=tx, ip_address=ip_address,
                     before={"outcome": "ignored"}, after={"queue": "unmatched"})
    return tx


def transaction_reverse(*, transaction_id: int, reason: str, reversal_receipt: str | None = None,
                        actor=None, ip_address: str | None = None) -> Transaction:
    """A reversal is a new entry mirroring the original (negative amount); the original is marked reversed."""
    from accounts.services import audit_record

    with transaction.atomic():
        original = Transaction.objects.select_for_update().get(pk=transaction_id)
        if original.status != Transaction.Status.VERIFIED:
            from django.core.exceptions import ValidationError

            raise ValidationError({"transaction": "Only verified payments can be reversed."})
        entry = Transaction.objects.create(
            source=Transaction.Source.REVERSAL, amount=-original.amount, user=original.user,
            challenge=original.challenge, status=Transaction.Status.VERIFIED, reverses=original,
            transaction_id=reversal_receipt, mpesa_receipt=reversal_receipt, phone_number=original.phone_number,
            transacted_at=timezone.now(), verified_at=timezone.now(), result_desc=reason[:255],
        )
        _status_change(entry, from_status="", reason=f"reversal of #{original.pk}: {reason}", actor=actor,
                       actor_label=str(actor) if actor else "system")
        original.status = Transaction.Status.REVERSED
        original.save(update_fields=["status", "updated_at"])
        _status_change(original, from_status=Transaction.Status.VERIFIED, reason=reason, actor=actor,
                       actor_label=str(actor) if actor else "system")
        audit_record(actor=actor, action="transaction.reversed", target=original, ip_address=ip_address,
                     after={"reversal": entry.pk, "reason": reason})
        _on_reversed(original)
        watch_soon(transaction_ids=[original.pk])
    return entry


# --- STK push ("Save now") ---------------------------------------------------------------------

def stk_push_start(*, user, amount: Decimal, challenge=None) -> Transaction:
    """Create the pending row first (so no callback can beat it), then ask Daraja to prompt the phone.

    Raises payments.daraja.DarajaError if Daraja refuses; the row is then marked failed.
    """
    from payments.daraja import DarajaClient, DarajaError
    from payments.selectors import mpesa_callback_urls

    if challenge is not None:
        from django.core.exceptions import ValidationError

        from challenges.selectors import joined_challenge_ids, winnable_challenges

        # Tagging is the member's explicit choice among challenges they joined (joining is its own step)
        # and can still win: a deposit tagged to a failed or not yet started one would count nowhere.
        if challenge.pk not in joined_challenge_ids(user=user):
            raise ValidationError({"challenge": "Join this challenge before saving towards it."})
        if not winnable_challenges(user=user).filter(pk=challenge.pk).exists():
            raise ValidationError({"challenge": "This challenge is not open to your deposits now."})
    row = MpesaSettings.objects.get()
    tx = Transaction.objects.create(source=Transaction.Source.STK, amount=amount, user=user, challenge=challenge,
                                    phone_number=user.phone_number, status=Transaction.Status.PENDING,
                                    bill_ref_number=user.account_code + (challenge.code if challenge else ""))
    _status_change(tx, from_status="", reason="STK push requested", actor=user, actor_label=str(user))
    urls = mpesa_callback_urls(organization=connection.tenant)
    try:
        response = DarajaClient.for_settings(row).stk_push(
            amount=amount, phone=user.phone_number, account_reference=tx.bill_ref_number,
            description="Savings", callback_url=urls["stk_callback"])
    except DarajaError as exc:
        tx.status, tx.result_desc = Transaction.Status.FAILED, str(exc)[:255]
        tx.save(update_fields=["status", "result_desc", "updated_at"])
        _status_change(tx, from_status=Transaction.Status.PENDING, reason=f"Daraja refused the push: {exc}")
        raise
    tx.checkout_request_id = response.checkout_request_id
    tx.merchant_request_id = response.merchant_request_id
    tx.save(update_fields=["checkout_request_id", "merchant_request_id", "updated_at"])
    return tx


# --- reconciliation ----------------------------------------------------------------------------

def stk_pending_reconcile(*, older_than_minutes: int | None = None, limit: int = 100) -> int:
    """Ask Daraja (stkpushquery) about STK pushes still pending after N minutes. Returns rows settled."""
    from payments.daraja import DarajaClient, DarajaError

    minutes = settings.MPESA_STK_RECONCILE_MINUTES if older_than_minutes is None else older_than_minutes
    cutoff = timezone.now() - timedelta(minutes=minutes)
    pending = list(Transaction.objects.filter(source=Transaction.Source.STK, status=Transaction.Status.PENDING,
                                              checkout_request_id__isnull=False, created_at__lte=cutoff)
                   .values_list("id", "checkout_request_id")[:limit])
    if not pending:
        return 0
    client = DarajaClient.for_settings(MpesaSettings.objects.get())
    settled = 0
    for tx_id, checkout in pending:
        try:
            answer = client.stk_query(checkout_request_id=checkout)
        except DarajaError as exc:
            logger.warning("stk query failed", extra={"transaction_id": tx_id, "error": str(exc)})
            continue
        if answer.processing:
            continue
        with transaction.atomic():
            tx = Transaction.objects.select_for_update().get(pk=tx_id)
            if tx.status != Transaction.Status.PENDING:
                continue  # the callback won the race
            if answer.result_code == "0":
                # The query gives no receipt; a later callback or C2B confirmation attaches it (no second credit).
                _verify(tx, receipt=None, transacted_at=None, reason="stkpushquery: ResultCode 0 (callback missing)",
                        extra={"result_code": "0", "result_desc": answer.result_desc})
                count_on_commit(RECONCILIATION, check="stk_query", outcome="callback_missing_paid")
            else:
                tx.status, tx.result_code, tx.result_desc = (Transaction.Status.FAILED, answer.result_code,
                                                             answer.result_desc[:255])
                tx.save(update_fields=["status", "result_code", "result_desc", "updated_at"])
                _status_change(tx, from_status=Transaction.Status.PENDING,
                               reason=f"stkpushquery: ResultCode {answer.result_code}")
                count_on_commit(RECONCILIATION, check="stk_query", outcome="callback_missing_failed")
        settled += 1
    return settled


def c2b_gaps_check(*, older_than_minutes: int = 10, limit: int = 50) -> int:
    """Validation requests with no confirmation after N minutes: ask Daraja's Transaction Status."""
    from payments.daraja import DarajaClient, DarajaError
    from payments.selectors import mpesa_callback_urls

    cutoff = timezone.now() - timedelta(minutes=older_than_minutes)
    recent = timezone.now() - timedelta(days=2)
    validations = (CallbackInbox.objects.filter(kind=CallbackInbox.Kind.VALIDATION, received_at__lt=cutoff,
                                                received_at__gte=recent)
                   .exclude(natural_key__in=CallbackInbox.objects.filter(kind=CallbackInbox.Kind.CONFIRMATION)
                            .values("natural_key"))
                   .exclude(natural_key__in=Transaction.objects.filter(transaction_id__isnull=False)
                            .values("transaction_id"))
                   .exclude(natural_key__in=StatusQuery.objects.values("trans_id"))
                   .values_list("natural_key", flat=True)[:limit])
    validations = list(validations)
    if not validations:
        return 0
    client = DarajaClient.for_settings(MpesaSettings.objects.get())
    urls = mpesa_callback_urls(organization=connection.tenant)
    asked = 0
    for trans_id in validations:
        try:
            body = client.transaction_status(transaction_id=trans_id, result_url=urls["result"],
                                             timeout_url=urls["timeout"])
        except DarajaError as exc:
            logger.warning("transaction status failed", extra={"trans_id": trans_id, "error": str(exc)})
            continue
        try:
            StatusQuery.objects.create(conversation_id=body.get("ConversationID") or f"none-{trans_id}",
                                       originator_conversation_id=body.get("OriginatorConversationID") or "",
                                       trans_id=trans_id)
        except IntegrityError:
            pass
        asked += 1
        safe(RECONCILIATION.labels(check="c2b_gaps", outcome="status_asked").inc)
    return asked


def reconciliation_report_build(*, day=None) -> ReconciliationReport:
    """Totals, unmatched payments and anomalies for one Nairobi day (default: yesterday)."""
    from django.db.models import Count, Sum

    from payments.payloads import NAIROBI

    today = timezone.now().astimezone(NAIROBI).date()
    day = day or (today - timedelta(days=1))
    from datetime import datetime, time

    start = datetime.combine(day, time.min, tzinfo=NAIROBI)
    end = start + timedelta(days=1)
    rows = Transaction.objects.filter(created_at__gte=start, created_at__lt=end)
    totals = {status: {"count": 0, "amount": "0.00"} for status in Transaction.Status.values}
    for item in rows.values("status").annotate(count=Count("id"), amount=Sum("amount")):
        totals[item["status"]] = {"count": item["count"], "amount": str(item["amount"] or Decimal("0.00"))}
    unmatched = [{"id": t.pk, "amount": str(t.amount), "receipt": t.mpesa_receipt, "bill_ref": t.bill_ref_number}
                 for t in Transaction.objects.filter(status=Transaction.Status.UNMATCHED).order_by("created_at")[:500]]
    anomalies = []
    stale = Transaction.objects.filter(status=Transaction.Status.PENDING,
                                       created_at__lt=timezone.now() - timedelta(hours=1)).count()
    if stale:
        anomalies.append({"kind": "stale_pending", "count": stale})
    failed_inbox = CallbackInbox.objects.filter(state=CallbackInbox.State.FAILED).count()
    if failed_inbox:
        anomalies.append({"kind": "unprocessable_callbacks", "count": failed_inbox})
    stuck = CallbackInbox.objects.filter(state=CallbackInbox.State.RECEIVED,
                                         received_at__lt=timezone.now() - timedelta(minutes=10)).exclude(
        kind=CallbackInbox.Kind.VALIDATION).count()
    if stuck:
        anomalies.append({"kind": "unprocessed_callbacks", "count": stuck})
    no_receipt = Transaction.objects.filter(source=Transaction.Source.STK, status=Transaction.Status.VERIFIED,
                                            mpesa_receipt__isnull=True,
                                            verified_at__lt=timezone.now() - timedelta(hours=1)).count()
    if no_receipt:  # credited by stkpushquery; check these against the M-Pesa statement
        anomalies.append({"kind": "verified_without_receipt", "count": no_receipt})
    from challenges.selectors import deposits_unscored

    unscored = len(deposits_unscored(before=timezone.now() - timedelta(minutes=10), limit=10_000))
    if unscored:
        anomalies.append({"kind": "unscored_deposits", "count": unscored})
    report, _ = ReconciliationReport.objects.update_or_create(
        day=day, defaults={"totals": totals, "unmatched": unmatched, "anomalies": anomalies})
    for anomaly in anomalies or [{"kind": "clean", "count": 1}]:
        count_on_commit(RECONCILIATION, check="daily_report", outcome=anomaly["kind"])
    return report
