"""Demo deposits for `make run` (idempotent): a few verified Paybill and STK deposits per member,
one unmatched payment for the leader to assign. Scoring runs through the normal seam."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from payments.models import Transaction
from payments.services import _credit_new


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
