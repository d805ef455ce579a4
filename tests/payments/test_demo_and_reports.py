"""Demo deposits are idempotent; the daily reconciliation report; the sweep; mpesa simulator credentials."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.db import connection
from django.utils import timezone

from challenges.models import ScoredDeposit
from payments.models import CallbackInbox, MpesaSettings, Transaction


def test_demo_seed_is_idempotent(tenant, member, org):
    from payments import demo

    demo.seed(org, [member])
    first = Transaction.objects.count()
    demo.seed(org, [member])
    history = Transaction.objects.filter(transaction_id__startswith="DM").count()  # sixteen days of it
    assert Transaction.objects.count() == first == 5 + history and history > 0
    assert Transaction.objects.filter(status="unmatched").count() == 1
    assert Transaction.objects.filter(user=member, status="verified").count() == 4 + history
    # the history is handed over at once; the four credited deposits after their commit (none in a test)
    assert ScoredDeposit.objects.count() == history


def test_daily_report_lists_totals_unmatched_and_anomalies(tenant, member):
    from payments.services import reconciliation_report_build

    Transaction.objects.create(source="c2b", amount=Decimal("100"), user=member, status="verified",
                               transaction_id="RKTREP0001", mpesa_receipt="RKTREP0001", verified_at=timezone.now() - timedelta(hours=1))
    Transaction.objects.create(source="c2b", amount=Decimal("40"), status="unmatched", transaction_id="RKTREP0002",
                               mpesa_receipt="RKTREP0002")
    report = reconciliation_report_build(day=timezone.localdate())
    assert report.totals["verified"] == {"count": 1, "amount": "100.00"}
    assert [u["receipt"] for u in report.unmatched] == ["RKTREP0002"]
    assert {"kind": "unscored_deposits", "count": 1} in report.anomalies


def test_sweep_requeues_lost_rows_and_scores_unscored_deposits(tenant, member, eager_celery, scored,
                                                               django_capture_on_commit_callbacks):
    from payments.inbox import callback_store, inbox_sweep
    from tests.payments.conftest import c2b_payload

    token = MpesaSettings.objects.get().callback_token
    _, inbox_id = callback_store(kind="confirmation", body=c2b_payload(trans_id="RKTSWEEP01", bill_ref=member.account_code),
                                 token=token)
    CallbackInbox.objects.filter(pk=inbox_id).update(received_at=timezone.now() - timedelta(minutes=5))
    with django_capture_on_commit_callbacks(execute=True):
        assert inbox_sweep() == 1
    tx = Transaction.objects.get(transaction_id="RKTSWEEP01")
    assert tx.status == "verified" and scored == [tx.pk]
    assert inbox_sweep() == 0 and ScoredDeposit.objects.count() == 1


def test_simulator_credentials_for_new_orgs(tenant, settings):
    from payments.services import mpesa_settings_init

    MpesaSettings.objects.all().delete()
    row = mpesa_settings_init(shortcode="600321")
    assert row.environment == settings.MPESA_ENV == "simulator"
    assert (row.consumer_key, row.passkey != "") == ("sim-600321-key", True)
    assert connection.schema_name == tenant.schema_name
