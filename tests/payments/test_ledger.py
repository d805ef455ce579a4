"""The ledger protects itself in the database; admins assign unmatched payments and reverse credits."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import IntegrityError, InternalError, connection, transaction

from accounts.models import AuditEvent
from challenges.models import ScoredDeposit
from payments.models import Transaction, TransactionStatusChange
from tests.payments.conftest import c2b_payload

DB_REFUSED = (IntegrityError, InternalError)


@pytest.fixture
def verified(tenant, member):
    return Transaction.objects.create(source="c2b", amount=Decimal("100"), user=member, status="verified",
                                      transaction_id="RKTLEDGER1", mpesa_receipt="RKTLEDGER1")


@pytest.mark.parametrize("sql", [
    "UPDATE payments_transaction SET amount = 1 WHERE id = %s",
    "UPDATE payments_transaction SET transaction_id = 'OTHER' WHERE id = %s",
    "UPDATE payments_transaction SET mpesa_receipt = NULL WHERE id = %s",
    "UPDATE payments_transaction SET user_id = NULL WHERE id = %s",
    "UPDATE payments_transaction SET status = 'pending' WHERE id = %s",
    "DELETE FROM payments_transaction WHERE id = %s",
])
def test_database_refuses_to_rewrite_money(verified, sql):
    with pytest.raises(DB_REFUSED), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, [verified.pk])
    verified.refresh_from_db()
    assert (verified.amount, verified.status, verified.mpesa_receipt) == (Decimal("100.00"), "verified", "RKTLEDGER1")


def test_orm_delete_is_refused_too(verified):
    with pytest.raises(DB_REFUSED), transaction.atomic():
        Transaction.objects.filter(pk=verified.pk).delete()
    assert Transaction.objects.filter(pk=verified.pk).exists()


def test_status_audit_rows_are_append_only(verified):
    row = TransactionStatusChange.objects.create(transaction=verified, from_status="", to_status="verified")
    with pytest.raises(DB_REFUSED), transaction.atomic():
        TransactionStatusChange.objects.filter(pk=row.pk).update(reason="edited")


def test_the_trigger_is_in_every_cloned_schema(tenant, other_org):
    connection.set_tenant(other_org)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                       "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s AND t.tgname = %s",
                       [other_org.schema_name, "payments_transaction_append_only"])
        assert cursor.fetchone()[0] == 1


def test_unmatched_payment_assigned_by_admin_is_credited_once(hook, api_client_for, org, org_admin, member, scored):
    hook("confirmation", c2b_payload(trans_id="RKTUNM0001", amount="500", bill_ref="TYPO"))
    tx = Transaction.objects.get(transaction_id="RKTUNM0001")
    assert tx.status == "unmatched" and scored == []
    api = api_client_for(org)
    api.force_authenticate(org_admin)
    from django.test.utils import CaptureQueriesContext  # noqa: F401

    response = api.post(f"/api/v1/transactions/{tx.pk}/assign", {"user": member.pk}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "verified"
    connection.set_tenant(org)
    tx.refresh_from_db()
    assert (tx.user, tx.status) == (member, "verified")
    # the on-commit scoring of the API call is captured by the transaction in tests: run it like commit would
    from payments.inbox import deposits_hand_over

    assert deposits_hand_over(transaction_ids=[tx.pk]) == [tx.pk]
    assert deposits_hand_over(transaction_ids=[tx.pk]) == []
    assert scored == [tx.pk] and ScoredDeposit.objects.filter(transaction=tx).count() == 1
    again = api.post(f"/api/v1/transactions/{tx.pk}/assign", {"user": member.pk}, format="json")
    assert again.status_code == 400
    connection.set_tenant(org)
    assert AuditEvent.objects.filter(action="transaction.assigned", target_id=str(tx.pk)).count() == 1
    assert list(tx.status_changes.values_list("from_status", "to_status")) == [("", "unmatched"), ("unmatched", "verified")]


def test_member_cannot_assign(api_client_for, org, member, tenant):
    tx = Transaction.objects.create(source="c2b", amount=Decimal("10"), status="unmatched", transaction_id="RKTUNM0002",
                                    mpesa_receipt="RKTUNM0002")
    api = api_client_for(org)
    api.force_authenticate(member)
    assert api.post(f"/api/v1/transactions/{tx.pk}/assign", {"user": member.pk}, format="json").status_code == 403


def test_reversal_is_a_mirror_entry(verified, org_admin):
    from payments.services import transaction_reverse

    entry = transaction_reverse(transaction_id=verified.pk, reason="customer refund", actor=org_admin)
    verified.refresh_from_db()
    assert verified.status == "reversed"
    assert (entry.amount, entry.reverses, entry.source, entry.user) == (Decimal("-100.00"), verified, "reversal", verified.user)
    assert Transaction.objects.count() == 2
    with pytest.raises(Exception):
        transaction_reverse(transaction_id=verified.pk, reason="twice")
