"""Demo deposits for `make run` (idempotent): a few weeks of verified deposits per member, a few
Paybill and STK deposits tagged to a live challenge, one unmatched payment for the leader to
assign. Scoring runs through the normal hand-over (deposits_hand_over)."""

from __future__ import annotations

import hashlib
import random
from datetime import datetime, time, timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from payments.models import Transaction
from payments.inbox import deposits_hand_over
from payments.services import _credit_new
from tenants.calendar import local_today, organization_zone

SCORING_BATCH = 500  # deposits per hand-over when the demo history is scored


def _receipt(org_slug: str, n: int) -> str:
    return "D" + hashlib.sha256(f"{org_slug}:{n}".encode()).hexdigest()[:9].upper()


def seed(organization, members) -> None:
    from django.conf import settings

    from challenges.models import Challenge
    from payments.models import MpesaSettings
    from payments.services import _simulator_credentials

    row = MpesaSettings.objects.first()
    if row is not None and settings.MPESA_ENV == "simulator" and row.shortcode and not row.consumer_key:
        for name, value in _simulator_credentials(row.shortcode).items():  # "Save now" works on a laptop
            setattr(row, name, value)
        row.environment = "simulator"
        row.save()

    _history(organization, members)
    challenge = Challenge.objects.filter(status="active").order_by("start_date").first()
    now = timezone.now()
    n = 0
    for index, member in enumerate(members):
        for days_ago, amount in ((20, 500), (13, 300 + 50 * index), (6, 200 + 100 * index), (1, 150)):
            n += 1
            receipt = _receipt(organization.slug, n)
            if Transaction.objects.filter(transaction_id=receipt).exists():
                continue
            with transaction.atomic():
                _credit_new(source=Transaction.Source.C2B if n % 2 else Transaction.Source.STK,
                            amount=Decimal(amount), receipt=receipt, user=member, challenge=challenge,
                            phone=member.phone_number, bill_ref=member.account_code,
                            transacted_at=now - timedelta(days=days_ago), reason="demo deposit")
    receipt = _receipt(organization.slug, 999)
    if not Transaction.objects.filter(transaction_id=receipt).exists():
        with transaction.atomic():
            _credit_new(source=Transaction.Source.C2B, amount=Decimal("750"), receipt=receipt, user=None,
                        challenge=None, phone=hashlib.sha256(b"254711999000").hexdigest(), bill_ref="MAMA MBOGA",
                        transacted_at=now - timedelta(days=2), payer_name="Mary", reason="demo: unmatched")


def _history(organization, members) -> None:
    """Sixteen days of verified deposits (receipts DM<slug>NNNNN), the same every run."""
    zone = organization_zone(organization)
    today = local_today(zone)
    rng = random.Random(organization.slug)
    prefix = f"DM{organization.slug[:4].upper()}"
    number = 0
    verified = []
    for offset in range(16, 0, -1):
        day = today - timedelta(days=offset)
        for member in members:
            if rng.random() < 0.55:
                continue
            number += 1
            receipt = f"{prefix}{number:05d}"
            when = datetime.combine(day, time(rng.randint(7, 20), rng.randint(0, 59)), tzinfo=zone)
            tx, _ = Transaction.objects.get_or_create(
                transaction_id=receipt,
                defaults={"user": member, "amount": Decimal(rng.choice([100, 200, 250, 300, 500, 750, 1000])),
                          "status": Transaction.Status.VERIFIED, "source": Transaction.Source.MANUAL,
                          "mpesa_receipt": receipt, "transacted_at": when, "verified_at": when,
                          "phone_number": member.phone_number, "bill_ref_number": member.account_code},
            )
            if tx.status == Transaction.Status.VERIFIED:
                verified.append(tx.pk)
    for start in range(0, len(verified), SCORING_BATCH):
        deposits_hand_over(transaction_ids=verified[start:start + SCORING_BATCH])
