"""Reads for payments."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django.db.models import Q, QuerySet, Sum
from django.db.models.functions import Coalesce
from django_tenants.utils import schema_context

from payments.models import CallbackInbox, ManualDeposit, MpesaSettings, Transaction, UnmatchedOutcome

CALLBACK_PATHS = {
    # Daraja refuses callback URLs containing words such as "mpesa", "safaricom" or "query".
    "validation": "c2b/validation",
    "confirmation": "c2b/confirmation",
    "stk_callback": "stk/callback",
    "result": "status/result",
    "timeout": "status/timeout",
}


def mpesa_callback_urls(*, organization) -> dict[str, str]:
    """The absolute callback URLs to register with Daraja for this organization."""
    from tenants.selectors import organization_base_url

    with schema_context(organization.schema_name):
        settings_row = MpesaSettings.objects.first()
        if settings_row is None:
            raise MpesaSettings.DoesNotExist(f"{organization.slug} has no M-Pesa settings")
        token = settings_row.callback_token
    base = organization_base_url(organization)
    return {name: f"{base}/hooks/pay/{token}/{path}" for name, path in CALLBACK_PATHS.items()}


def mpesa_token_valid(*, token: str) -> bool:
    """Whether `token` is this organization's callback secret (the inbox insert checks it itself;
    this is for refusals, to tell the organization's own sender from a stranger)."""
    return bool(token) and MpesaSettings.objects.filter(callback_token=token).exists()


def secret_mask(value: str) -> str:
    """Never render a secret back: dots, plus the last 4 characters of a long one so admins can tell keys apart."""
    if not value:
        return ""
    return "•" * 8 + (value[-4:] if len(value) >= 12 else "")


def transaction_list(*, user, filters: dict | None = None) -> QuerySet[Transaction]:
    """Tenant-scoped ledger rows visible to `user`: everything for an org admin, their own for a member."""
    filters = filters or {}
    qs = Transaction.objects.select_related("user", "challenge")
    if user.role != "org_admin":
        qs = qs.filter(user=user)
    if filters.get("status"):
        qs = qs.filter(status=filters["status"])
    if filters.get("source"):
        qs = qs.filter(source=filters["source"])
    if filters.get("member"):
        qs = qs.filter(user_id=filters["member"])
    if filters.get("challenge"):
        qs = qs.filter(challenge_id=filters["challenge"])
    if filters.get("date_from"):
        qs = qs.filter(created_at__date__gte=filters["date_from"])
    if filters.get("date_to"):
        qs = qs.filter(created_at__date__lte=filters["date_to"])
    if filters.get("q"):
        q = filters["q"].strip()
        qs = qs.filter(Q(mpesa_receipt__icontains=q) | Q(transaction_id__icontains=q) | Q(bill_ref_number__icontains=q)
                       | Q(user__name__icontains=q) | Q(user__phone_number__icontains=q))
    # Newest first by when the money moved (M-Pesa's TransTime), not by when its callback reached us:
    # a late or replayed callback (or the demo's back-dated deposits) must not jump the queue.
    return qs.order_by(Coalesce("transacted_at", "created_at").desc(), "-id")


def transaction_get(*, user, pk: int) -> Transaction | None:
    """One row visible to `user` (None whether missing or someone else's)."""
    return transaction_list(user=user).filter(pk=pk).first()


def unmatched_list() -> QuerySet[Transaction]:
    """The unmatched queue: paid, matching no member, not yet assigned, ignored or refunded; oldest first."""
    return (Transaction.objects.filter(status=Transaction.Status.UNMATCHED, unmatched_outcome__isnull=True)
            .order_by("created_at", "id"))


def manual_deposits(*, status: str | None, limit: int = 100) -> QuerySet[ManualDeposit]:
    """Cash and bank deposits leaders recorded, newest first (all of them when `status` is None)."""
    rows = ManualDeposit.objects.select_related("user", "recorded_by", "decided_by", "challenge")
    return (rows.filter(status=status) if status else rows).order_by("-created_at", "-id")[:limit]


