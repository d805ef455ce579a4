"""The member metrics row (challenges/services/member_metrics.py, issue 20): the badges' deposit figures,
kept by the scoring batch so a batch costs the same at any ledger size, rebuilt by recompute_scores."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.db import connection
from django.test.utils import CaptureQueriesContext

from challenges.metrics import MetricsLoader
from challenges.models import MemberMetrics, ScoredDeposit
from challenges.services import scores_recompute
from tenants.calendar import organization_zone


def _figures(member) -> dict:
    metric = MetricsLoader([member.pk], organization_zone()).metric(member.pk)
    return {name: metric(name) for name in ("total_saved", "deposits_count", "largest_deposit",
                                            "best_streak_days", "best_streak_weeks")}


def test_a_late_deposit_that_fills_a_gap_joins_the_two_runs(member, record_deposit, frozen_today):
    frozen_today(date(2026, 3, 20))
    for day in (date(2026, 3, 2), date(2026, 3, 3), date(2026, 3, 5), date(2026, 3, 16)):
        record_deposit(member, "100", day)
    assert _figures(member)["best_streak_days"] == 2
    record_deposit(member, "250", date(2026, 3, 4))  # arrives late: 2-3 and 5 become one run of four days
    assert _figures(member) == {"total_saved": Decimal("650.00"), "deposits_count": 5,
                                "largest_deposit": Decimal("250.00"), "best_streak_days": 4, "best_streak_weeks": 1}
    row = MemberMetrics.objects.get(user=member)
    assert row.day_runs == [["2026-03-02", "2026-03-05"], ["2026-03-16", "2026-03-16"]]
    record_deposit(member, "100", date(2026, 3, 10))  # week 11 joins weeks 10 and 12
    assert _figures(member)["best_streak_weeks"] == 3


def test_scoring_does_not_read_the_members_ledger(member, record_deposit, frozen_today, tenant):
    """The batch reads the member's row, not their deposits: with 300 deposits scored before, the next
    one's statements aggregate nothing from the ledger (the old badge query did, every batch)."""
    from payments.models import Transaction

    frozen_today(date(2026, 3, 20))
    record_deposit(member, "100", date(2026, 1, 1))
    schema = connection.schema_name
    with connection.cursor() as cursor:  # 300 more scored deposits, as a long history would leave
        cursor.execute(
            f'INSERT INTO "{schema}".payments_transaction (user_id, amount, status, source, transaction_id, '
            "mpesa_receipt, phone_number, bill_ref_number, transacted_at, verified_at, merchant_request_id, "
            "result_code, result_desc, payer_name, created_at, updated_at) "
            "SELECT %s, 10, 'verified', 'c2b', 'HIST' || g, 'HIST' || g, '', '', now() - g * interval '1 day', "
            "now(), '', '', '', '', now(), now() FROM generate_series(1, 300) g", [member.pk])
    ScoredDeposit.objects.bulk_create([ScoredDeposit(transaction_id=pk) for pk in Transaction.objects.filter(
        transaction_id__startswith="HIST").values_list("pk", flat=True)])
    scores_recompute(fix=True)  # the row rebuilt from the ledger, as recompute_scores --fix does
    assert _figures(member)["deposits_count"] == 301
    with CaptureQueriesContext(connection) as queries:
        record_deposit(member, "500", date(2026, 3, 19))
    ledger_reads = [q["sql"] for q in queries.captured_queries
                    if "payments_transaction" in q["sql"] and ("SUM(" in q["sql"] or "ARRAY_AGG" in q["sql"])]
    assert ledger_reads == []
    assert _figures(member)["deposits_count"] == 302 and _figures(member)["largest_deposit"] == Decimal("500.00")


def test_recompute_reports_a_wrong_row_and_fix_rebuilds_it(member, record_deposit, frozen_today):
    frozen_today(date(2026, 3, 20))
    record_deposit(member, "300", date(2026, 3, 2))
    record_deposit(member, "200", date(2026, 3, 3))
    assert scores_recompute() == []
    MemberMetrics.objects.filter(user=member).update(total_saved=Decimal("1"), best_streak_days=9)
    (drift,) = scores_recompute()
    assert drift["member_metrics"] == member.pk and drift["stored"]["total_saved"] == Decimal("1")
    assert drift["expected"]["total_saved"] == Decimal("500") and drift["expected"]["best_streak_days"] == 2
    scores_recompute(fix=True)
    assert scores_recompute() == []
    assert _figures(member)["total_saved"] == Decimal("500.00")


def test_a_member_without_a_row_gets_one_from_the_ledger(member, record_deposit, frozen_today):
    """Rows missing (history from before the row existed): built from the scored ledger on first read."""
    frozen_today(date(2026, 3, 20))
    record_deposit(member, "300", date(2026, 3, 2))
    MemberMetrics.objects.filter(user=member).delete()
    assert _figures(member)["total_saved"] == Decimal("300.00")
    assert MemberMetrics.objects.get(user=member).deposits_count == 1
    record_deposit(member, "50", date(2026, 3, 3))
    assert MemberMetrics.objects.get(user=member).deposits_count == 2 and scores_recompute() == []
