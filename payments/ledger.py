"""The ledger as the game reads it (challenges/ledger.py): deposits that count, locked for scoring,
totals between two instants, a member's figures for badges. Installed by PaymentsConfig.ready, so
the game asks payments without importing it. The rules are payments.selectors' money facts."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.contrib.postgres.aggregates import ArrayAgg
from django.db.models import Count, Max, Sum
from django.db.models.functions import TruncDate

from payments.models import Transaction
from payments.selectors import deposit_counted_at, deposits_counted

REVERSED = Transaction.Status.REVERSED


def deposits_locked(*, transaction_ids: list[int]) -> list[Transaction]:
    """The deposits among these rows that still count (verified, a member's, positive), locked
    in id order, with their member and challenge."""
    rows = (Transaction.objects.select_for_update(of=("self",)).select_related("user", "challenge")
            .filter(pk__in=transaction_ids).order_by("pk"))
    return [tx for tx in rows if tx.status == Transaction.Status.VERIFIED and tx.user_id is not None and tx.amount > 0]


def deposit_locked_if_reversed(*, transaction_id: int) -> Transaction | None:
    """The row locked, if it is a member's deposit that has been reversed."""
    tx = (Transaction.objects.select_for_update(of=("self",)).select_related("user")
          .filter(pk=transaction_id).first())
    if tx is None or tx.status != Transaction.Status.REVERSED or tx.user_id is None:
        return None
    return tx


def deposits_total_between(*, user_id: int, start: datetime, end: datetime) -> Decimal:
    """A member's deposits that still count, counted at [start, end)."""
    total = (deposits_counted().filter(user_id=user_id).annotate(at=deposit_counted_at())
             .filter(at__gte=start, at__lt=end).aggregate(total=Sum("amount"))["total"])
    return total or Decimal("0.00")


def first_deposit_id(*, user_id: int) -> int | None:
    """A member's first verified row by the time it counts at."""
    return (Transaction.objects.filter(user_id=user_id, status=Transaction.Status.VERIFIED)
            .order_by(deposit_counted_at(), "pk").values_list("pk", flat=True).first())


def deposit_ids_verified_before(*, cutoff: datetime, exclude, limit: int) -> list[int]:
    """Counting deposits verified before `cutoff` whose ids are not in `exclude`, oldest first."""
    return list(deposits_counted().filter(user__isnull=False, verified_at__lt=cutoff).exclude(pk__in=exclude)
                .order_by("pk").values_list("pk", flat=True)[:limit])


def reversed_ids_before(*, cutoff: datetime, exclude, limit: int) -> list[int]:
    """Reversed deposits last changed before `cutoff` whose ids are not in `exclude`, oldest first."""
    return list(Transaction.objects.filter(status=Transaction.Status.REVERSED, updated_at__lt=cutoff)
                .exclude(pk__in=exclude).order_by("pk").values_list("pk", flat=True)[:limit])


def deposit_figures(*, user_ids: list[int] | None, zone: ZoneInfo, among=None) -> list[dict]:
    """Per member (these, or all when None): total, count and largest of the deposits that still
    count, and the local days they count on (for badges' totals and best streaks); `among`, a
    subquery of transaction ids, narrows them (the game passes the deposits it has scored)."""
    day = TruncDate(deposit_counted_at(), tzinfo=zone)
    qs = deposits_counted().filter(user__isnull=False)
    if user_ids is not None:
        qs = qs.filter(user_id__in=user_ids)
    if among is not None:
        qs = qs.filter(pk__in=among)
    return list(qs.values("user_id")
                .annotate(total=Sum("amount"), n=Count("pk"), largest=Max("amount"), days=ArrayAgg(day, distinct=True))
                .order_by())


def payments_since(*, challenge_id: int, user_ids: list[int], since: datetime) -> bool:
    """Whether any payment reached the ledger since `since` (whatever its status) tagged to this
    challenge or from one of these members: while a challenge is cancelled their deposits are scored
    without it, so it cannot simply be restored afterwards (challenges' challenge_restore)."""
    from django.db.models import Q

    return (Transaction.objects.filter(created_at__gte=since)
            .filter(Q(challenge_id=challenge_id) | Q(user_id__in=user_ids)).exists())
