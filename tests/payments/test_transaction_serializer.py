"""TransactionSerializer builds its dict directly (the ledger list's hot path, issue 13): it must
say exactly what DRF's own field loop says for every kind of ledger row, in both languages."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone, translation
from rest_framework import serializers

from payments.api.serializers import TransactionSerializer
from payments.models import Transaction


@pytest.fixture
def rows(tenant, member):
    from challenges.models import Challenge

    challenge = Challenge.objects.create(name="Weekly", type="fixed_amount", target={"amount": "100"},
                                         duration_days=28, start_date=timezone.localdate(), status="active")
    now = timezone.now()
    made = [
        Transaction.objects.create(user=member, challenge=challenge, amount=Decimal("500"), status="verified",
                                   source="c2b", transaction_id="SER0001", mpesa_receipt="SER0001",
                                   transacted_at=now - timedelta(days=3), verified_at=now),
        Transaction.objects.create(user=member, amount=Decimal("250.5"), status="pending", source="stk",
                                   checkout_request_id="ws_CO_SER1"),
        Transaction.objects.create(user=member, amount=Decimal("100"), status="failed", source="stk",
                                   checkout_request_id="ws_CO_SER2", result_code="1032", result_desc="Cancelled"),
        Transaction.objects.create(amount=Decimal("75"), status="unmatched", source="c2b", transaction_id="SER0004",
                                   bill_ref_number="NOPE", transacted_at=now),
    ]
    reversal = Transaction.objects.create(user=member, challenge=challenge, amount=Decimal("-500"), status="verified",
                                          source="reversal", reverses=made[0], transacted_at=now)
    return [*made, reversal]


@pytest.mark.parametrize("language", ["en", "sw"])
def test_the_direct_dict_equals_drfs_field_loop_for_every_kind_of_row(rows, language):
    loaded = Transaction.objects.select_related("user").filter(pk__in=[r.pk for r in rows]).order_by("pk")
    with translation.override(language):
        fast = TransactionSerializer(loaded, many=True).data
        slow = [serializers.ModelSerializer.to_representation(TransactionSerializer(row), row) for row in loaded]
    assert [dict(row) for row in fast] == [dict(row) for row in slow]
    assert {row["status"] for row in fast} == {"verified", "pending", "failed", "unmatched"}