def unmatched_closed(*, limit: int = 50) -> QuerySet[UnmatchedOutcome]:
    """Unmatched payments an admin ignored or refunded, newest decision first."""
    return (UnmatchedOutcome.objects.filter(transaction__status=Transaction.Status.UNMATCHED)
            .select_related("transaction", "decided_by").order_by("-decided_at")[:limit])


def payer_phone_masked(phone_number: str) -> str:
    """The payer's phone as a leader may see it in the queue: +2547•••••678, or "" when Daraja sent only
    its SHA-256 hash (C2B since 2021) or nothing."""
    if not phone_number or not phone_number.startswith("+") or len(phone_number) < 10:
        return ""
    return phone_number[:5] + "•" * (len(phone_number) - 8) + phone_number[-3:]


def quarantined_callbacks() -> QuerySet[CallbackInbox]:
    """Stored callbacks held back after failing every automatic try, oldest first (payments.inbox)."""
    return CallbackInbox.objects.filter(state=CallbackInbox.State.QUARANTINED).order_by("received_at", "id")


PAYBILL_CACHE_KEY = "pay:paybill"  # Django's cache: the key function prefixes the tenant schema
PAYBILL_CACHE_SECONDS = 600  # forgotten at once by mpesa_settings_init / mpesa_settings_update
READY_CACHE_KEY = "pay:ready"  # mpesa_ready; forgotten with the Paybill


def mpesa_ready() -> bool:
    """Whether "Save now" (an STK push) can work here: a shortcode plus the Daraja credentials a push
    needs (consumer key and secret, passkey). Until then the member screens offer no Save now and the
    API refuses it (issue 16 item 21). Kept in the tenant's cache until the M-Pesa settings change."""
    from django.core.cache import cache

    try:
        cached = cache.get(READY_CACHE_KEY)
    except Exception:  # Redis down: read the row
        cached = None
    if cached is not None:
        return cached
    row = MpesaSettings.objects.exclude(shortcode="").first()
    ready = bool(row is not None and row.consumer_key and row.consumer_secret and row.passkey)
    try:
        cache.set(READY_CACHE_KEY, ready, PAYBILL_CACHE_SECONDS)
    except Exception:
        pass
    return ready


def mpesa_payment_received() -> bool:
    """Whether any M-Pesa payment (Save now or Paybill/Till) has been verified here: the set-up
    checklist's test payment (through the simulator on a laptop)."""
    return Transaction.objects.filter(status=Transaction.Status.VERIFIED,
                                      source__in=[Transaction.Source.STK, Transaction.Source.C2B]).exists()


def organization_paybill() -> str | None:
    """The organization's Paybill number (None when it takes payments on a Till, or has no
    shortcode yet), kept in the tenant's cache until its M-Pesa settings change."""
    from django.core.cache import cache

    try:
        cached = cache.get(PAYBILL_CACHE_KEY)
    except Exception:  # Redis down: read the row
        cached = None
    if cached is not None:
        return cached or None
    row = MpesaSettings.objects.only("shortcode", "shortcode_type").first()
    paybill = (row.shortcode if row is not None and row.shortcode
               and row.shortcode_type == MpesaSettings.ShortcodeType.PAYBILL else "")
    try:
        cache.set(PAYBILL_CACHE_KEY, paybill, PAYBILL_CACHE_SECONDS)
    except Exception:
        pass
    return paybill or None


def organization_paybill_forget() -> None:
    from django.core.cache import cache
    from django.db import transaction

    def drop():
        try:
            cache.delete_many([PAYBILL_CACHE_KEY, READY_CACHE_KEY])
        except Exception:
            pass

    drop()
    transaction.on_commit(drop)


