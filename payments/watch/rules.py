"""The suspicious-pattern rule set (docs/OPERATIONS.md "Suspicious patterns" has worked examples).

Each rule reads the organization's ledger (run inside its schema) and returns the Flags it raises;
services.py records them as findings. A rule flags, it never blocks: nothing here writes the ledger.
"""

from __future__ import annotations

import hashlib
import ipaddress
import statistics
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from payments.models import CallbackInbox, Transaction, TransactionStatusChange

CREDITED = (Transaction.Status.VERIFIED, Transaction.Status.REVERSED)
ASSIGNED_REASON = "assigned by an admin"  # payments.services.transaction_assign


@dataclass
class Flag:
    rule: str
    subject: str
    details: dict
    member: object | None = None
    transaction_id: int | None = None
    extra: dict = field(default_factory=dict)


def _deposits():
    return Transaction.objects.filter(status__in=CREDITED, amount__gt=0).exclude(source=Transaction.Source.REVERSAL)


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def shared_payer(tx: Transaction, t: dict) -> list[Flag]:
    """One payer phone (Daraja sends it hashed) paying into `shared_payer_accounts` or more members'
    accounts within `shared_payer_days`."""
    if not tx.phone_number:
        return []
    since = timezone.now() - timedelta(days=t["shared_payer_days"])
    accounts = (_deposits().filter(phone_number=tx.phone_number, user__isnull=False, created_at__gte=since)
                .values("user_id").distinct().count())
    if accounts < t["shared_payer_accounts"]:
        return []
    return [Flag("shared_payer", f"payer:{_digest(tx.phone_number)}:{timezone.localdate():%Y-%m}",
                 {"accounts": accounts, "days": t["shared_payer_days"], "threshold": t["shared_payer_accounts"]},
                 member=tx.user, transaction_id=tx.pk)]


def outsized_deposit(tx: Transaction, t: dict) -> list[Flag]:
    """At least `outsized_multiple` x the member's median deposit of the 90 days before it, and at
    least `outsized_floor` KES, once the member has `outsized_history` earlier deposits."""
    if tx.user_id is None or tx.amount < Decimal(str(t["outsized_floor"])):
        return []
    before = tx.created_at or timezone.now()
    history = list(_deposits().filter(user_id=tx.user_id, created_at__lt=before,
                                      created_at__gte=before - timedelta(days=90))
                   .exclude(pk=tx.pk).values_list("amount", flat=True)[:1000])
    if len(history) < t["outsized_history"]:
        return []
    median = statistics.median(history)
    if tx.amount < median * Decimal(str(t["outsized_multiple"])):
        return []
    return [Flag("outsized_deposit", f"tx:{tx.pk}",
                 {"amount": str(tx.amount), "median_90d": str(median), "multiple": t["outsized_multiple"],
                  "floor": t["outsized_floor"], "history": len(history)}, member=tx.user, transaction_id=tx.pk)]


def deposit_burst(tx: Transaction, t: dict) -> list[Flag]:
    """`burst_count` or more deposits of at most `burst_max_amount` KES from one member within
    `burst_minutes` (points and streaks farmed with tiny payments)."""
    limit = Decimal(str(t["burst_max_amount"]))
    if tx.user_id is None or tx.amount > limit:
        return []
    until = tx.created_at or timezone.now()
    count = _deposits().filter(user_id=tx.user_id, amount__lte=limit, created_at__lte=until,
                               created_at__gt=until - timedelta(minutes=t["burst_minutes"])).count()
    if count < t["burst_count"]:
        return []
    return [Flag("deposit_burst", f"burst:{tx.user_id}:{timezone.localdate(until):%Y-%m-%d}",
                 {"deposits": count, "max_amount": t["burst_max_amount"], "minutes": t["burst_minutes"]},
                 member=tx.user, transaction_id=tx.pk)]


def reversals(tx: Transaction, t: dict) -> list[Flag]:
    """A member with `reversals_count` or more reversed deposits within `reversals_days`."""
    if tx.user_id is None:
        return []
    since = timezone.now() - timedelta(days=t["reversals_days"])
    count = Transaction.objects.filter(source=Transaction.Source.REVERSAL, user_id=tx.user_id,
                                       created_at__gte=since).count()
    if count < t["reversals_count"]:
        return []
    return [Flag("reversals", f"reversals:{tx.user_id}:{timezone.localdate():%Y-%m}",
                 {"reversals": count, "days": t["reversals_days"]}, member=tx.user, transaction_id=tx.pk)]