def member_paybill(*, user) -> dict | None:
    """How a member pays by Paybill: the business number and their own account number
    (None when the organization takes payments on a Till, or has no shortcode yet)."""
    shortcode = organization_paybill()
    return {"shortcode": shortcode, "account": user.account_code} if shortcode else None


# --- money facts (payments owns them; every other app asks here) -------------------------------
# The one reversal rule. transaction_reverse marks the original deposit `reversed` (it keeps its
# amount and the day it was paid) and writes a mirroring `reversal` row, `verified`, with the
# negative amount on the day of the reversal. Money saved is the sum of `amount` over
# SAVED_STATUSES: the pair nets to zero, so a reversed deposit comes off exactly once (500 + 100,
# reverse the 100: 500). Summing `verified` rows alone would take it off twice (400).
# A deposit that counts (for streaks, the game, "deposits" on the home page) is a positive row
# still `verified`: a reversed deposit no longer counts, and a reversal is not a deposit.
SAVED_STATUSES = (Transaction.Status.VERIFIED, Transaction.Status.REVERSED)


def deposit_counted_at():
    """The time a ledger row counts at: when M-Pesa says the money moved (TransTime), else when we
    verified it, else when we recorded it. Days, weeks and months of savings are taken from it."""
    return Coalesce("transacted_at", "verified_at", "created_at")


def ledger_saved() -> QuerySet[Transaction]:
    """Every row that moves the saved total (deposits, reversed deposits and their reversals)."""
    return Transaction.objects.filter(status__in=SAVED_STATUSES)


def deposits_counted() -> QuerySet[Transaction]:
    """Deposits that still count: positive and verified (not reversed)."""
    return Transaction.objects.filter(status=Transaction.Status.VERIFIED, amount__gt=0)


def saved_total(*, user=None, user_id: int | None = None, challenge_id: int | None = None,
                since: datetime | None = None, until: datetime | None = None) -> Decimal:
    """Money saved (the rule above), for one member and/or one challenge, optionally counted at
    [since, until)."""
    qs = ledger_saved()
    if user is not None or user_id is not None:
        qs = qs.filter(user_id=user_id if user_id is not None else user.pk)
    if challenge_id is not None:
        qs = qs.filter(challenge_id=challenge_id)
    if since is not None or until is not None:
        qs = qs.annotate(at=deposit_counted_at())
        if since is not None:
            qs = qs.filter(at__gte=since)
        if until is not None:
            qs = qs.filter(at__lt=until)
    return qs.aggregate(total=Sum("amount"))["total"] or Decimal("0.00")


def member_savings(*, user) -> dict:
    """A member's saved total (the reversal rule above), how many deposits still count, and the
    times they count at."""
    # One read of the member's rows that move the total (the reversal rule above): the sum over all of
    # them, the deposits that still count and the times they count at.
    total, times = Decimal("0.00"), []
    for amount, status, at in (ledger_saved().filter(user=user).annotate(at=deposit_counted_at())
                               .values_list("amount", "status", "at").order_by()):
        total += amount
        if status == Transaction.Status.VERIFIED and amount > 0:
            times.append(at)
    return {"total_saved": total, "deposits": len(times), "deposit_times": times}


def members_money(*, user_ids, since: datetime) -> dict[int, dict]:
    """Per member, in one grouped query: the saved total (the reversal rule above), the money saved
    counted from `since` (the leaders' "this month") and when their last deposit that still counts
    was made. Members with no ledger row are absent (the caller's zero)."""
    from django.db.models import Max

    counted = Q(status=Transaction.Status.VERIFIED, amount__gt=0)
    rows = (ledger_saved().filter(user_id__in=list(user_ids)).annotate(at=deposit_counted_at())
            .values("user_id").annotate(total=Sum("amount"), since=Sum("amount", filter=Q(at__gte=since)),
                                        last=Max("at", filter=counted)).order_by())
    return {row["user_id"]: {"total_saved": row["total"], "saved_since": row["since"] or Decimal("0.00"),
                             "last_deposit_at": row["last"]} for row in rows}