def admin_assignments(tx: Transaction, t: dict) -> list[Flag]:
    """One admin assigning `assignments_count` or more unmatched payments to the same member within
    `assignments_days`."""
    change = (TransactionStatusChange.objects.filter(transaction=tx, reason=ASSIGNED_REASON, actor__isnull=False)
              .select_related("actor").first())
    if change is None or tx.user_id is None:
        return []
    since = timezone.now() - timedelta(days=t["assignments_days"])
    count = TransactionStatusChange.objects.filter(reason=ASSIGNED_REASON, actor_id=change.actor_id,
                                                   transaction__user_id=tx.user_id, created_at__gte=since).count()
    if count < t["assignments_count"]:
        return []
    return [Flag("admin_assignments", f"assign:{change.actor_id}:{tx.user_id}:{timezone.localdate():%Y-%m}",
                 {"assignments": count, "days": t["assignments_days"], "admin_id": change.actor_id,
                  "admin": str(change.actor)}, member=tx.user, transaction_id=tx.pk)]


def _allowed(ip: str, allow_list: list[str]) -> bool:
    try:
        address = ipaddress.ip_address(ip)
        return any(address in ipaddress.ip_network(entry, strict=False) for entry in allow_list)
    except ValueError:
        return False


def outside_allowlist(tx: Transaction, t: dict) -> list[Flag]:
    """With MPESA_ALLOWED_IPS set: a credited callback whose source address is outside it (possible when
    the allow-list was changed, or a proxy rewrote the address)."""
    allow_list = settings.MPESA_ALLOWED_IPS
    if not allow_list:
        return []
    flags = []
    for inbox_id, ip in CallbackInbox.objects.filter(transaction=tx).values_list("id", "remote_ip"):
        if ip and not _allowed(ip, allow_list):
            flags.append(Flag("outside_allowlist", f"tx:{tx.pk}:inbox:{inbox_id}", {"address": ip},
                              member=tx.user, transaction_id=tx.pk))
    return flags


DEPOSIT_RULES = (shared_payer, outsized_deposit, deposit_burst, reversals, admin_assignments, outside_allowlist)


def refusals_outside_allowlist(organization, t: dict) -> list[Flag]:
    """Nightly: callbacks refused for coming from outside MPESA_ALLOWED_IPS in the last day."""
    from payments.platform.models import RefusedCallback

    if not settings.MPESA_ALLOWED_IPS:
        return []
    since = timezone.now() - timedelta(days=1)
    rows = RefusedCallback.objects.filter(organization=organization, reason=RefusedCallback.Reason.FORBIDDEN_IP,
                                          created_at__gte=since)
    count = rows.count()
    if count < max(1, t["outside_allowlist_count"]):
        return []
    addresses = sorted({ip for ip in rows.values_list("remote_ip", flat=True)[:50] if ip})[:10]
    return [Flag("outside_allowlist", f"refused:{timezone.localdate():%Y-%m-%d}",
                 {"refused": count, "addresses": addresses})]


# --- what a finding says (English and Kiswahili, from the figures it keeps) -----------------------

def finding_reason(finding) -> str:
    d = finding.details or {}
    texts = {
        "shared_payer": lambda: _("One phone paid into %(accounts)s members' accounts in %(days)s days.") % d,
        "outsized_deposit": lambda: _(
            "Deposit of KES %(amount)s is over %(multiple)s times this member's 90-day median (KES %(median_90d)s).") % d,
        "deposit_burst": lambda: _(
            "%(deposits)s deposits of at most KES %(max_amount)s within %(minutes)s minutes.") % d,
        "reversals": lambda: _("%(reversals)s reversed deposits in %(days)s days.") % d,
        "admin_assignments": lambda: _(
            "%(admin)s assigned %(assignments)s unmatched payments to this member in %(days)s days.") % d,
        "outside_allowlist": lambda: (_("Credited from %(address)s, outside the allowed Safaricom addresses.") % d
                                      if "address" in d else
                                      _("%(refused)s callbacks refused from outside the allowed Safaricom addresses "
                                        "in a day.") % d),
    }
    try:
        return texts[finding.rule]()
    except (KeyError, TypeError, ValueError):
        return finding.get_rule_display()
